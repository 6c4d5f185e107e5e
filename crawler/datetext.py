"""Dates written as visible Arabic or English text: datelines, bylines, "منذ 3 ساعات".

Everything here works on local (naive) wall-clock values; `crawler.dates` attaches the
source's time zone and turns the result into UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from hijridate import Hijri

from monitor.arabic import normalize as fold
from monitor.arabic import normalize_with_origin
from monitor.vocabulary import HIJRI_MONTHS as VOCABULARY_HIJRI
from monitor.vocabulary import MONTHS
from monitor.vocabulary import WEEKDAYS as VOCABULARY_WEEKDAYS

# A year-less "6 يونيو" (WAM, KUNA, BNA datelines) is read as the latest such day not after the
# fetch, and only when that day is this recent: a crawler fetches fresh news, so a match this
# close is the story's own day; anything older could as well be a year earlier.
YEARLESS_MAX_AGE = timedelta(days=7)
MIN_YEAR = 1995  # no Gulf news site published earlier; older values are CMS placeholders

_SPACES = str.maketrans("\u00a0\u2009\u202f", "   ")


def normalize(text: str) -> tuple[str, list[int]]:
    """Text folded as monitor.arabic folds it (digits, hamza, taa marbuta, tashkeel, case), with
    no-break and thin spaces plain; also the index in `text` of each character kept."""
    folded, origin = normalize_with_origin(text)
    return folded.translate(_SPACES), origin


def _alternation(names: dict[str, int]) -> str:
    # Longest first so "تشرين الاول" wins over a shorter prefix.
    return "|".join(
        sorted((re.escape(n).replace(r"\ ", r"\s*") for n in names), key=len, reverse=True)
    )


def _folded(table: dict[int, tuple[str, ...]]) -> dict[str, int]:
    """Names (monitor.vocabulary) in the folded form the text is matched in."""
    return {fold(name): value for value, names in table.items() for name in names}


GREGORIAN_MONTHS = _folded(MONTHS)
HIJRI_MONTHS = _folded(VOCABULARY_HIJRI)
WEEKDAYS = _folded(VOCABULARY_WEEKDAYS)
_MONTH_KEYS = {re.sub(r"\s+", "", k): v for k, v in {**GREGORIAN_MONTHS, **HIJRI_MONTHS}.items()}

_B, _E = r"(?<![\w])", r"(?![\w])"
_GM = f"(?:{_alternation(GREGORIAN_MONTHS)})"
_HM = f"(?:{_alternation(HIJRI_MONTHS)})"
_SEP = r"[\s,/\-.]*"
_DAY = r"(?<!\d)(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?P<y>\d{4})(?!\d)"
# "6 حزيران/يونيو 2024": Levantine and Egyptian names side by side.
_GMONTH = rf"{_B}(?P<m>{_GM})\.?(?:\s*/\s*(?P<m2>{_GM}))?{_E}"
_HMONTH = rf"{_B}(?P<m>{_HM}){_E}"
_HIJRI_MARK = r"\s*(?:ه|هجريه|هجري|للهجره)(?![\w])"

DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(
        r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})[t\s](?P<H>\d{1,2}):(?P<M>\d{2})"
        r"(?::(?P<S>\d{2})(?:\.\d+)?)?(?![\d])")),
    ("hijri", re.compile(rf"{_DAY}{_SEP}(?:من\s+)?{_HMONTH}{_SEP}{_YEAR}(?P<mark>{_HIJRI_MARK})?")),
    ("dmy", re.compile(rf"{_DAY}{_SEP}(?:من\s+)?(?:شهر\s+)?{_GMONTH}{_SEP}(?:عام\s+|سنه\s+)?{_YEAR}")),
    ("mdy", re.compile(rf"{_GMONTH}{_SEP}{_DAY}{_SEP}{_YEAR}")),
    ("ymd", re.compile(r"(?<![\d/.\-])(?P<y>\d{4})(?P<s>[/.\-])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?![\d/.\-]?\d)(?P<mark>" + _HIJRI_MARK + ")?")),
    ("num", re.compile(r"(?<![\d/.\-])(?P<d>\d{1,2})(?P<s>[/.\-])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4})(?![\d/.\-]?\d)(?P<mark>" + _HIJRI_MARK + ")?")),
    ("dm", re.compile(rf"{_DAY}\s*(?:من\s+)?{_GMONTH}")),
    ("md", re.compile(rf"{_GMONTH}\s*{_DAY}")),
    ("kuna", re.compile(r"(?<![\d\-])(?P<d>\d{1,2})\s*-\s*(?P<m>\d{1,2})\s*\(\s*كونا\s*\)")),
]  # fmt: skip
_YEARLESS = {"dm", "md", "kuna"}

_TIME = re.compile(
    r"(?<![\d:])(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?![\d:])"
    r"(?:\s*(?P<ap>صباحا|صباح|مساءا|مساء|ظهرا|عصرا|ليلا|فجرا|ص|م|a\.?m\.?|p\.?m\.?)(?![\w]))?"
)
_ZONE = re.compile(
    r"[\s,()\-]*(?:(?:gmt|utc)\s*(?P<off>[+-]\s*\d{1,2}(?::?\d{2})?)?|(?P<num>[+-]\d{2}:?\d{2})"
    r"|(?P<z>z)(?![\w])|بتوقيت\s+(?P<city>[\w ]{2,20}))"
)
_CITY_ZONES = {
    "مكه": "Asia/Riyadh", "الرياض": "Asia/Riyadh", "السعوديه": "Asia/Riyadh",
    "ابوظبي": "Asia/Dubai", "دبي": "Asia/Dubai", "الامارات": "Asia/Dubai",
    "الدوحه": "Asia/Qatar", "قطر": "Asia/Qatar", "الكويت": "Asia/Kuwait",
    "المنامه": "Asia/Bahrain", "البحرين": "Asia/Bahrain", "مسقط": "Asia/Muscat",
    "غرينتش": "UTC", "جرينتش": "UTC", "غرينيتش": "UTC",
}  # fmt: skip
_WEEKDAY_BEFORE = re.compile(
    rf"{_B}(?P<w>{'|'.join(sorted(WEEKDAYS, key=len, reverse=True))})\.?{_E}[\s,\-،]*$"
)
_UPDATE = re.compile(r"اخر\s+تحديث|تاريخ\s+التحديث|تم\s+التحديث|تحديث\s*:|محدث|updated|modified")
_PUBLISH = re.compile(r"نشر|published|posted")
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|حقوق")

_NUMBER_WORDS = {fold(word): value for word, value in {
    "واحد": 1, "واحده": 1, "اثنين": 2, "اثنتين": 2, "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4,
    "خمس": 5, "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثماني": 8, "ثمان": 8,
    "ثمانيه": 8, "تسع": 9, "تسعه": 9, "عشر": 10, "عشره": 10, "a": 1, "an": 1, "one": 1,
}.items()}  # fmt: skip
_UNIT_WORDS = {fold(word): unit for word, unit in {  # singular/dual/plural: unit, count implied
    "دقيقه": ("m", 1), "دقيقتين": ("m", 2), "دقائق": ("m", None), "ساعه": ("h", 1),
    "ساعتين": ("h", 2), "ساعات": ("h", None), "يوم": ("d", 1), "يومين": ("d", 2),
    "ايام": ("d", None), "minute": ("m", None), "minutes": ("m", None), "min": ("m", None),
    "mins": ("m", None), "hour": ("h", None), "hours": ("h", None), "hr": ("h", None),
    "hrs": ("h", None), "day": ("d", None), "days": ("d", None),
}.items()}  # fmt: skip
_COUNT = rf"(?P<n>\d{{1,3}}|{'|'.join(sorted(_NUMBER_WORDS, key=len, reverse=True))}|نصف|ربع)"
_UNIT = rf"(?P<u>{'|'.join(sorted(_UNIT_WORDS, key=len, reverse=True))})"
_RELATIVE = [
    re.compile(rf"{_B}(?:منذ|قبل)\s+(?:{_COUNT}\s+)?{_UNIT}{_E}"),
    re.compile(rf"{_B}{_COUNT}\s+{_UNIT}\s+ago{_E}"),
    re.compile(rf"{_B}(?P<w>امس|البارحه|yesterday|اليوم|today|الان|منذ\s+لحظات|just\s+now){_E}"),
]


@dataclass(frozen=True)
class Found:
    """A date read from text: an aware datetime, the span it came from, and its calendar."""

    value: datetime
    start: int
    end: int
    calendar: str  # 'gregorian' | 'hijri' | 'relative'
    has_time: bool


def _month(name: str) -> int:
    return _MONTH_KEYS[re.sub(r"\s+", "", name)]


def _hijri_to_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(*Hijri(y, m, d).to_gregorian().datetuple())
    except (ValueError, OverflowError):
        pass
    if d == 30:  # the site's month had 30 days where Umm al-Qura has 29: the day after the 29th
        try:
            return date(*Hijri(y, m, 29).to_gregorian().datetuple()) + timedelta(days=1)
        except (ValueError, OverflowError):
            return None
    return None


def _read_date(kind: str, g: dict[str, str | None], today: date) -> tuple[date, str] | None:
    """The calendar date of one pattern match, or None when invalid or out of range."""
    if kind == "kuna":
        day, mon = int(g["d"] or 0), int(g["m"] or 0)
    else:
        day = int(g["d"] or 0)
        mon = int(g["m"]) if (g["m"] or "").isdigit() else _month(g["m"] or "")
        if g.get("m2") and _month(g["m2"] or "") != mon:
            return None
    if kind in _YEARLESS:
        for year in (today.year, today.year - 1):
            try:
                day_ = date(year, mon, day)
            except ValueError:
                continue
            if day_ <= today + timedelta(days=1):
                return (day_, "gregorian") if today - day_ <= YEARLESS_MAX_AGE else None
        return None
    year = int(g["y"] or 0)
    if kind == "num" and mon > 12 and day <= 12:  # 04/15/2024: only the value forces month-first
        day, mon = mon, day
    if kind == "hijri" or (kind in ("ymd", "num") and (g.get("mark") or 1300 <= year <= 1500)):
        if not 1 <= mon <= 12 or not 1 <= day <= 30:
            return None
        found = _hijri_to_date(year, mon, day)
        return (found, "hijri") if found else None
    if not MIN_YEAR <= year <= today.year + 1:
        return None
    try:
        return date(year, mon, day), "gregorian"
    except ValueError:
        return None


def _short_gap(gap: str) -> bool:
    if _UPDATE.search(gap):  # "6 يونيو 2024، آخر تحديث 14:00": that time is not the date's
        return False
    return not re.search(r"\d", gap) and len(re.findall(r"[^\W\d]+", gap)) <= 2


def _read_time(text: str, start: int, end: int) -> tuple[time, int, int] | None:
    """A time of day written just after (or just before) a date at text[start:end]."""
    after = _TIME.search(text, end, min(len(text), end + 40))
    # Only a label or two ("الساعة", "at", the "م" of the year) may stand between date and time.
    if after and _short_gap(text[end : after.start()]):
        match = after
    else:
        before = None
        for m in _TIME.finditer(text, max(0, start - 30), start):
            before = m
        if before is None or not _short_gap(text[before.end() : start]):
            return None
        match = before
    hour, minute, sec = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    ap = (match["ap"] or "").replace(".", "")
    if ap in ("م", "مساء", "مساءا", "عصرا", "pm") and hour < 12:
        hour += 12
    elif ap == "ظهرا" and hour < 6:
        hour += 12
    elif ap == "ليلا" and 6 <= hour < 12:
        hour += 12
    elif ap in ("ص", "صباحا", "صباح", "am", "ليلا") and hour == 12:
        hour = 0
    clock = _clock(hour, minute, sec)
    return (clock, match.start(), match.end()) if clock else None


def _clock(hour: int, minute: int, second: int) -> time | None:
    """A time of day, or None for one that does not exist ("0:60", "25:00")."""
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def _read_zone(text: str, pos: int) -> tuple[tzinfo, int] | None:
    m = _ZONE.match(text, pos)
    if not m:
        return None
    if m["city"] is not None:
        for city, name in _CITY_ZONES.items():
            if city in m["city"]:
                return ZoneInfo(name), m.end()
        return None
    off = (m["off"] or m["num"] or "+0").replace(" ", "").replace(":", "")
    sign = -1 if off[0] == "-" else 1
    digits = off[1:]
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    if hours > 14:
        return None
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes)), m.end()


def _weekday_mismatch(text: str, start: int, day: date, calendar: str) -> date | None | bool:
    """False when no weekday is written; else the date that agrees with it (None: none does)."""
    m = _WEEKDAY_BEFORE.search(text, max(0, start - 16), start)
    if not m:
        return False
    wanted = WEEKDAYS[m["w"]]
    # A Hijri date may be a day off Umm al-Qura (moon sighting): the weekday settles which.
    shifts = (0, -1, 1) if calendar == "hijri" else (0,)
    for shift in shifts:
        if (day + timedelta(days=shift)).weekday() == wanted:
            return day + timedelta(days=shift)
    return None


def _labels_block(text: str, pos: int, end: int) -> bool:
    """True when the date at text[pos:end] is labelled 'updated' or sits in a © line."""
    head = text[:pos]
    upd = max((m.end() for m in _UPDATE.finditer(head)), default=-1)
    pub = max((m.end() for m in _PUBLISH.finditer(head)), default=-1)
    if upd > pub or _COPYRIGHT.search(text, max(0, pos - 30), pos):
        return True
    # CNN Arabic writes "الأربعاء، 28 آب 2013، آخر تحديث 14:00": the date belongs to the update.
    return pub < 0 and bool(_UPDATE.search(text, end, end + 25))


def scan(text: str, *, zone: tzinfo, now: datetime, yearless: bool, relative: bool) -> list[Found]:
    """Every date in normalized `text` as aware datetimes; year-less and relative forms on request."""
    today = now.astimezone(zone).date()
    taken: list[tuple[int, int]] = []
    found: list[Found] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for kind, pattern in DATE_PATTERNS:
        if kind in _YEARLESS and not yearless:
            continue
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()):
                continue
            taken.append((m.start(), m.end()))
            if _labels_block(text, m.start(), m.end()):
                continue
            read = _read_date(kind, m.groupdict(), today)
            if read is None:
                continue
            day, calendar = read
            checked = _weekday_mismatch(text, m.start(), day, calendar)
            if checked is None:
                continue
            day = checked or day
            end, clock, tz = m.end(), None, zone
            if kind == "iso":
                clock = _clock(int(m["H"]) % 24, int(m["M"]), int(m["S"] or 0))
                if clock is None:
                    continue
            else:
                got = _read_time(text, m.start(), m.end())
                if got:
                    clock, t_start, t_end = got
                    taken.append((t_start, t_end))
                    end = max(end, t_end)
            zoned = _read_zone(text, end) if clock else None
            if zoned:
                tz, end = zoned
            stamp = datetime.combine(day, clock or time(0), tz)
            found.append(Found(stamp, m.start(), end, calendar, clock is not None))
    if relative:
        found.extend(_scan_relative(text, zone, now, free))
    return sorted(found, key=lambda f: f.start)


def _scan_relative(text: str, zone: tzinfo, now: datetime, free) -> list[Found]:
    local_now = now.astimezone(zone)
    out: list[Found] = []
    for pattern in _RELATIVE:
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()) or _labels_block(text, m.start(), m.end()):
                continue
            groups = m.groupdict()
            if groups.get("w"):
                word = groups["w"]
                if word in ("الان", "just now") or word.startswith("منذ"):
                    out.append(Found(now, m.start(), m.end(), "relative", True))
                    continue
                back = 1 if word in ("امس", "البارحه", "yesterday") else 0
                day = local_now.date() - timedelta(days=back)
                got = _read_time(text, m.start(), m.end())
                clock = got[0] if got else time(0)
                end = max(m.end(), got[2]) if got else m.end()
                out.append(
                    Found(datetime.combine(day, clock, zone), m.start(), end, "relative", bool(got))
                )
                continue
            unit, implied = _UNIT_WORDS[groups["u"]]
            count_word = groups.get("n")
            if count_word is None:
                if implied is None:
                    continue  # "منذ ساعات" (some hours ago) names no count
                count = implied or 1
            elif count_word in ("نصف", "ربع"):
                if unit != "h":
                    continue
                unit, count = "m", 30 if count_word == "نصف" else 15
            else:
                count = int(count_word) if count_word.isdigit() else _NUMBER_WORDS[count_word]
            if unit == "d":  # "منذ يومين" only names a day: that local date at 00:00
                day = local_now.date() - timedelta(days=count)
                out.append(
                    Found(
                        datetime.combine(day, time(0), zone), m.start(), m.end(), "relative", False
                    )
                )
            else:
                delta = timedelta(minutes=count) if unit == "m" else timedelta(hours=count)
                out.append(Found(now - delta, m.start(), m.end(), "relative", True))
    return out


def resolve(found: list[Found]) -> Found | None:
    """The one date these candidates agree on, or None when they disagree.

    Gregorian beats Hijri (a dual dateline whose halves disagree trusts the Gregorian); two
    different Gregorian (or, without one, Hijri) days mean we cannot tell which is meant.
    """
    for calendar in ("gregorian", "relative", "hijri"):
        group = [f for f in found if f.calendar == calendar]
        if not group:
            continue
        days = {f.value.date() for f in group}
        if len(days) > 1:
            return None
        timed = [f for f in group if f.has_time]
        return timed[0] if timed else group[0]
    return None
