"""Arabic-aware text: normalisation, words, proclitics and light stems (docs/rules.md).

One definition of "a word" for all of raqib (rules, near duplicates, fingerprints, dates).
Pure functions; the caches are bounded and safe to share between threads.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate, chain
from typing import NamedTuple

__all__ = ["Token", "has_arabic", "index_terms", "is_arabic_word", "light_stem", "normalize",
           "normalize_with_origin", "normalized_words", "piece_words", "strip_proclitics", "tokenize",
           "word_locator"]

# Marks that change the look but not the word, dropped: tashkeel, Quranic marks, tatweel, and
# the invisible joiners and direction marks of copy-pasted agency texts.
_DROPPED_AT = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06dc\u06df-\u06e8"
                         "\u06ea-\u06ed\u200c-\u200f\u061c]")
_DROPPED = [chr(c) for c in range(0x0610, 0x2010) if _DROPPED_AT.match(chr(c))]
# Invisible characters that part words (zero-width space, BOM, bidi controls): spaces.
_PARTING = "\u200b\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي",  # alef maqsura; Persian/Urdu yeh as typed on some sites
    "ة": "ه", "ۃ": "ه", "ؤ": "و", "ئ": "ي",
    "ک": "ك", "ڪ": "ك",  # Persian keheh, swash kaf
    "İ": "i",  # the one letter whose lower case is two characters (i + a combining dot)
}
_PUNCTUATION = {"،": ",", "؛": ";", "؟": "?", "«": '"', "»": '"', "٪": "%", "٫": ".", "٬": ",",
                "۔": "."}
_TABLE: dict[int, str] = {ord(c): "" for c in _DROPPED}
_TABLE.update({ord(c): " " for c in _PARTING})
_TABLE.update({ord(k): v for k, v in {**_LETTERS, **_PUNCTUATION}.items()})
_TABLE.update({zero + d: str(d) for zero in (0x660, 0x6F0) for d in range(10)})  # ٠-٩, ۰-۹
# Faster than str.translate on an article: replace only the characters that occur.
_REPLACEMENTS = tuple((chr(code), value) for code, value in _TABLE.items())
# A word of the normalised text: a run of letters, or of digits ("٢٠٢٤م" is 2024 and م).
_WORD = re.compile(r"[^\W\d_]+|\d+")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
MAX_WORD = 64  # longer "words" (a URL's letters, a hostile page) are read only as themselves


class Token(NamedTuple):
    """One word: its normalised form and its span in the original text."""

    norm: str
    start: int
    end: int


def normalize(text: str) -> str:
    """The matching form of `text`: Arabic letters unified, marks dropped, digits ASCII, lower
    case. Character by character: a dropped mark is the only change of length."""
    if len(text) < 160:
        return text.translate(_TABLE).lower()
    for char, replacement in _REPLACEMENTS:
        if char in text:
            text = text.replace(char, replacement)
    return text.lower()


def normalize_with_origin(text: str) -> tuple[str, list[int]]:
    """`normalize(text)`, and for each of its characters the index of its source in `text`."""
    origin: list[int] = []
    kept = 0
    for match in _DROPPED_AT.finditer(text):
        origin.extend(range(kept, match.start()))
        kept = match.end()
    origin.extend(range(kept, len(text)))
    return normalize(text), origin


def normalized_words(text: str) -> list[str]:
    """The normalised words of `text`, in order."""
    return list(chain.from_iterable(piece_words(text.split())))


def piece_words(pieces: list[str]) -> list[tuple[str, ...]]:
    """The normalised words of each piece of `text.split()`."""
    found = list(map(_PIECES.get, pieces))
    if None not in found:
        return found  # type: ignore[return-value]
    for at, words in enumerate(found):
        if words is None:
            found[at] = words = tuple(_WORD.findall(normalize(pieces[at])))
            if len(pieces[at]) <= MAX_WORD:
                if len(_PIECES) >= 100_000:
                    _PIECES.clear()
                _PIECES[pieces[at]] = words
    return found  # type: ignore[return-value]


# The words of the pieces met so far ("التعاون،", "في" recur in every article).
_PIECES: dict[str, tuple[str, ...]] = {}


def tokenize(text: str) -> list[Token]:
    """The words of `text` and their places in it: a word of letters spans the marks around it
    ("الاجتمـــاعُ"), a number its digits only."""
    folded, origin = normalize_with_origin(text)
    origin.append(len(text))
    tokens, end = [], 0
    for word in normalized_words(text):  # in order, with no word character between them
        start = folded.find(word, end)
        end = start + len(word)
        if word[0].isdecimal():
            tokens.append(Token(word, origin[start], origin[end - 1] + 1))
        else:
            tokens.append(Token(word, origin[start - 1] + 1 if start else 0, origin[end]))
    return tokens


def word_locator(text: str, pieces: list[str] | None = None,
                 words: list[tuple[str, ...]] | None = None) -> Callable[[int], tuple[int, int]]:
    """Where word i of `text` is, as `tokenize` places it, placing no other word. `pieces` and
    `words`: `text.split()` and its `piece_words`, if the caller has them."""
    raw = text.split() if pieces is None else pieces
    words = piece_words(raw) if words is None else words
    counts = list(accumulate(map(len, words)))  # words up to the end of each piece
    ends = list(accumulate(map(len, raw)))
    # Pieces parted by single spaces (extracted text) are placed by a sum, others by a search.
    even = bool(raw) and ends[-1] + len(raw) - 1 == len(text)
    starts: list[int] = []

    def piece_start(piece: int) -> int:
        if even:
            return ends[piece] - len(raw[piece]) + piece
        while len(starts) <= piece:
            after = starts[-1] + len(raw[len(starts) - 1]) if starts else 0
            starts.append(text.find(raw[len(starts)], after))
        return starts[piece]

    def place(at: int) -> tuple[int, int]:
        piece = bisect_right(counts, at)
        start, here = piece_start(piece), words[piece]
        if len(here) == 1 and len(here[0]) == len(raw[piece]):  # the word is the piece
            return start, start + len(here[0])
        if len(here) == 1 and len(folded := normalize(raw[piece])) == len(raw[piece]):
            start += folded.find(here[0])  # no mark dropped: the places agree
            return start, start + len(here[0])
        token = tokenize(raw[piece])[at - (counts[piece - 1] if piece else 0)]
        return start + token.start, start + token.end

    return place


def is_arabic_word(norm_word: str) -> bool:
    """Whether a normalised word starts with an Arabic letter."""
    return bool(norm_word) and "\u0621" <= norm_word[0] <= "\u064a"


def has_arabic(text: str) -> bool:
    """Whether `text` contains an Arabic letter."""
    return _ARABIC_LETTER.search(text) is not None


# Proclitics, longest first. With the article they also give "ال"+stem ("والحكومة": "الحكومه").
_ARTICLE_PROCLITICS = ("وبال", "وكال", "فبال", "فكال", "وال", "فال", "بال", "كال", "ال",
                       "ولل", "فلل", "لل")
_PLAIN_PROCLITICS = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")
_MIN_STEM = 2


def strip_proclitics(norm_word: str) -> tuple[str, ...]:
    """Every reading of a normalised word with and without its proclitics, itself first:
    "للجنه" gives "لجنه", "جنه" and "الجنه" (a wrong reading matters only if a query has it)."""
    return (norm_word,) if len(norm_word) > MAX_WORD else _readings(norm_word)


@lru_cache(maxsize=65536)
def _readings(word: str) -> tuple[str, ...]:
    forms = [word]
    # Accusative tanwin is written with an alif ("اجتماعاً"): read the word without it too.
    if len(word) >= 4 and word.endswith("ا") and is_arabic_word(word):
        forms.append(word[:-1])
    if word[:1] not in ("و", "ف", "ب", "ل", "ك", "ا"):
        return tuple(forms)
    for prefix in _ARTICLE_PROCLITICS:
        if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM:
            forms += [word[len(prefix):], "ال" + word[len(prefix):]]
    forms += [word[len(prefix):] for prefix in _PLAIN_PROCLITICS
              if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM]
    if forms[1:] and forms[1] == word[:-1]:  # "واجتماعا": also the bare "اجتماع"
        forms.extend(form[:-1] for form in forms[2:] if len(form) >= 4 and form.endswith("ا"))
    return tuple(dict.fromkeys(forms))


def index_terms(text: str, words: list[str] | None = None) -> list[str]:
    """A full-text index's terms for `text`: every reading of its words, each once. A query
    word matches only if it is one of them (a wildcard or `~` stem: starts one of them).
    `words`: `normalized_words(text)`, when the caller has them."""
    words = normalized_words(text) if words is None else words
    return sorted({form for word in set(words) for form in strip_proclitics(word)})


# Light stems for `~word`. Arabic: one attached pronoun, then one plural, dual, feminine or
# nisba ending, leaving three letters at least.
_AR_PRONOUNS = ("هما", "كما", "كم", "هم", "هن", "ها", "نا")
_AR_ENDINGS = ("يات", "يون", "يين", "تان", "تين", "ات", "ون", "ين", "يه", "تا", "تي", "ي", "ه")
_AR_MIN_STEM = 3


def light_stem(norm_word: str) -> str:
    """The light stem of a normalised word without proclitics: "اجتماعاتها" -> "اجتماع",
    "ورشتين" -> "ورش", "meetings" -> "meet", "ministries" -> "ministry"."""
    return norm_word if len(norm_word) > MAX_WORD else _stem(norm_word)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if is_arabic_word(word):
        for pronoun in _AR_PRONOUNS:
            if word.endswith(pronoun) and len(word) - len(pronoun) >= _AR_MIN_STEM:
                word = word[:-len(pronoun)]
                # A taa marbuta is written ت before a pronoun: "لجنتها" is "لجنه" + "ها".
                if word.endswith("ت") and not word.endswith("ات"):
                    word = word[:-1] + "ه"
                break
        for ending in _AR_ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= _AR_MIN_STEM:
                return word[:-len(ending)]
        return word
    if not (word.isascii() and word.isalpha()):
        return word
    # English: Porter's step 1 only (plural, -ing, -ed).
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        return word[:-3]
    if word.endswith("ed") and len(word) >= 5:
        return word[:-2]
    return word
