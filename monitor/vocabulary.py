"""Words of Gulf news that several parts of raqib read or write, spelled once.

Month and weekday names (Gregorian as the Gulf and Egypt write them, Levantine, English,
Hijri) and the news agencies' dateline names. Written as people spell them; readers fold them
with `monitor.arabic.normalize` (so "أبريل" also stands for "ابريل" and "إبريل").
"""

from __future__ import annotations

# Gregorian months: Gulf/Egyptian names (with their common variants), Levantine names, English
# names and abbreviations. Display names (digests) are the first Arabic and English of each.
MONTHS: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "January", "Jan"),
    2: ("فبراير", "شباط", "February", "Feb"),
    3: ("مارس", "آذار", "March", "Mar"),
    4: ("أبريل", "إبريل", "نيسان", "April", "Apr"),
    5: ("مايو", "أيار", "May"),
    6: ("يونيو", "يونيه", "حزيران", "June", "Jun"),
    7: ("يوليو", "يوليه", "تموز", "July", "Jul"),
    8: ("أغسطس", "آب", "August", "Aug"),
    9: ("سبتمبر", "أيلول", "September", "Sep", "Sept"),
    10: ("أكتوبر", "تشرين الأول", "October", "Oct"),
    11: ("نوفمبر", "تشرين الثاني", "November", "Nov"),
    12: ("ديسمبر", "كانون الأول", "December", "Dec"),
}

# Hijri months, with the spellings agencies use ("ربيع الأول" / "ربيع أول", "ذو" / "ذي").
HIJRI_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("محرم", "المحرم"),
    2: ("صفر",),
    3: ("ربيع الأول", "ربيع أول"),
    4: ("ربيع الآخر", "ربيع الثاني", "ربيع ثاني"),
    5: ("جمادى الأولى", "جمادى الأول"),
    6: ("جمادى الآخرة", "جمادى الآخر", "جمادى الثانية", "جمادى الثاني"),
    7: ("رجب",),
    8: ("شعبان",),
    9: ("رمضان",),
    10: ("شوال",),
    11: ("ذو القعدة", "ذي القعدة"),
    12: ("ذو الحجة", "ذي الحجة"),
}

# Weekdays, Monday first (Python's `date.weekday()`): Arabic with common misspellings, English
# and its abbreviations.
WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("الاثنين", "الإثنين", "الاتنين", "Monday", "Mon"),
    1: ("الثلاثاء", "الثلاثا", "Tuesday", "Tue", "Tues"),
    2: ("الأربعاء", "Wednesday", "Wed"),
    3: ("الخميس", "Thursday", "Thu", "Thur", "Thurs"),
    4: ("الجمعة", "Friday", "Fri"),
    5: ("السبت", "Saturday", "Sat"),
    6: ("الأحد", "Sunday", "Sun"),
}

# The GCC news agencies as datelines name them: "(واس)", "/العمانية/", "(KUNA)".
NEWS_AGENCIES: dict[str, tuple[str, ...]] = {
    "spa": ("واس", "SPA"),  # Saudi Press Agency
    "wam": ("وام", "WAM"),  # Emirates News Agency
    "bna": ("بنا", "BNA"),  # Bahrain News Agency
    "kuna": ("كونا", "KUNA"),  # Kuwait News Agency
    "ona": ("العمانية", "ONA"),  # Oman News Agency
    "qna": ("قنا", "QNA"),  # Qatar News Agency
}

# The six GCC states as digests and pages name them.
COUNTRY_NAMES: dict[str, dict[str, str]] = {
    "ar": {"SA": "السعودية", "AE": "الإمارات", "BH": "البحرين", "KW": "الكويت", "OM": "عُمان",
           "QA": "قطر"},
    "en": {"SA": "Saudi Arabia", "AE": "UAE", "BH": "Bahrain", "KW": "Kuwait", "OM": "Oman",
           "QA": "Qatar"},
}


def display_month(month: int, language: str) -> str:
    """The name of a Gregorian month (1-12) as a digest writes it in `language` (ar or en)."""
    names = MONTHS[month]
    return names[0] if language == "ar" else next(name for name in names if name.isascii())


def display_weekday(weekday: int, language: str) -> str:
    """The name of a weekday (0 = Monday) as a digest writes it in `language` (ar or en)."""
    names = WEEKDAYS[weekday]
    return names[0] if language == "ar" else next(name for name in names if name.isascii())
