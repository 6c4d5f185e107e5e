"""Near duplicates: one agency story carried by many sites, grouped under its first copy.

A story is compared on its body, normalised (`monitor.arabic`) and stripped of the agency
dateline, as a set of word 3-gram shingles. MinHash signatures split into LSH bands find
candidates through an index in the database (`signature_bands`); every candidate is then
verified exactly: shingle overlap at or above the threshold, and no conflicting numbers,
ordinals, dates, places or names (the 23rd vs the 26th meeting, the 2024 vs the 2025 forum,
a congratulation template sent to two different presidents).

Cluster ids: a near duplicate gets `cluster_id` = id of the first-stored article of its story;
that first article gets its own id once it has a copy; an article without copies keeps NULL.
So every member of a group shows the same `cluster`, and a lone article shows null.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from monitor.arabic import Token, normalize, strip_proclitics, tokenize
from monitor.vocabulary import HIJRI_MONTHS, MONTHS, NEWS_AGENCIES, WEEKDAYS

log = logging.getLogger(__name__)

SHINGLE_WORDS = 3
BANDS, BAND_ROWS = 32, 2  # LSH: a pair with shingle Jaccard 0.3 becomes a candidate 95% of the time
NUM_PERM = BANDS * BAND_ROWS
MIN_SHINGLES = 12  # shorter bodies (captions, teasers) are too small to call a copy
CANDIDATE_ESTIMATE = 0.1  # MinHash-estimated Jaccard below which a candidate is not even fetched
_SEED = 20250115


@dataclass(frozen=True)
class Cluster:
    """The near-duplicate group an article joined: its first article and how similar it is."""

    cluster_id: int
    similarity: float


@dataclass(frozen=True)
class PreparedArticle:
    """An article prepared for comparison: its body shingles and its checkable facts."""

    shingles: frozenset[int]
    facts: StoryFacts

    @property
    def indexable(self) -> bool:
        return len(self.shingles) >= MIN_SHINGLES


@dataclass(frozen=True, eq=False)
class Signature:
    """The MinHash values of a story, as stored and as cut into LSH band keys."""

    values: np.ndarray  # uint32, NUM_PERM of them

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signature) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        return cls(np.frombuffer(data, dtype="<u4"))

    def band_keys(self) -> list[str]:
        """One key per band: the band number and a hash of its rows (16 characters)."""
        keys = []
        for band in range(BANDS):
            rows = self.values[band * BAND_ROWS:(band + 1) * BAND_ROWS].astype("<u4").tobytes()
            keys.append(f"{band:02x}" + hashlib.blake2b(rows, digest_size=7).hexdigest())
        return keys

    def estimate(self, other: Signature) -> float:
        """The MinHash estimate of the Jaccard similarity of the two stories' shingles."""
        if len(other.values) != len(self.values):
            return 0.0
        return float(np.count_nonzero(self.values == other.values)) / len(self.values)


def prepare(title: str | None, text: str) -> PreparedArticle:
    """Normalise, strip the dateline, shingle the body and collect its facts (pure)."""
    # "الـ23" tokenizes as "ال" + "23": the bare article would stand between a number and its words.
    body = [token for token in tokenize(text or "") if token.norm != "ال"]
    facts, start, end = story_facts(body, text or "")
    words = [_shingle_word(token) for token in body[start:end]]
    words = [word for word in words if word]
    shingles = frozenset(
        _hash(" ".join(words[i:i + SHINGLE_WORDS]))
        for i in range(max(0, len(words) - SHINGLE_WORDS + 1)))
    return PreparedArticle(shingles, facts)


def story_signature(title: str | None, text: str) -> Signature:
    """The MinHash signature of an article's story (pure)."""
    return signature_of(prepare(title, text))


def signature_of(story: PreparedArticle) -> Signature:
    """MinHash: for each of NUM_PERM random permutations of the 32-bit shingle hashes, the
    smallest permuted value. (Computed here with numpy rather than through datasketch, whose
    import pulls in scipy and costs every crawl process a second at start.)"""
    if not story.shingles:
        return Signature(np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32))
    a, b = _permutations()
    hashes = np.fromiter(story.shingles, dtype=np.uint64, count=len(story.shingles))
    permuted = (hashes[:, None] * a + b) & np.uint64(0xFFFFFFFF)
    return Signature(permuted.min(axis=0).astype(np.uint32))


def similarity(a: PreparedArticle, b: PreparedArticle) -> float:
    """Share of the shorter story's shingles found in the other (containment), 0..1.

    Containment rather than Jaccard so that a copy that trims the end or adds a paragraph
    still scores high; a copy much shorter than its original is damped, so that one shared
    paragraph does not make two long reports one story.
    """
    if not a.shingles or not b.shingles:
        return 0.0
    shared = len(a.shingles & b.shingles)
    small, large = sorted((len(a.shingles), len(b.shingles)))
    containment = shared / small
    ratio = small / large
    return containment * min(1.0, ratio / 0.4) ** 0.5


