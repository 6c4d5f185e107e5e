"""Arabic-aware text normalisation, tokenisation and light stemming for matching.

Pure functions, no state beyond caches: the same normalisation is applied to watch-rule
queries and to article texts, and the near-duplicate module reuses `normalize`/`tokenize`.
See docs/rules.md for the rules with examples.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any, Final, NamedTuple

__all__ = [
    "ANY_PROCLITIC",
    "NATIVE",
    "Token",
    "Words",
    "forget_pieces",
    "has_arabic",
    "is_arabic_word",
    "light_stem",
    "may_have_proclitic",
    "normalize",
    "normalized_words",
    "proclitic_forms",
    "strip_proclitics",
    "tokenize",
]

# Marks that change the look but not the word: tashkeel (harakat, tanwin, shadda, sukun,
# superscript alef, Quranic annotation marks), tatweel, and invisible direction/joiner marks
# that copy-pasted Gulf agency texts are full of.
_DROPPED: Final = (
    [chr(c) for c in range(0x0610, 0x061B)]
    + [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640"]
    + [chr(c) for c in range(0x06D6, 0x06DD)]
    + [chr(c) for c in range(0x06DF, 0x06E9)]
    + [chr(c) for c in range(0x06EA, 0x06EE)]
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff"]
)

_LETTERS: Final = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي",  # alef maqsura; Persian/Urdu yeh as typed on some sites
    "ة": "ه", "ۃ": "ه",
    "ؤ": "و", "ئ": "ي",
    "ک": "ك", "ڪ": "ك",  # Persian keheh, swash kaf
}

_PUNCTUATION: Final = {"،": ",", "؛": ";", "؟": "?", "«": '"', "»": '"', "٪": "%", "٫": ".", "٬": ",",
                "۔": "."}

_TABLE: Final[dict[int, str | None]] = {ord(c): None for c in _DROPPED}
_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
_TABLE.update({ord(k): v for k, v in _PUNCTUATION.items()})
_TABLE.update({0x0660 + d: str(d) for d in range(10)})  # Arabic-Indic digits
_TABLE.update({0x06F0 + d: str(d) for d in range(10)})  # Persian (extended) digits

# A word: a run of letters, with any dropped mark inside it, so that "الحكومـــة" or
# "الحُكُومَة" stay one token whose offsets cover the original spelling; or a run of digits,
# apart from letters so that "٢٠٢٤م" and "١٤٤٦هـ" yield the year as a token of its own.
_MARKS: Final = "".join(_DROPPED).replace("\u200b", "").replace("\ufeff", "")
_WORD: Final = re.compile(rf"\d+|(?:[^\W\d_]|[{_MARKS}])+")
_ARABIC_LETTER: Final = re.compile(r"[\u0621-\u064A]")


class Token(NamedTuple):
    """One word: its normalised form and its character span in the original text."""

    norm: str
    start: int
    end: int


# str.translate looks every character up in a dict: on a 3,500-character article that costs
# more than running fifty watch rules. Replacing only the characters that occur (a C search per
# table entry) gives the same string several times faster. Safe because no replacement is
# itself a key of the table. Short strings (query words, tokens) keep translate.
_REPLACEMENTS: Final = tuple((chr(code), value or "") for code, value in _TABLE.items())
_FOLD_FROM: Final = 160  # characters: below this one translate is faster than the replacement loop


def _fold(text: str) -> str:
    """`normalize(text)` for a long text."""
    for char, replacement in _REPLACEMENTS:
        if char in text:
            text = text.replace(char, replacement)
    return text.lower()


def normalize(text: str) -> str:
    """The matching form of `text`: Arabic letters unified, marks dropped, digits ASCII, lowercase.

    Character-level only (no token is merged or split), so token boundaries are kept.
    """
    if len(text) < _FOLD_FROM:
        return text.translate(_TABLE).lower()
    return _fold(text)


def tokenize(text: str) -> list[Token]:
    """Words of `text` with their normalised forms and offsets into the original `text`."""
    table = _TABLE
    tokens = []
    for match in _WORD.finditer(text):
        norm = match.group().translate(table).lower()
        if norm:  # a run of marks only (stray tashkeel) is not a word
            tokens.append(Token(norm, match.start(), match.end()))
    return tokens


def normalized_words(text: str) -> list[str]:
    """The normalised words of `text` in order: `[t.norm for t in tokenize(text)]`, faster."""
    return Words(text).words


# Words never cross a space, so a text's words are the words of its space-separated pieces, in
# order. The same pieces recur across articles ("في", "مجلس", "التعاون،"): each distinct piece is
# tokenised once per process and its words kept, so an article costs one str.split, a dictionary
# look-up a piece and no normalisation at all. The pieces are those of the original text, which
# also places any word in it without character offsets. A piece of one word (nearly all of them)
# is kept as that word, not a tuple: a string is not tracked by the cyclic garbage collector.
_PIECE_WORDS: Final[dict[str, str | tuple[str, ...]]] = {}
_MAX_PIECES: Final = 200_000


def _piece_words(piece: str) -> str | tuple[str, ...]:
    """The normalised words of one piece, through the tokeniser (as they are cached)."""
    table = _TABLE
    found = tuple(norm for word in _WORD.findall(piece) if (norm := word.translate(table).lower()))
    return found[0] if len(found) == 1 else found


def forget_pieces() -> None:
    """Empty the caches of pieces and words (see `Words`)."""
    _PIECE_WORDS.clear()
    if NATIVE is not None:
        NATIVE.forget()


# Punctuation that may be glued to a word ("التعاون،", "(الثاني)", "«الرياض»"): never part of
# a word, in the original or in the normalised text.
_EDGE_PUNCTUATION: Final = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()) + (
    "،؛؟«»٪٫٬۔…“”‘’–—")
_SPLITTERS: Final = ("\u200b", "\ufeff")  # dropped by normalising, yet they part words


def _learn_pieces(pieces: list[str]) -> None:
    """Tokenise new pieces into the cache. They are normalised together, in one pass; most are
    then one word, perhaps with punctuation around it, or a few joined by a line break
    ("المجلس.\nوأكد", where paragraphs meet). The others go through the tokeniser (`_WORD`)."""
    if len(_PIECE_WORDS) + len(pieces) > _MAX_PIECES:
        _PIECE_WORDS.clear()
    cache = _PIECE_WORDS
    fresh = list(dict.fromkeys(pieces))
    joined = " ".join(fresh)
    # Normalising neither adds nor drops a space: the pieces come back one for one.
    norms = normalize(joined).split(" ")
    splitters = _SPLITTERS[0] in joined or _SPLITTERS[1] in joined
    for at, piece in enumerate(fresh):
        core = norms[at].strip(_EDGE_PUNCTUATION)
        if splitters and (_SPLITTERS[0] in piece or _SPLITTERS[1] in piece):
            cache[piece] = _piece_words(piece)
        elif core.isalpha() or (core.isdecimal()  # unless a mark parted its digits
                                and piece.strip(_EDGE_PUNCTUATION).isdecimal()):
            cache[piece] = core
        elif not core:
            cache[piece] = ()
        else:
            found = _letter_words(core)
            cache[piece] = _piece_words(piece) if found is None else found


def _letter_words(core: str) -> str | tuple[str, ...] | None:
    """The words of a normalised piece whose parts between whitespace are each one word of
    letters with perhaps punctuation around it (as `_PIECE_WORDS` keeps them); None if another.
    A word of digits is not taken: a mark between two digits parts them, yet normalising drops
    it."""
    found = []
    for part in core.split():
        word = part.strip(_EDGE_PUNCTUATION)
        if word.isalpha():
            found.append(word)
        elif word:
            return None
    return found[0] if len(found) == 1 else tuple(found)


class Words:
    """A text's normalised words, split once; the original text of any words on demand.

    `words` equals `[t.norm for t in tokenize(text)]` (`distinct`: each of them once); `span(i)`
    and `excerpts` place words in the original text without building a Token per word.
    """

    __slots__ = ("text", "words", "distinct", "_split", "_spans", "_uneven", "_firsts",
                 "_befores")

    def __init__(self, text: str) -> None:
        self.text = text
        self._split: list[str] | None = None
        # In Python, the pieces of other than one word, with their number of words: with them,
        # the piece of any word is a sum away (`_piece_of`). In C, each word's start and end in
        # the text come with it instead (int32 pairs).
        uneven: list[tuple[int, int]] = []
        distinct: list[str]
        self._spans: memoryview | None = None
        if NATIVE is not None:
            words, distinct, spans = NATIVE.read_words(text)
            self._spans = memoryview(spans).cast("i")
        else:
            self._split, words, uneven = _cached_words(text)
            distinct = list(dict.fromkeys(words))
        self.words: list[str] = words
        self.distinct = distinct
        self._uneven = uneven
        self._firsts: list[int] | None = None
        self._befores: list[int] = []

    def __len__(self) -> int:
        return len(self.words)

    @property
    def normalized(self) -> str:
        """The matching form of the whole text (`normalize(text)`)."""
        return normalize(self.text)

    def _piece_of(self, index: int) -> int:
        """The piece that holds word `index`."""
        if self._firsts is None:  # the first word of each uneven piece, and the words before
            firsts, befores, before = [], [], 0  # it beyond one a piece (fewer: negative)
            for at, count in self._uneven:
                firsts.append(at + before)
                befores.append(before)
                before += count - 1
            self._firsts, self._befores = firsts, befores
        last = bisect_right(self._firsts, index) - 1  # the last uneven piece from there on
        if last < 0:
            return index
        at, count = self._uneven[last]
        if index < self._firsts[last] + count:
            return at
        return index - self._befores[last] - (count - 1)

    def span(self, index: int) -> tuple[int, int]:
        """Start and end in the original text of word `index`."""
        if self._spans is not None:
            return self._spans[2 * index], self._spans[2 * index + 1]
        at = self._piece_of(index)
        within = index - at - sum(count - 1 for piece, count in self._uneven if piece < at)
        ((start, end),) = _piece_spans(self._split or [], [at])
        token = tokenize(self.text[start:end])[within]
        return start + token.start, start + token.end

    def excerpts(self, windows: list[tuple[int, int]]) -> list[str]:
        """The original text of each window (first word, last word), in whole space-separated
        pieces, so with the punctuation glued to them."""
        spans, text = self._spans, self.text
        if spans is not None:  # from the words' own places out to the spaces around them
            found = []
            for first, last in windows:
                stop = text.find(" ", spans[2 * last + 1])
                found.append(text[text.rfind(" ", 0, spans[2 * first]) + 1:
                                  len(text) if stop < 0 else stop])
            return found
        pieces_of = {at: self._piece_of(at) for window in windows for at in window}
        wanted = sorted(set(pieces_of.values()))
        span_of = dict(zip(wanted, _piece_spans(self._split or [], wanted), strict=True))
        return [self.text[span_of[pieces_of[first]][0]:span_of[pieces_of[last]][1]]
                for first, last in windows]


def _cached_words(text: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """The pieces of `text`, its words and its pieces of other than one word (with their number
    of words), through the cache of pieces."""
    pieces = text.split(" ")
    words: list[str] = []
    uneven: list[tuple[int, int]] = []
    new = _read_pieces(pieces, words, uneven)
    if new:  # learn the new pieces (all, if the cache is full and cleared), then read again
        _learn_pieces(pieces if len(_PIECE_WORDS) + len(new) > _MAX_PIECES else new)
        words, uneven = [], []
        _read_pieces(pieces, words, uneven)
    return pieces, words, uneven


def _read_pieces(pieces: list[str], words: list[str], uneven: list[tuple[int, int]]) -> list[str]:
    """Add the cached words of `pieces` to `words` (and the pieces of not one word to `uneven`);
    return the pieces that are not in the cache."""
    cache = _PIECE_WORDS
    new: list[str] = []
    for at, piece in enumerate(pieces):
        found = cache.get(piece)
        if found is None:
            new.append(piece)
        elif isinstance(found, str):
            words.append(found)
        else:
            words.extend(found)
            uneven.append((at, len(found)))
    return new


def _piece_spans(pieces: list[str], indexes: list[int]) -> list[tuple[int, int]]:
    """Start and end in the text of the pieces at `indexes` (ascending)."""
    found: list[tuple[int, int]] = []
    if not indexes:
        return found
    wanted, start = indexes[0], 0
    for at, piece in enumerate(pieces):
        if at == wanted:
            found.append((start, start + len(piece)))
            if len(found) == len(indexes):
                return found
            wanted = indexes[len(found)]
        start += len(piece) + 1  # the piece and the space after it
    return found


def _native_words() -> Any:
    """monitor._words (monitor/_words.c) configured with the table, if it was built and is not
    older than its source, unless RAQIB_PURE_PYTHON is set."""
    if os.environ.get("RAQIB_PURE_PYTHON"):
        return None
    try:
        words = import_module("monitor._words")
    except ImportError:
        return None
    binary = Path(words.__file__ or "")
    source = binary.with_name("_words.c")
    if source.exists() and source.stat().st_mtime > binary.stat().st_mtime:
        return None  # edited since it was built: the Python path is the truth
    try:
        words.configure(_TABLE, _MARKS)
    except (TypeError, ValueError):  # a table it cannot take: the Python path does it all
        return None
    return words


# The words of a text in one pass over its characters, in C, when it was built (setup.py);
# else through the cache of pieces above. monitor.matching uses its other functions too.
NATIVE: Final[Any] = _native_words()


def is_arabic_word(norm_token: str) -> bool:
    """Whether a normalised token starts with an Arabic letter."""
    return bool(norm_token) and "\u0621" <= norm_token[0] <= "\u064a"


# Proclitics, longest first. Those that carry the article also yield "ال"+stem, so that a
# query written with the article ("الحكومه") matches "والحكومة", "بالحكومة", "للحكومة".
_ARTICLE_PROCLITICS: Final = ("وبال", "وكال", "فبال", "فكال", "وال", "فال", "بال", "كال", "ال",
                       "ولل", "فلل", "لل")
_PLAIN_PROCLITICS: Final = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")
_MIN_STEM: Final = 2
_ARTICLE_PROCLITICS_BY_FIRST: Final = {
    letter: tuple(p for p in _ARTICLE_PROCLITICS if p[0] == letter)
    for letter in {p[0] for p in _ARTICLE_PROCLITICS}}
_PLAIN_PROCLITICS_BY_FIRST: Final = {
    letter: tuple(p for p in _PLAIN_PROCLITICS if p[0] == letter)
    for letter in {p[0] for p in _PLAIN_PROCLITICS}}


def may_have_proclitic(norm_token: str) -> bool:
    """Whether a normalised token begins with a letter that a proclitic or the article begins
    with (else `strip_proclitics` reads it only as itself, perhaps without a final alif)."""
    # Spelled out: compiled, six startswith beat slicing out the letter or a loop over them.
    return (norm_token.startswith("و") or norm_token.startswith("ف") or norm_token.startswith("ب")
            or norm_token.startswith("ل") or norm_token.startswith("ك")
            or norm_token.startswith("ا"))


@lru_cache(maxsize=65536)
def strip_proclitics(norm_token: str) -> tuple[str, ...]:
    """Every reading of a normalised token with and without its proclitics, itself first.

    "والحكومه" gives "الحكومه" and "حكومه"; "للجنه" gives "لجنه", "جنه" and "الجنه". Wrong
    readings like "جنه" are harmless: they only matter if a query term equals them.
    """
    forms = [norm_token]
    # Accusative tanwin is written with an alif ("اجتماعاً", "مؤتمراً صحفياً"): read the word
    # without it too. Words that really end in alif only gain a harmless extra reading.
    if len(norm_token) >= 4 and norm_token.endswith("ا") and is_arabic_word(norm_token):
        forms.append(norm_token[:-1])
    if not may_have_proclitic(norm_token):
        return tuple(forms)
    first = norm_token[0]  # only the proclitics that begin with its first letter are tried
    for prefix in _ARTICLE_PROCLITICS_BY_FIRST.get(first, ()):
        if norm_token.startswith(prefix) and len(norm_token) - len(prefix) >= _MIN_STEM:
            stem = norm_token[len(prefix):]
            forms.append(stem)
            forms.append("ال" + stem)
    for prefix in _PLAIN_PROCLITICS_BY_FIRST.get(first, ()):
        if norm_token.startswith(prefix) and len(norm_token) - len(prefix) >= _MIN_STEM:
            forms.append(norm_token[len(prefix):])
    if forms[1:] and forms[1] == norm_token[:-1]:  # "واجتماعا": also the bare "اجتماع"
        forms.extend(form[:-1] for form in forms[2:] if len(form) >= 4 and form.endswith("ا"))
    return tuple(dict.fromkeys(forms))


ANY_PROCLITIC: Final = ("", *_ARTICLE_PROCLITICS, *_PLAIN_PROCLITICS)  # none, or one of them


@lru_cache(maxsize=16384)
def proclitic_forms(norm_word: str) -> frozenset[str]:
    """Every normalised token that `strip_proclitics` reads as `norm_word` (its inverse).

    "حكومه" gives "حكومه", "والحكومه", "للحكومه", "حكومها"…: a watch rule looks these up in an
    article, so the article's own words need not be expanded. Every reading is a proclitic
    (or none) + the word or, for a word with the article, + the word without it, + an optional
    tanwin alif; each candidate is checked with `strip_proclitics` itself.
    """
    bases = {norm_word, norm_word[2:]} if norm_word.startswith("ال") else {norm_word}
    read = strip_proclitics.__wrapped__  # uncached: do not flood its cache with candidates
    candidates = {prefix + base + alif for prefix in ANY_PROCLITIC for base in bases
                  for alif in ("", "ا")}
    return frozenset(form for form in candidates if form and norm_word in read(form))


# Light stemming for the `~word` operator (docs/rules.md). Arabic: one attached pronoun, then
# one plural / dual / feminine / relative (nisba) ending, leaving at least three letters.
_AR_PRONOUNS: Final = ("هما", "كما", "كم", "هم", "هن", "ها", "نا")
_AR_ENDINGS: Final = ("يات", "يون", "يين", "تان", "تين", "ات", "ون", "ين", "يه", "تا", "تي", "ي", "ه")
_AR_MIN_STEM: Final = 3


@lru_cache(maxsize=65536)
def light_stem(norm_word: str) -> str:
    """The light stem of a normalised word (proclitics already stripped).

    Arabic: "اجتماعاتها" -> "اجتماع", "ورشتين" -> "ورش", "الخليجيين" after "ال" -> "خليج".
    English: "meetings" -> "meet", "committees" -> "committee", "ministries" -> "ministry".
    """
    if is_arabic_word(norm_word):
        return _arabic_stem(norm_word)
    if norm_word.isascii() and norm_word.isalpha():
        return _english_stem(norm_word)
    return norm_word


def _by_length(suffixes: tuple[str, ...]) -> tuple[tuple[int, frozenset[str]], ...]:
    """Suffixes grouped by length, longest first: looking the word's last letters up in each
    group finds the suffix a longest-first loop over them would."""
    lengths = sorted({len(suffix) for suffix in suffixes}, reverse=True)
    return tuple((size, frozenset(s for s in suffixes if len(s) == size)) for size in lengths)


_AR_PRONOUNS_BY_LENGTH: Final = _by_length(_AR_PRONOUNS)
_AR_ENDINGS_BY_LENGTH: Final = _by_length(_AR_ENDINGS)


def _arabic_stem(word: str) -> str:
    for size, pronouns in _AR_PRONOUNS_BY_LENGTH:
        if len(word) - size >= _AR_MIN_STEM and word[-size:] in pronouns:
            word = word[:-size]
            # A taa marbuta is written ت before a pronoun: "لجنتها" is "لجنه" + "ها".
            if word.endswith("ت") and not word.endswith("ات"):
                word = word[:-1] + "ه"
            break
    for size, endings in _AR_ENDINGS_BY_LENGTH:
        if len(word) - size >= _AR_MIN_STEM and word[-size:] in endings:
            return word[:-size]
    return word


def _english_stem(word: str) -> str:
    # Porter's step 1 only: plural and -ing/-ed, enough for news vocabulary.
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
    return word


def has_arabic(text: str) -> bool:
    """Whether `text` contains an Arabic letter."""
    return _ARABIC_LETTER.search(text) is not None
