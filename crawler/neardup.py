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
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

import numpy as np

from monitor.arabic import (
    Token,
    normalize,
    normalized_words,
    piece_words,
    strip_proclitics,
    tokenize,
)
from monitor.vocabulary import HIJRI_MONTHS, MONTHS, NEWS_AGENCIES, WEEKDAYS

log = logging.getLogger(__name__)

SHINGLE_WORDS = 3
BANDS, BAND_ROWS = 32, 2  # LSH: a pair with shingle Jaccard 0.3 becomes a candidate 95% of the time
LSH_PERM = BANDS * BAND_ROWS  # the first LSH_PERM MinHash values are cut into bands
NUM_PERM = 128  # MinHash values kept (their low 16 bits) to estimate a candidate's similarity
MIN_SHINGLES = 12  # shorter bodies (captions, teasers) are too small to call a copy
MAX_SHINGLES = 4096  # a huge text is sampled: the MAX_SHINGLES smallest shingle hashes
MAX_WORDS = 60_000  # and only its first MAX_WORDS words are read at all
CANDIDATE_ESTIMATE = 0.1  # MinHash-estimated Jaccard below which a candidate is not considered
_SEED = 20250115


@dataclass(frozen=True)
class Cluster:
    """The near-duplicate group an article joined: its first article and how similar it is."""

    cluster_id: int
    similarity: float


@dataclass(frozen=True, eq=False)
class PreparedArticle:
    """An article prepared for comparison: its body shingle hashes and its checkable facts."""

    hashes: np.ndarray  # uint64, sorted, distinct (at most MAX_SHINGLES: a sample of a huge text)
    facts: StoryFacts

    @property
    def shingles(self) -> frozenset[int]:
        return frozenset(self.hashes.tolist())

    @property
    def indexable(self) -> bool:
        return len(self.hashes) >= MIN_SHINGLES


@dataclass(frozen=True)
class Sketch:
    """What is stored about a story to find and verify its copies without reading its text:
    MinHash values (low 16 bits), LSH band keys, its shingle count and its facts (hashed)."""

    signature: bytes  # NUM_PERM little-endian uint16
    bands: list[int]  # BANDS signed 32-bit keys
    shingles: int
    facts: bytes  # encode_facts

    def similarity(self, other: Sketch) -> float:
        """The estimated similarity of two stories (as `similarity` computes it exactly)."""
        return _damped(estimated_jaccard(self.signature, other.signature), self.shingles,
                       other.shingles)