def same_story(a: PreparedArticle, b: PreparedArticle, threshold: float = 0.5) -> bool:
    """Whether two prepared articles are copies of one story (pure, exact)."""
    return verify(a, b, threshold) is not None


def verify(a: PreparedArticle, b: PreparedArticle, threshold: float) -> float | None:
    """The similarity of two copies of one story, or None when they are not one story."""
    if not (a.indexable and b.indexable):
        return None
    score = similarity(a, b)
    if score < threshold:
        return None
    reason = conflict(a.facts, b.facts)
    if reason:
        log.debug("similar (%.2f) but different stories: %s", score, reason)
        return None
    return score


class StoryIndex:
    """Finds, for each newly stored article, the first-stored copy of its story."""

    def __init__(self, signatures, *, threshold: float, window_seconds: float) -> None:
        self.signatures = signatures  # the repository's signature index (repo.signatures)
        self.threshold = threshold
        self.window = timedelta(seconds=window_seconds)

    def add(self, article_id: int, title: str | None, text: str,
            published_at: datetime | None, fetched_at: datetime) -> Cluster | None:
        """Index a newly stored article; when it is a near duplicate, record and return its cluster."""
        story = prepare(title, text)
        if not story.indexable:
            return None
        signature = signature_of(story)
        keys = signature.band_keys()
        # The story's own time, so that an archive crawled today is windowed by publication.
        story_time = published_at or fetched_at
        # Index first, then look, at earlier and later ids alike: of two copies stored at once
        # by two processes, whichever looks last sees the other's signature (each indexed its
        # own before looking). The later id always joins the earlier one's story, whichever
        # process finds the pair.
        self.signatures.add(article_id, signature.to_bytes(), keys, story_time)
        candidates = self.signatures.candidates(
            keys, since=story_time - self.window, until=story_time + self.window,
            undated=published_at is None,
            fetched_window=(fetched_at - self.window, fetched_at + self.window))
        likely = [(cid, cluster_id) for cid, data, cluster_id in candidates
                  if cid != article_id
                  and signature.estimate(Signature.from_bytes(data)) >= CANDIDATE_ESTIMATE]
        if not likely:
            return None
        texts = self.signatures.texts([cid for cid, _ in likely])
        best: Cluster | None = None
        later: list[tuple[int, float]] = []  # stored after this one, by another process
        for candidate_id, cluster_id in likely:
            if candidate_id not in texts:
                continue
            score = verify(story, prepare(*texts[candidate_id]), self.threshold)
            if score is None:
                continue
            if candidate_id > article_id:
                if cluster_id is None:  # it has not found its story (yet): it joins this one
                    later.append((candidate_id, score))
                continue
            found = Cluster(cluster_id or candidate_id, score)
            if best is None or (score, -found.cluster_id) > (best.similarity, -best.cluster_id):
                best = found
        if best is not None:
            self.signatures.set_cluster(article_id, best.cluster_id, round(best.similarity, 4))
            self.signatures.claim_cluster_root(best.cluster_id)
        root = best.cluster_id if best is not None else article_id
        for candidate_id, score in later:
            if self.signatures.join_cluster_if_alone(candidate_id, root, round(score, 4)):
                self.signatures.claim_cluster_root(root)
        return best


def _shingle_word(token: Token) -> str:
    # "وأكد"/"أكد" and "والوزير"/"الوزير" differ only by the joining "و" an editor adds or drops.
    word = token.norm
    if len(word) > 3 and word[0] == "و":
        word = word[1:]
    return word


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=4).digest(), "little")


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # h -> a*h + b mod 2^32 with an odd `a` is a bijection of the 32-bit values. Shingle hashes
    # are already uniform (blake2b), so these affine maps act as random permutations.
    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint64)
    return a, b


# --- facts that two copies of one story cannot disagree on ---------------------------------

def _words(spec: str) -> list[str]:
    return [normalize(word) for word in spec.split()]


def _canon(groups: dict[str, str]) -> dict[str, str]:
    return {word: label for label, spec in groups.items() for word in _words(spec)}


def _labels(names: dict[int, tuple[str, ...]], label: str) -> dict[str, str]:
    """One-word names (monitor.vocabulary), normalised, to a label per value ("m4")."""
    return {normalize(name): f"{label}{value}" for value, spelled in names.items()
            for name in spelled if " " not in name}


