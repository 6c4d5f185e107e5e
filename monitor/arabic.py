"""Arabic-aware text normalisation, tokenisation and light stemming for matching.

Pure functions, no state beyond caches: the same normalisation is applied to watch-rule
queries and to article texts, and the near-duplicate module reuses `normalize`/`tokenize`.
See docs/rules.md for the rules with examples.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate, chain
from typing import NamedTuple

__all__ = [
    "Token",
    "Words",
    "has_arabic",
    "is_arabic_word",
    "light_stem",
    "normalize",
    "normalized_words",
    "proclitic_forms",
    "strip_proclitics",
    "tokenize",
]

# Marks that change the look but not the word: tashkeel (harakat, tanwin, shadda, sukun,
# superscript alef, Quranic annotation marks), tatweel, and invisible direction/joiner marks
# that copy-pasted Gulf agency texts are full of.
_DROPPED = (
    [chr(c) for c in range(0x0610, 0x061B)]
    + [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640"]
    + [chr(c) for c in range(0x06D6, 0x06DD)]
    + [chr(c) for c in range(0x06DF, 0x06E9)]
    + [chr(c) for c in range(0x06EA, 0x06EE)]
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff"]
)

_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي",  # alef maqsura; Persian/Urdu yeh as typed on some sites
    "ة": "ه", "ۃ": "ه",
    "ؤ": "و", "ئ": "ي",
    "ک": "ك", "ڪ": "ك",  # Persian keheh, swash kaf
}

_PUNCTUATION = {"،": ",", "؛": ";", "؟": "?", "«": '"', "»": '"', "٪": "%", "٫": ".", "٬": ",",
                "۔": "."}

_TABLE: dict[int, str | None] = {ord(c): None for c in _DROPPED}
_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
_TABLE.update({ord(k): v for k, v in _PUNCTUATION.items()})
_TABLE.update({0x0660 + d: str(d) for d in range(10)})  # Arabic-Indic digits
_TABLE.update({0x06F0 + d: str(d) for d in range(10)})  # Persian (extended) digits

# A word: a run of letters, with any dropped mark inside it, so that "الحكومـــة" or
# "الحُكُومَة" stay one token whose offsets cover the original spelling; or a run of digits,
# apart from letters so that "٢٠٢٤م" and "١٤٤٦هـ" yield the year as a token of its own.
_MARKS = "".join(_DROPPED).replace("\u200b", "").replace("\ufeff", "")
_WORD = re.compile(rf"\d+|(?:[^\W\d_]|[{_MARKS}])+")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")


class Token(NamedTuple):
    """One word: its normalised form and its character span in the original text."""

    norm: str
    start: int
    end: int


# str.translate looks every character up in a dict: on a 3,500-character article that costs
# more than running fifty watch rules. Replacing only the characters that occur (a C search per
# table entry) gives the same string several times faster. Safe because no replacement is
# itself a key of the table. Short strings (query words, tokens) keep translate.
_REPLACEMENTS = tuple((chr(code), value or "") for code, value in _TABLE.items())
_FOLD_FROM = 160  # characters: below this one translate is faster than the replacement loop


def _fold(text: str) -> tuple[str, str]:
    """`normalize(text)`, and the characters it dropped."""
    dropped = ""
    for char, replacement in _REPLACEMENTS:
        if char in text:
            text = text.replace(char, replacement)
            dropped += "" if replacement else char
    return text.lower(), dropped


def normalize(text: str) -> str:
    """The matching form of `text`: Arabic letters unified, marks dropped, digits ASCII, lowercase.

    Character-level only (no token is merged or split), so token boundaries are kept.
    """
    if len(text) < _FOLD_FROM:
        return text.translate(_TABLE).lower()
    return _fold(text)[0]


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


# Splitting a normalised text on runs of Arabic or ASCII letters, or ASCII digits (`_FAST_WORD`)
# gives `_WORD`'s words whenever no separator holds a letter or digit of another script (é, پ,
# ²); otherwise `_WORD` splits the text. A regex split costs about 0.1 µs a word, so a text is
# first split on spaces (str.split, ten times faster) and each distinct space-free piece is split
# once per process: most pieces are one word, and the same pieces recur across articles.
_FAST_WORD = re.compile(r"([a-z\u0621-\u064a]+|[0-9]+)")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_PIECE_WORDS: dict[str, tuple[str, ...]] = {}  # a piece's words (when its separators are clean)
_KNOWN_PIECES: set[str] = set()  # pieces split so far
_NOT_ONE_WORD: set[str] = set()  # known pieces that are not exactly one word
_DIRTY_PIECES: set[str] = set()  # pieces with a letter or digit of another script: use _WORD
_MAX_PIECES = 100_000


def _learn_pieces(pieces: set[str]) -> None:
    if len(_KNOWN_PIECES) + len(pieces) > _MAX_PIECES:
        for cache in (_PIECE_WORDS, _KNOWN_PIECES, _NOT_ONE_WORD, _DIRTY_PIECES):
            cache.clear()
    for piece in pieces:
        parts = _FAST_WORD.split(piece)
        if any(_LETTER_OR_DIGIT.search(separator) for separator in parts[0::2]):
            _DIRTY_PIECES.add(piece)
        else:
            _PIECE_WORDS[piece] = words = tuple(parts[1::2])
            if words != (piece,):
                _NOT_ONE_WORD.add(piece)
    _KNOWN_PIECES.update(pieces)


class Words:
    """A text's normalised form and words, split once; original offsets of a word on demand.

    `words` equals `[t.norm for t in tokenize(text)]` (`distinct`: the set of them), and
    `span(i)` the offsets of that token, without building a Token per word.
    """

    __slots__ = ("text", "normalized", "words", "_pieces", "_piece_words", "_dropped",
                 "_word_counts", "_piece_ends", "_drops", "_tokens", "_original_pieces",
                 "distinct")

    def __init__(self, text: str) -> None:
        self.text = text
        self.normalized, self._dropped = _fold(text)
        self._word_counts: list[int] | None = None
        self._piece_ends: list[int] | None = None
        self._drops: list[int] | None = None
        self._tokens: list[Token] | None = None
        self._pieces: list[str] | None = None  # the normalised text split on spaces
        self._original_pieces: list[str] | None = None  # the original text split likewise
        self._piece_words: list[tuple[str, ...]] | None = None
        if "\u0130" in text:  # "İ".lower() grows a combining dot that would split the word
            self.words = [token.norm for token in tokenize(text)]
            self.distinct = set(self.words)
            return
        pieces = self.normalized.split(" ")
        distinct = set(pieces)
        if not distinct <= _KNOWN_PIECES:
            _learn_pieces(distinct if len(_KNOWN_PIECES) + len(distinct) > _MAX_PIECES
                          else distinct - _KNOWN_PIECES)
        if not distinct.isdisjoint(_DIRTY_PIECES):
            self.words = _WORD.findall(self.normalized)
            self.distinct = set(self.words)
            return
        self._pieces = pieces
        if distinct.isdisjoint(_NOT_ONE_WORD):
            self.words = pieces
            self.distinct = distinct
        else:  # kept with the text: the caches may be cleared before `span` needs them
            self._piece_words = list(map(_PIECE_WORDS.__getitem__, pieces))
            self.words = list(chain.from_iterable(self._piece_words))
            self.distinct = set(chain.from_iterable(map(_PIECE_WORDS.__getitem__, distinct)))

    def __len__(self) -> int:
        return len(self.words)

    def span(self, index: int) -> tuple[int, int] | None:
        """Start and end in the original text of word `index` (None: cannot be placed)."""
        if self._pieces is None or self._drops == []:  # [] (not None): drops joined words
            return self._token_span(index)
        if self._piece_ends is None:
            self._piece_ends = list(accumulate(map(len, self._pieces)))
            if self._piece_words is not None:
                self._word_counts = list(accumulate(map(len, self._piece_words)))
            self._drops = _dropped_at(self.text, self._dropped) if self._dropped else None
            if self._drops == []:
                return self._token_span(index)
        start, end = self._normalized_span(index)
        if self._drops is None:  # nothing dropped: offsets are those of the normalised text
            return start, end
        # Each dropped character shifts what follows it; a word takes the marks around it.
        start += bisect_right(self._drops, start)
        if not self.words[index][0].isdigit():
            while start and self.text[start - 1] in _MARKS_SET:
                start -= 1
        match = _WORD.match(self.text, start)
        return (start, match.end()) if match else self._token_span(index)

    def excerpt(self, first: int, last: int) -> str | None:
        """The original text from word `first` to word `last`, in whole space-separated pieces
        (so with the punctuation glued to them); None when the words cannot be placed.

        Normalising never makes or removes a space, so the original text splits on spaces into
        the same pieces as the normalised one: no character offsets are needed.
        """
        if self._pieces is None:
            start, end = self.span(first), self.span(last)
            return None if start is None or end is None else self.text[start[0]:end[1]]
        if self._original_pieces is None:
            self._original_pieces = self.text.split(" ")
            if len(self._original_pieces) != len(self._pieces):  # cannot happen; be safe
                self._pieces = None
                return self.excerpt(first, last)
        if self._piece_words is None:  # one word a piece
            return " ".join(self._original_pieces[first:last + 1])
        if self._word_counts is None:
            self._word_counts = list(accumulate(map(len, self._piece_words)))
        counts = self._word_counts
        return " ".join(self._original_pieces[bisect_right(counts, first):
                                              bisect_right(counts, last) + 1])

    def _normalized_span(self, index: int) -> tuple[int, int]:
        pieces, ends = self._pieces, self._piece_ends
        assert pieces is not None and ends is not None
        if self._word_counts is None:  # one word a piece
            at, within = index, 0
        else:
            at = bisect_right(self._word_counts, index)
            within = index - (self._word_counts[at - 1] if at else 0)
        start = (ends[at - 1] + at) if at else 0  # the pieces before, and a space after each
        piece = pieces[at]
        if self._word_counts is None or self._piece_words[at] == (piece,):  # type: ignore[index]
            return start, start + len(piece)
        bounds = list(accumulate(map(len, _FAST_WORD.split(piece))))
        return start + bounds[2 * within], start + bounds[2 * within + 1]

    def _token_span(self, index: int) -> tuple[int, int] | None:
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        if len(self._tokens) != len(self.words):
            return None
        token = self._tokens[index]
        return token.start, token.end


_MARKS_SET = frozenset(_MARKS)


def _dropped_at(text: str, dropped: str) -> list[int]:
    """Where the `dropped` characters of `text` sit in its normalised form (one entry each).

    Empty when a drop may have joined two words (a zero-width space, or a mark between two
    digits): then only `tokenize` can place the words.
    """
    if "\u200b" in dropped or "\ufeff" in dropped:
        return []
    offsets = []
    for char in dropped:
        at = text.find(char)
        while at >= 0:
            offsets.append(at)
            at = text.find(char, at + 1)
    offsets.sort()
    last = len(text) - 1
    for at in offsets:  # a run of marks between two digits: "٢َ٤" reads as one number
        if 0 < at < last and text[at + 1].isdecimal() and (
                text[at - 1].isdecimal() or text[at - 1] in dropped):
            run_start = at
            while run_start > 0 and text[run_start - 1] in dropped:
                run_start -= 1
            if run_start > 0 and text[run_start - 1].isdecimal():
                return []
    return [at - shift for shift, at in enumerate(offsets)]


def is_arabic_word(norm_token: str) -> bool:
    """Whether a normalised token starts with an Arabic letter."""
    return bool(norm_token) and "\u0621" <= norm_token[0] <= "\u064a"


# Proclitics, longest first. Those that carry the article also yield "ال"+stem, so that a
# query written with the article ("الحكومه") matches "والحكومة", "بالحكومة", "للحكومة".
_ARTICLE_PROCLITICS = ("وبال", "وكال", "فبال", "فكال", "وال", "فال", "بال", "كال", "ال",
                       "ولل", "فلل", "لل")
_PLAIN_PROCLITICS = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")
_MIN_STEM = 2


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
    if not norm_token or norm_token[0] not in "وفبلكا":
        return tuple(forms)
    for prefix in _ARTICLE_PROCLITICS:
        if norm_token.startswith(prefix) and len(norm_token) - len(prefix) >= _MIN_STEM:
            stem = norm_token[len(prefix):]
            forms.append(stem)
            forms.append("ال" + stem)
    for prefix in _PLAIN_PROCLITICS:
        if norm_token.startswith(prefix) and len(norm_token) - len(prefix) >= _MIN_STEM:
            forms.append(norm_token[len(prefix):])
    if forms[1:] and forms[1] == norm_token[:-1]:  # "واجتماعا": also the bare "اجتماع"
        forms.extend(form[:-1] for form in forms[2:] if len(form) >= 4 and form.endswith("ا"))
    return tuple(dict.fromkeys(forms))


_ANY_PROCLITIC = ("", *_ARTICLE_PROCLITICS, *_PLAIN_PROCLITICS)


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
    candidates = {prefix + base + alif for prefix in _ANY_PROCLITIC for base in bases
                  for alif in ("", "ا")}
    return frozenset(form for form in candidates if form and norm_word in read(form))


# Light stemming for the `~word` operator (docs/rules.md). Arabic: one attached pronoun, then
# one plural / dual / feminine / relative (nisba) ending, leaving at least three letters.
_AR_PRONOUNS = ("هما", "كما", "كم", "هم", "هن", "ها", "نا")
_AR_ENDINGS = ("يات", "يون", "يين", "تان", "تين", "ات", "ون", "ين", "يه", "تا", "تي", "ي", "ه")
_AR_MIN_STEM = 3


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


def _arabic_stem(word: str) -> str:
    for pronoun in _AR_PRONOUNS:
        if word.endswith(pronoun) and len(word) - len(pronoun) >= _AR_MIN_STEM:
            word = word[: -len(pronoun)]
            # A taa marbuta is written ت before a pronoun: "لجنتها" is "لجنه" + "ها".
            if word.endswith("ت") and not word.endswith("ات"):
                word = word[:-1] + "ه"
            break
    for ending in _AR_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _AR_MIN_STEM:
            return word[: -len(ending)]
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