@dataclass(frozen=True, eq=False)
class Signature:
    """The full 32-bit MinHash values of a story, and the LSH band keys cut from them."""

    values: np.ndarray  # uint32, NUM_PERM of them

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signature) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def to_bytes(self) -> bytes:
        """What is stored: the low 16 bits of each value (b-bit MinHash)."""
        return (self.values & 0xFFFF).astype("<u2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        return cls(np.frombuffer(data, dtype="<u2").astype(np.uint32))

    def band_keys(self) -> list[int]:
        """One key per band: the band number (top 5 bits) and a 27-bit hash of its rows, as a
        signed 32-bit integer (a chance collision only adds a candidate, which is verified)."""
        rows = self.values[:LSH_PERM].astype(np.uint64).reshape(BANDS, BAND_ROWS)
        with np.errstate(over="ignore"):
            mixed = _mix(rows[:, 0] * np.uint64(0x9E3779B97F4A7C15) + rows[:, 1])
        keys = (np.arange(BANDS, dtype=np.uint64) << np.uint64(27)) | (mixed >> np.uint64(37))
        return [int(key) for key in keys.astype(np.uint32).astype(np.int32)]

    def estimate(self, other: Signature) -> float:
        """The MinHash estimate of the Jaccard similarity of the two stories' shingles."""
        return estimated_jaccard(self.to_bytes(), other.to_bytes())


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """Jaccard similarity from two stored b-bit signatures (16 bits: chance agreement removed)."""
    if len(a) != len(b) or not a:
        return 0.0
    equal = np.count_nonzero(np.frombuffer(a, dtype="<u2") == np.frombuffer(b, dtype="<u2"))
    chance = 1 / 65536
    return max(0.0, (equal / (len(a) // 2) - chance) / (1 - chance))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def prepare(title: str | None, text: str, *, words: list[str] | None = None) -> PreparedArticle:
    """Normalise, strip the dateline, shingle the body and collect its facts (pure).

    `words`: `monitor.arabic.normalized_words(text)`, when the caller has them already (the
    extraction worker reads each text once). Each distinct word is looked up once (its shingle
    form, its hash and what it says as a fact, kept between articles); the shingles' hashes are
    then combined for all shingles at once (numpy). Bounded: the first MAX_WORDS words, and
    MAX_SHINGLES hashes at most."""
    text = text or ""
    norms = _words_of(text) if words is None else words[:MAX_WORDS]
    # "الـ23" tokenizes as "ال" + "23": the bare article would stand between a number and its words.
    body = [word for word in norms if word != "ال"]
    facts, start, end, info = _story(body, text)
    if len(info) < SHINGLE_WORDS:
        return PreparedArticle(np.empty(0, dtype=np.uint64), facts)
    word_hashes = np.fromiter((entry[4] for entry in info), dtype=np.uint64, count=len(info))
    n = len(info) - SHINGLE_WORDS + 1
    with np.errstate(over="ignore"):
        combined = word_hashes[:n].copy()
        for offset in range(1, SHINGLE_WORDS):
            combined = _mix(combined) + word_hashes[offset:offset + n]
    hashes = np.unique(_mix(combined))
    if len(hashes) > MAX_SHINGLES:
        hashes = hashes[:MAX_SHINGLES]  # sorted: the smallest, the same sample in every copy
    return PreparedArticle(hashes, facts)


def _words_of(text: str) -> list[str]:
    """The first MAX_WORDS normalised words of a text, without reading all of a huge one."""
    pieces = text.split(None, MAX_WORDS)
    if len(pieces) <= MAX_WORDS:
        return normalized_words(text)
    words = list(chain.from_iterable(piece_words(pieces[:MAX_WORDS])))
    if len(words) < MAX_WORDS:  # pieces without a word (punctuation): read it all
        words = normalized_words(text)
    return words[:MAX_WORDS]


def _head_tokens(text: str, count: int) -> list[Token]:
    """The first `count` tokens of a text (without bare "ال"), placed as `tokenize(text)` places
    them, from a prefix of it that ends in white space (a dateline is near the start)."""
    pieces = count + 4
    while True:
        prefix = re.match(r"\s*(?:\S+\s+){" + str(pieces) + "}", text)
        head = tokenize(prefix.group() if prefix else text)
        head = [token for token in head if token.norm != "ال"]
        if len(head) >= count or prefix is None:
            return head[:count]
        pieces *= 2
def story_signature(title: str | None, text: str) -> Signature:
    """The MinHash signature of a story's body."""
    return signature_of(prepare(title, text))


def signature_of(story: PreparedArticle) -> Signature:
    """MinHash over the shingle hashes: for each of NUM_PERM random affine maps of the 32-bit
    values, the smallest mapped value (vectorised: one matrix of shingles × maps)."""
    if not len(story.hashes):
        return Signature(np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32))
    a, b = _permutations()
    # uint32 arithmetic wraps modulo 2^32: the same values as (h * a + b) & 0xFFFFFFFF in 64 bits.
    values = (story.hashes >> np.uint64(32)).astype(np.uint32)[:, None]
    with np.errstate(over="ignore"):
        permuted = values * a + b
    return Signature(permuted.min(axis=0))


def sketch(title: str | None, text: str, *, words: list[str] | None = None) -> Sketch | None:
    """What the index stores about a story, or None when it is too short to call a copy (pure).
    `words`: `normalized_words(text)`, when the caller has them (see `prepare`)."""
    story = prepare(title, text, words=words)
    return sketch_of(story) if story.indexable else None


def sketch_of(story: PreparedArticle) -> Sketch:
    signature = signature_of(story)
    return Sketch(signature.to_bytes(), signature.band_keys(), len(story.hashes),
                  encode_facts(story.facts))


def similarity(a: PreparedArticle, b: PreparedArticle) -> float:
    """Share of the shorter story's shingles found in the other (containment), 0..1.

    Containment rather than Jaccard so that a copy that trims the end or adds a paragraph
    still scores high; a copy much shorter than its original is damped, so that one shared
    paragraph does not make two long reports one story.
    """
    if not len(a.hashes) or not len(b.hashes):
        return 0.0
    shared = len(np.intersect1d(a.hashes, b.hashes, assume_unique=True))
    small, large = sorted((len(a.hashes), len(b.hashes)))
    return shared / small * min(1.0, small / large / 0.4) ** 0.5


def _damped(jaccard: float, size_a: int, size_b: int) -> float:
    """`similarity` from a Jaccard estimate and the two shingle counts."""
    if not size_a or not size_b:
        return 0.0
    small, large = sorted((size_a, size_b))
    shared = jaccard * (size_a + size_b) / (1 + jaccard)
    return min(1.0, shared / small) * min(1.0, small / large / 0.4) ** 0.5


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


def verify_sketches(a: Sketch, b: Sketch, threshold: float) -> float | None:
    """`verify` from what is stored about two stories (their sketches), without their texts."""
    score = a.similarity(b)
    if score < threshold:
        return None
    reason = conflict(decode_facts(a.facts), decode_facts(b.facts))
    if reason:
        log.debug("similar (%.2f) but different stories: %s", score, reason)
        return None
    return score


@dataclass(frozen=True)
class Candidate:
    """A stored article sharing a band key with a new one, as the index holds it."""

    article_id: int
    sketch: Sketch
    cluster_id: int | None


@dataclass(frozen=True)
class Decision:
    """Where a new article goes: the cluster it joins (or None), and later-stored lone copies
    that join its story (stored by another process after it, looked before it was indexed)."""

    cluster: Cluster | None
    later: list[tuple[int, float]]


def decide(article_id: int, story: Sketch, candidates: list[Candidate],
           threshold: float) -> Decision:
    """The cluster a newly indexed article joins, from its candidates' sketches (pure)."""
    best: Cluster | None = None
    later: list[tuple[int, float]] = []
    for candidate in candidates:
        if candidate.article_id == article_id:
            continue
        if estimated_jaccard(story.signature, candidate.sketch.signature) < CANDIDATE_ESTIMATE:
            continue
        score = verify_sketches(story, candidate.sketch, threshold)
        if score is None:
            continue
        if candidate.article_id > article_id:
            if candidate.cluster_id is None:  # it has not found its story (yet): it joins this one
                later.append((candidate.article_id, score))
            continue
        found = Cluster(candidate.cluster_id or candidate.article_id, score)
        if best is None or (score, -found.cluster_id) > (best.similarity, -best.cluster_id):
            best = found
    return Decision(best, later)


class StoryIndex:
    """Finds, for each newly stored article, the first-stored copy of its story."""

    def __init__(self, signatures, *, threshold: float, window_seconds: float) -> None:
        self.signatures = signatures  # the repository's signature index (repo.signatures)
        self.threshold = threshold
        self.window = timedelta(seconds=window_seconds)

    def add(self, article_id: int, title: str | None, text: str,
            published_at: datetime | None, fetched_at: datetime) -> Cluster | None:
        """Index a stored article; when it is a near duplicate, record and return its cluster.

        (The crawl computes the sketch in its extraction worker and indexes it in the article's
        own transaction: storage.articles.save.)"""
        story = sketch(title, text)
        if story is None:
            return None
        return self.signatures.index(article_id, self.entry(story, published_at, fetched_at))

    def entry(self, story: Sketch, published_at: datetime | None, fetched_at: datetime):
        """The index entry of a story (crawler.store.IndexEntry), deciding with `decide`."""
        return index_entry(story, published_at, fetched_at, threshold=self.threshold,
                           window=self.window)


def index_entry(story: Sketch, published_at: datetime | None, fetched_at: datetime, *,
                threshold: float, window: timedelta):
    """What storage needs to index a story in its article's transaction (IndexEntry)."""
    from crawler.store import IndexEntry  # the crawl's one door to storage

    def choose(article_id: int, rows: list[tuple]) -> Decision:
        candidates = []
        for row in rows:
            candidate = Sketch(bytes(row[1]), [], row[2], b"")
            # The facts (`bytes()` of the stored form) only where `decide` will compare them.
            if (row[3] is not None and story.similarity(candidate) >= threshold
                    and estimated_jaccard(story.signature, candidate.signature)
                    >= CANDIDATE_ESTIMATE):
                candidate = Sketch(candidate.signature, [], row[2], bytes(row[3]))
            candidates.append(Candidate(row[0], candidate, row[4]))
        return decide(article_id, story, candidates, threshold)

    return IndexEntry(story=story, published_at=published_at, fetched_at=fetched_at,
                      window=window, decide=choose)


def _shingle_word(word: str) -> str:
    # "وأكد"/"أكد" and "والوزير"/"الوزير" differ only by the joining "و" an editor adds or drops.
    if len(word) > 3 and word[0] == "و":
        word = word[1:]
    return word


class _Info(NamedTuple):
    """What a normalised word is to near duplicates (the same in every article: kept)."""

    shingle: str  # `_shingle_word`
    value: str | None  # `_word_value` of the word itself
    honorific: bool  # its shingle form is an honorific: the next word may be a name
    nameable: bool  # after an honorific it is a name (`_name`)
    hash: int  # `_word_hash` of its shingle form


_INFO: dict[str, _Info] = {}  # plain dict operations: safe between threads
_INFO_MAX = 50_000  # about 10 MB


def _infos(norms: list[str]) -> list[_Info]:
    """The `_Info` of each word: one dict look-up a word once its vocabulary was met."""
    found = list(map(_INFO.get, norms))
    if None in found:
        for at, entry in enumerate(found):
            if entry is None:
                found[at] = _info(norms[at])
    return found  # type: ignore[return-value]


def _info(norm: str) -> _Info:
    shingle = _shingle_word(norm)
    entry = _Info(shingle, _word_value(norm), _is_honorific(shingle),
                  norm not in _HONORIFICS and len(norm) > 2, _word_hash(shingle))
    if len(_INFO) >= _INFO_MAX:
        _INFO.clear()
    _INFO[norm] = entry
    return entry


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _hash32(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), "little")


@lru_cache(maxsize=65536)
def _slot_hash(key: tuple) -> int:
    """The 22-bit hash of a fact's slot, in the high bits (`encode_facts`)."""
    return _hash32("|".join(str(part) for part in key)) >> 10 << 10


@lru_cache(maxsize=65536)
def _value_hash(value: str) -> int:
    """The 10-bit hash of a fact's value (`encode_facts`): values recur, slots much less."""
    return _hash32(str(value)) & 0x3FF


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # h -> a*h + b mod 2^32 with an odd `a` is a bijection of the 32-bit values. Shingle hashes
    # are already uniform (splitmix64), so these affine maps act as random permutations.
    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint64)
    return a.astype(np.uint32), b.astype(np.uint32)


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

    slots: dict  # (side, word, word) -> values; once stored, 32-bit hashes of both
    dateline: tuple[int | None, int | None, int | None]


def encode_facts(facts: StoryFacts) -> bytes:
    """Facts as stored: the dateline's day, month and year (uint16 each), then one uint32 per
    (slot, value): a 22-bit hash of the slot and a 10-bit hash of the value. Slot hashes that
    collided would make a false conflict (about 1 in 700 pairs of copies); value hashes that
    collide hide a conflict only if every disagreeing slot collides (1 in 1,024 each)."""
    day, month, year = facts.dateline
    packed = sorted({slot | _value_hash(value) for key, values in facts.slots.items()
                     for slot in (_slot_hash(key),) for value in values})
    header = np.array([day or 0, month or 0, year or 0], dtype="<u2").tobytes()
    return header + np.array(packed, dtype="<u4").tobytes()


@lru_cache(maxsize=4096)
def decode_facts(data: bytes) -> StoryFacts:
    """The facts `encode_facts` stored (slots and values as their hashes)."""
    if len(data) < 6:
        return StoryFacts({}, (None, None, None))
    day, month, year = np.frombuffer(data[:6], dtype="<u2").tolist()
    slots: dict[int, set[int]] = {}
    for number in np.frombuffer(data[6:], dtype="<u4").tolist():
        slots.setdefault(number >> 10, set()).add(number & 0x3FF)
    return StoryFacts({key: frozenset(values) for key, values in slots.items()},
                      (day or None, month or None, year or None))


@lru_cache(maxsize=100_000)
def _word_value(norm: str) -> str | None:
    """A number (as a whole number, without leading zeros), ordinal, month, weekday or place."""
    if norm.isdigit():
        return norm.lstrip("0") or "0"
    for form in strip_proclitics(norm):
        for table in (_ORDINALS, _MONTHS, _WEEKDAYS, _PLACES):
            if form in table:
                return table[form]
    return None


@lru_cache(maxsize=100_000)
def _is_honorific(word: str) -> bool:
    return any(form in _HONORIFICS for form in strip_proclitics(word))


def _name(norm: str) -> str:
    """"الوزير"/"وزير" after "معالي" is one word: names compared without their proclitics."""
    return "name:" + min(strip_proclitics(norm), key=len)


def _slots(info: list[_Info], norms: list[str]) -> dict[tuple[str, str | None, str | None], set[str]]:
    """The values of a body (numbers, ordinals, dates, places, names after an honorific), each
    under the words on its left and on its right (and a digit number's content neighbours)."""
    words = [entry.shingle for entry in info]
    slots: dict[tuple[str, str | None, str | None], set[str]] = {}
    # Only the words that say something are visited: a value, or a name after an honorific.
    found = [i for i, entry in enumerate(info) if entry.value is not None
             or (entry.nameable and i and info[i - 1].honorific)]
    after = 0  # the word after the last value read (a teen or a tens word is read with it)
    for i in found:
        if i < after:
            continue
        value, last = info[i].value or _name(norms[i]), i
        if value.isdigit() and int(value) < 10 and i + 1 < len(words):
            following = _ORDINALS.get(words[i + 1])
            if words[i + 1] in _TEEN:  # "الحادي عشر": 11
                value, last = str(10 + int(value)), i + 1
            elif following and int(following) % 10 == 0 and int(following) >= 20:  # "الثالث والعشرين"
                value, last = str(int(following) + int(value)), i + 1
        left = ("L", words[i - 2] if i >= 2 else None, words[i - 1] if i >= 1 else None)
        right = ("R", *(words[last + 1:last + 3] + [None, None])[:2])
        keys = [left, right]
        if value.isdigit() and last == i:
            # A number in digits is also compared by its nearest content word on each side, so
            # that "اجتماعها الـ30" and "اجتماعها رقم 130" are two meetings however the rest of
            # the sentence was written: a whole number against a whole number, never its digits.
            keys += _content_neighbours(words, i)
        after = last + 1
        for key in keys:
            if key[1] is not None or key[2] is not None:
                slots.setdefault(key, set()).add(value)
    return slots


# Words between a number and what it counts that say nothing of it: "رقم 130", "نحو 85".
_NUMBER_FILLERS = set(_words(
    "رقم رقمه رقمها رقمي الرقم نحو حوالي قرابة زهاء أكثر أقل من في على إلى عن مع و أو ب ل "
    "no number of the a an in on at to by for about some nearly"))


def _content_neighbours(words: list[str], at: int) -> list[tuple[str, str | None, None]]:
    keys: list[tuple[str, str | None, None]] = []
    for side, step in (("L1", -1), ("R1", 1)):
        j = at + step
        while 0 <= j < len(words) and abs(j - at) <= 2 and words[j] in _NUMBER_FILLERS:
            j += step
        if 0 <= j < len(words) and abs(j - at) <= 2 and len(words[j]) > 2 \
                and _word_value(words[j]) is None:
            keys.append((side, _neighbour_stem(words[j]), None))
    return keys


@lru_cache(maxsize=100_000)
def _neighbour_stem(word: str) -> str:
    """"الاجتماع", "اجتماعها" and "واجتماعه" as one word: proclitics and a pronoun dropped."""
    stem = min(strip_proclitics(word), key=len)
    for suffix in ("هما", "هم", "ها", "ه"):
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
            return stem[:-len(suffix)]
    return stem


def _dateline_end(body: list[str], text: str) -> int:
    """How many leading words are an agency dateline ("الرياض 15 يناير 2025 (واس) -")."""
    if not body or not (_is_place(body[0]) or body[0] in _AGENCIES or body[0] in {"abu", "ابو"}):
        return 0
    # Placed tokens (what stands between two words counts), as few as the dateline needs.
    most = min(31, len(body))
    tokens = _placed(body, text, min(12, most))
    cut, seen_agency = 0, False
    for i in range(min(30, len(body))):
        if i + 1 >= len(tokens) and len(tokens) < most:
            tokens = _placed(body, text, min(2 * len(tokens), most))
        token = tokens[i]
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


def _placed(body: list[str], text: str, count: int) -> list[Token]:
    """The first `count` words of the body as tokens placed in `text`."""
    tokens = _head_tokens(text, count)
    if [token.norm for token in tokens] != body[:len(tokens)]:  # never seen: read it all
        tokens = [token for token in tokenize(text) if token.norm != "ال"][:count]
    return tokens


def _is_place(norm: str) -> bool:
    return norm in _PLACES


def _dateline_date(norms: list[str]) -> tuple[int | None, int | None, int | None]:
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


def story_facts(body: list[str], text: str) -> tuple[StoryFacts, int, int]:
    """The facts of a story (its normalised words, bare "ال" left out, and its text), and where
    its body starts and ends once dateline and end marks go."""
    facts, start, end, _ = _story(body, text)
    return facts, start, end


def _story(body: list[str], text: str) -> tuple[StoryFacts, int, int, list[_Info]]:
    """`story_facts`, and the `_Info` of the body's words between its start and end."""
    start = _dateline_end(body, text)
    end = len(body)
    while end > start and end > len(body) - 6 and (body[end - 1] in _END_MARKS
                                                   or len(body[end - 1]) == 1):
        end -= 1
    # The body only: a new headline may put a value in a context that the body words otherwise.
    info = _infos(body[start:end])
    slots = {key: frozenset(values) for key, values in _slots(info, body[start:end]).items()}
    return StoryFacts(slots, _dateline_date(body[:start])), start, end, info


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
            where = key[1:] if isinstance(key, tuple) else f"slot {key:08x}"
            return f"{sorted(mine)} and {sorted(theirs)} next to {where}"
    return None