_MONTHS = _labels(MONTHS, "m")
_HIJRI = [word for names in HIJRI_MONTHS.values() for name in names for word in _words(name)]
_HIJRI += _words("هـ م الموافق")
_WEEKDAYS = _labels(WEEKDAYS, "d")
# Ordinals as numbers, so that "الثالث والعشرين", "الـ23" and "23rd" are one value.
_ORDINALS = _canon({
    "1": "الأول الأولى الحادي الحادية first", "2": "الثاني الثانية second",
    "3": "الثالث الثالثة third", "4": "الرابع الرابعة fourth", "5": "الخامس الخامسة fifth",
    "6": "السادس السادسة sixth", "7": "السابع السابعة seventh", "8": "الثامن الثامنة eighth",
    "9": "التاسع التاسعة ninth", "10": "العاشر العاشرة tenth", "11": "eleventh",
    "12": "twelfth", "20": "العشرين عشرين twentieth", "30": "الثلاثين ثلاثين thirtieth",
    "40": "الأربعين أربعين fortieth", "50": "الخمسين خمسين fiftieth",
})
_TEEN = set(_words("عشر عشرة"))
# Places: the GCC and the countries its agencies most often report on. Single words only:
# "المملكة" or "المتحدة" alone name no one country.
_PLACES = _canon({
    "sa": "السعودية saudi", "ae": "الإمارات emirates uae",
    "bh": "البحرين bahrain", "kw": "الكويت kuwait", "om": "عمان عُمان oman", "qa": "قطر qatar",
    "riyadh": "الرياض riyadh", "jeddah": "جدة jeddah", "makkah": "مكة makkah mecca",
    "madinah": "madinah", "dammam": "الدمام dammam", "abudhabi": "أبوظبي",
    "dubai": "دبي dubai", "sharjah": "الشارقة sharjah", "ajman": "عجمان ajman",
    "manama": "المنامة manama", "muscat": "مسقط muscat", "doha": "الدوحة doha",
    "salalah": "صلالة salalah", "eg": "مصر القاهرة egypt cairo", "jo": "الأردن jordan",
    "iq": "العراق بغداد iraq", "sy": "سوريا سورية syria", "lb": "لبنان lebanon",
    "ye": "اليمن yemen", "ps": "فلسطين palestine", "ma": "المغرب morocco",
    "dz": "الجزائر algeria", "tn": "تونس tunisia", "ly": "ليبيا libya", "sd": "السودان sudan",
    "mr": "موريتانيا mauritania", "so": "الصومال somalia", "dj": "جيبوتي djibouti",
    "km": "comoros", "us": "أمريكا الأمريكية america usa",
    "gb": "بريطانيا البريطانية britain uk", "fr": "فرنسا الفرنسية france",
    "de": "ألمانيا الألمانية germany", "it": "إيطاليا italy", "es": "إسبانيا spain",
    "ru": "روسيا الروسية russia", "cn": "الصين الصينية china", "jp": "اليابان japan",
    "kr": "كوريا korea", "in": "الهند الهندية india", "pk": "باكستان pakistan",
    "tr": "تركيا التركية turkey turkiye", "ir": "إيران iran", "id": "إندونيسيا indonesia",
    "my": "ماليزيا malaysia", "sg": "سنغافورة singapore", "br": "البرازيل brazil",
    "ca": "كندا canada", "au": "أستراليا australia", "za": "أفريقيا africa",
    "ng": "نيجيريا nigeria", "et": "إثيوبيا ethiopia", "ke": "كينيا kenya",
})
_HONORIFICS = set(_words(
    "الشيخ الشيخة الأمير الأميرة معالي سعادة السيد السيدة الدكتور الدكتورة د المهندس سمو "
    "صاحب السمو الملكي فخامة جلالة الملك السلطان سيادة sheikh sheikha prince dr mr mrs ms "
    "excellency highness majesty king sultan president الرئيس"))
_AGENCIES = {normalize(name) for names in NEWS_AGENCIES.values() for name in names}
_DATELINE_EXTRA = set(_words("في أبو ظبي abu dhabi st nd rd th")) | set(_HIJRI)
_DATELINE_GAP = set("-–—:/)")
_END_MARKS = set(_words("انتهى النهاية end"))


@dataclass(frozen=True)
class StoryFacts:
    """What must agree between copies: values (numbers, ordinals, dates, places, names) in
    their word context, and the dateline's day, month and year when there is one."""

    slots: dict[tuple[str, str | None, str | None], frozenset[str]]
    dateline: tuple[int | None, int | None, int | None]


def _value(token: Token, previous: str | None) -> str | None:
    norm = token.norm
    if norm.isdigit():
        return norm.lstrip("0") or "0"
    for form in strip_proclitics(norm):
        for table in (_ORDINALS, _MONTHS, _WEEKDAYS, _PLACES):
            if form in table:
                return table[form]
    if previous and norm not in _HONORIFICS and len(norm) > 2 and any(
            form in _HONORIFICS for form in strip_proclitics(previous)):
        # "الوزير"/"وزير" after "معالي" is one word: compare names without their proclitics
        return "name:" + min(strip_proclitics(norm), key=len)
    return None


