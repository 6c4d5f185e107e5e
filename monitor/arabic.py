"""Arabic-aware text normalisation, tokenisation and light stemming for matching.

Pure functions, no state beyond caches: the same normalisation is applied to watch-rule
queries and to article texts, and the near-duplicate module reuses `normalize`/`tokenize`.
See docs/rules.md for the rules with examples.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "Token",
    "has_arabic",
    "is_arabic_word",
    "light_stem",
    "normalize",
    "normalized_words",
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


def normalize(text: str) -> str:
    """The matching form of `text`: Arabic letters unified, marks dropped, digits ASCII, lowercase.

    Character-level only (no token is merged or split), so token boundaries are kept.
    """
    return text.translate(_TABLE).lower()


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
    if "\u0130" in text:  # "İ".lower() grows a combining dot that would split the word
        return [token.norm for token in tokenize(text)]
    return _WORD.findall(normalize(text))


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