def _slots(tokens: list[Token]) -> dict[tuple[str, str | None, str | None], set[str]]:
    words = [_shingle_word(t) for t in tokens]
    slots: dict[tuple[str, str | None, str | None], set[str]] = {}
    i = 0
    while i < len(tokens):
        value, last = _value(tokens[i], words[i - 1] if i else None), i
        if value is not None and value.isdigit() and int(value) < 10 and i + 1 < len(words):
            following = _ORDINALS.get(words[i + 1])
            if words[i + 1] in _TEEN:  # "الحادي عشر": 11
                value, last = str(10 + int(value)), i + 1
            elif following and int(following) % 10 == 0 and int(following) >= 20:  # "الثالث والعشرين"
                value, last = str(int(following) + int(value)), i + 1
        if value is None:
            i += 1
            continue
        left = ("L", words[i - 2] if i >= 2 else None, words[i - 1] if i >= 1 else None)
        right = ("R", *(words[last + 1:last + 3] + [None, None])[:2])
        i = last + 1
        for key in (left, right):
            if key[1] is not None or key[2] is not None:
                slots.setdefault(key, set()).add(value)
    return slots


def _dateline_end(tokens: list[Token], text: str) -> int:
    """How many leading tokens are an agency dateline ("الرياض 15 يناير 2025 (واس) -")."""
    if not tokens or not (_is_place(tokens[0].norm) or tokens[0].norm in _AGENCIES
                          or tokens[0].norm in {"abu", "ابو"}):
        return 0
    cut, seen_agency = 0, False
    for i, token in enumerate(tokens[:30]):
        norm = token.norm
        if norm in _AGENCIES:
            cut, seen_agency = i + 1, True
            continue
        if not (norm.isdigit() or _is_place(norm) or norm in _MONTHS or norm in _WEEKDAYS
                or norm in _DATELINE_EXTRA):
            break
        following = tokens[i + 1].start if i + 1 < len(tokens) else len(text)
        if _DATELINE_GAP & set(text[token.end:following]) and (seen_agency or i < 12):
            cut = i + 1
    return cut


def _is_place(norm: str) -> bool:
    return norm in _PLACES


def _dateline_date(tokens: list[Token]) -> tuple[int | None, int | None, int | None]:
    norms = [t.norm for t in tokens]
    if "الموافق" in norms:  # a Hijri date first, then its Gregorian equivalent: keep the latter
        norms = norms[norms.index("الموافق") + 1:]
    numbers = [int(n) for n in norms if n.isdigit()]
    years = [n for n in numbers if n > 1900]
    for i, norm in enumerate(norms):
        if norm in _MONTHS:
            day = int(norms[i - 1]) if i and norms[i - 1].isdigit() else None
            return day, int(_MONTHS[norm][1:]), years[0] if years else None
    small = [n for n in numbers if n <= 31]
    if len(small) >= 2 and small[1] <= 12:  # KUNA's "الكويت - 5 - 6 (كونا)": day, month
        return small[0], small[1], years[0] if years else None
    return None, None, years[0] if years else None


def story_facts(body: list[Token], text: str) -> tuple[StoryFacts, int, int]:
    """The facts of a story, and where its body starts and ends once dateline and end marks go."""
    start = _dateline_end(body, text)
    end = len(body)
    while end > start and end > len(body) - 6 and (body[end - 1].norm in _END_MARKS
                                                   or len(body[end - 1].norm) == 1):
        end -= 1
    # The body only: a new headline may put a value in a context that the body words otherwise.
    slots = {key: frozenset(values) for key, values in _slots(body[start:end]).items()}
    return StoryFacts(slots, _dateline_date(body[:start])), start, end


def conflict(a: StoryFacts, b: StoryFacts) -> str | None:
    """Why two similar texts are different stories, or None when nothing disagrees."""
    (day_a, month_a, year_a), (day_b, month_b, year_b) = a.dateline, b.dateline
    if year_a and year_b and year_a != year_b:
        return f"dateline years {year_a} and {year_b}"
    if month_a and month_b and day_a and day_b and (month_a != month_b or abs(day_a - day_b) > 1):
        return f"dateline days {day_a}/{month_a} and {day_b}/{month_b}"
    for key in a.slots.keys() & b.slots.keys():
        mine, theirs = a.slots[key], b.slots[key]
        if mine.isdisjoint(theirs):
            return f"{sorted(mine)} and {sorted(theirs)} next to {key[1:]}"
    return None
