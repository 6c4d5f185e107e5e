"""Arabic normalisation, tokenisation, proclitics and light stemming (monitor.arabic)."""

import pytest

from monitor.arabic import (
    has_arabic,
    index_terms,
    is_arabic_word,
    light_stem,
    normalize,
    normalize_with_origin,
    normalized_words,
    strip_proclitics,
    tokenize,
    word_locator,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("الحُكُومَةُ الإِلِكْتْرُونِيَّةُ", "الحكومه الالكترونيه"),  # tashkeel
        ("الحكومـــــة", "الحكومه"),  # tatweel
        ("أمانة إدارة آفاق ٱلمجلس", "امانه اداره افاق المجلس"),  # hamza-on-alef forms, wasla
        ("مستشفى على", "مستشفي علي"),  # alef maqsura
        ("مؤتمر هيئة رئيس", "موتمر هييه رييس"),  # hamza on waw / yeh, taa marbuta
        ("٢٠٢٤ و۱۴۴۶", "2024 و1446"),  # Arabic-Indic and Persian digits
        ("هل انعقد؟ نعم، «الاجتماع»؛", 'هل انعقد? نعم, "الاجتماع";'),  # Arabic punctuation
        ("GCC eGovernment Forum", "gcc egovernment forum"),  # Latin lowercased
        ("نظام\u200cإلكتروني\u200f", "نظامالكتروني"),  # invisible joiners dropped
        ("منصة\u200bرقمية\u202bنص", "منصه رقميه نص"),  # zero-width space, bidi marks: spaces
        ("İstanbul", "istanbul"),  # not "i̇stanbul" (i and a combining dot)
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_idempotent() -> None:
    text = "اجتمعت اللّجنة الوزاريّة للحكومة الإلكترونيّة بدول مجلس التّعاون ٢٠٢٤م"
    assert normalize(normalize(text)) == normalize(text)


def test_tokenize_offsets_point_into_original_text() -> None:
    text = "وَعُقِدَ الاجتمـــاعُ، في «الرياض» يوم ١٥ مايو ٢٠٢٤م."
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == [
        "وعقد", "الاجتماع", "في", "الرياض", "يوم", "15", "مايو", "2024", "م",
    ]
    assert [text[t.start:t.end] for t in tokens] == [
        "وَعُقِدَ", "الاجتمـــاعُ", "في", "الرياض", "يوم", "١٥", "مايو", "٢٠٢٤", "م",
    ]


def test_tokenize_splits_on_latin_punctuation_and_keeps_case_offsets() -> None:
    text = "The GCC e-Government Committee's 5th meeting"
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == [
        "the", "gcc", "e", "government", "committee", "s", "5", "th", "meeting",
    ]
    assert text[tokens[3].start:tokens[3].end] == "Government"


def test_tokenize_ignores_stray_marks_and_empty_text() -> None:
    assert tokenize("") == []
    assert tokenize(" \u064e ، . ") == []


def test_a_mark_between_digits_is_dropped_as_anywhere_else() -> None:
    text = "٢َ٤ عددٌ"
    assert [(t.norm, text[t.start:t.end]) for t in tokenize(text)] == [("24", "٢َ٤"), ("عدد", "عددٌ")]


@pytest.mark.parametrize(
    ("token", "reading"),
    [
        ("والحكومه", "حكومه"),
        ("والحكومه", "الحكومه"),
        ("بالحكومه", "حكومه"),
        ("للحكومه", "الحكومه"),
        ("للجنه", "لجنه"),  # li- + lajna, no article
        ("وللجنه", "لجنه"),
        ("فالمؤتمر", "المؤتمر"),
        ("كالمنتدي", "منتدي"),
        ("وبدول", "دول"),
        ("لدول", "دول"),
        ("وبالتعاون", "تعاون"),
    ],
)
def test_strip_proclitics_yields_bare_and_definite_readings(token: str, reading: str) -> None:
    forms = strip_proclitics(normalize(token))
    assert forms[0] == normalize(token)
    assert normalize(reading) in forms


def test_strip_proclitics_leaves_short_latin_and_digit_tokens_alone() -> None:
    assert strip_proclitics("ول") == ("ول",)  # nothing left after the prefix
    assert strip_proclitics("bahrain") == ("bahrain",)
    assert strip_proclitics("2024") == ("2024",)
    assert strip_proclitics("مجلس") == ("مجلس",)


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (["اجتماع", "اجتماعات", "اجتماعها", "اجتماعاتها", "اجتماعهم"], "اجتماع"),
        (["ورشه", "ورشات", "ورشتين", "ورشتي", "ورشتا", "ورش"], "ورش"),
        (["خليجي", "خليجيه", "خليجيون", "خليجيين"], "خليج"),
        (["لجنه", "لجنتها", "لجنتين", "لجنتان"], "لجن"),
        (["مؤتمر", "مؤتمرات", "مؤتمرين"], "موتمر"),
        (["meeting", "meetings", "meets"], "meet"),
        (["committee", "committees"], "committee"),
        (["ministry", "ministries"], "ministry"),
        (["conference", "conferences"], "conference"),
    ],
)
def test_light_stem_conflates_plural_feminine_relative_and_pronoun_forms(
    forms: list[str], stem: str
) -> None:
    assert {light_stem(normalize(form)) for form in forms} == {stem}


def test_light_stem_keeps_three_letters() -> None:
    assert light_stem("دول") == "دول"
    assert light_stem("بيت") == "بيت"
    assert light_stem("news") == "news"
    assert light_stem("2024") == "2024"


def test_script_checks() -> None:
    assert is_arabic_word("حكومه")
    assert not is_arabic_word("gcc")
    assert not is_arabic_word("")
    assert has_arabic("GCC اللجنة")
    assert not has_arabic("GCC committee 2024")


def test_tanwin_alif_reads_as_the_bare_word() -> None:
    assert "اجتماع" in strip_proclitics(normalize("اجتماعاً"))
    assert "اجتماع" in strip_proclitics(normalize("واجتماعاً"))
    assert "صحفي" in strip_proclitics(normalize("صحفياً"))


# --- one definition of a word: tokenize, normalized_words and word_locator agree ----------

TRICKY_TEXTS = [
    "عقدت اللجنة الوزارية للحكومة الإلكترونية اجتماعها في ٢٠٢٤م.",
    "وَعُقِدَ الاجتمـــاعُ، في «الرياض» يوم ١٥ مايو ٢٠٢٤م — بمشاركة هيئة الحكومة الرقمية.",
    "الحُكُومَةُ الإِلِكْتْرُونِيَّةُ ١٤٤٦هـ",  # tashkeel, and a tatweel after digits
    "٢َ٤ عددٌ",  # a mark between two digits
    "نظام\u200cإلكتروني و\u200bمنصة",  # zero-width non-joiner (inside a word) and space
    "The GCC e-Government Committee's 5th meeting in İstanbul",  # İ lowercases to two letters
    "Café résumé Ⅻ² — naïve ΣΟΦΙΑ 𝐀𝐁𝐂 \U0001F600 e\u0301",  # other scripts, astral, combining
    # paragraphs that meet in one piece, pieces of no word and of two words
    "دول المجلس.\nوناقش الاجتماع — ٢٠٢٤م –\n\nالخطة.\n(٢)\nواعتمدت اللجنة",
    # other whitespace inside a piece, digits parted by a mark, glued words, a zero-width space
    "عقدت\xa0اللجنة\t(١٢)، e-Government؛\u200bمنصة (٢َ٤) «الرياض»\u200b",
    "  عقدت  اللجنة،الوزارية (اجتماعها) في ٢٠٢٤م.  ",  # double spaces, glued words
    "أكّدَ مُحافِظُ هيئةِ الحكومةِ الرقميّةِ أنّ الخدماتِ ١٠٠٪ رقميّةٌ",
    "َ اجتماعَ ٢َ كلمةَ٣ ٤ًكلمة",  # marks at a word's edges, by digits
    "",
]


def _fuzz_texts(count: int) -> list[str]:
    """Random texts of what Arabic and other news carry: letters in every form normalising
    folds, marks, tatweel, digits of three kinds, punctuation, every kind of space."""
    import random

    alphabet = ([chr(code) for code in range(0x0600, 0x0700)]
                + list("abcXYZ İÉé _-–—.,،؛«»()\n\t\xa0\u200b\u200c\ufeff\u202b ١٢ 12 ۴ ²Ⅻ")
                + ["\U0001F600", "\u0301", "Σ"])
    rng = random.Random(20261123)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(count)]


def _real_texts() -> list[str]:
    from pathlib import Path

    import yaml

    here = Path(__file__).parent
    cases = yaml.safe_load((here / "rules_eval" / "gcc_egov.yaml").read_text(encoding="utf-8"))
    texts = [case["title"] + "\n" + case["body"] for case in cases["cases"]]
    return texts + [path.read_text(encoding="utf-8")
                    for path in (here / "pages" / "real").glob("*.expected.txt")]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_words_are_runs_of_letters_or_digits_of_the_normalised_text(text: str) -> None:
    import re

    tokens = tokenize(text)
    assert normalized_words(text) == [t.norm for t in tokens]
    assert [t.norm for t in tokens] == re.findall(r"[^\W\d_]+|\d+", normalize(text))
    for token in tokens:  # each token's place in the original text holds the word
        assert re.findall(r"[^\W\d_]+|\d+", normalize(text[token.start:token.end])) == [token.norm]


def test_tokenize_normalized_words_and_the_locator_agree_everywhere() -> None:
    from monitor import arabic

    for text in [*TRICKY_TEXTS, *_fuzz_texts(2000), *_real_texts()]:
        tokens = tokenize(text)
        assert normalized_words(text) == [t.norm for t in tokens], text
        place = word_locator(text)
        assert [place(at) for at in range(len(tokens))[::-1]] == [  # in any order
            (t.start, t.end) for t in tokens[::-1]], text
    arabic._PIECES.clear()  # and the same once the cache of pieces was emptied
    assert all(normalized_words(text) == [t.norm for t in tokenize(text)]
               for text in TRICKY_TEXTS)


def test_normalize_with_origin_maps_each_character_to_its_source() -> None:
    for text in [*TRICKY_TEXTS, *_fuzz_texts(300)]:
        folded, origin = normalize_with_origin(text)
        assert folded == normalize(text) and len(origin) == len(folded)
        assert all(normalize(text[at]) == folded[k] for k, at in enumerate(origin)), text


def test_index_terms_hold_every_reading_a_query_word_can_match() -> None:
    text = "وبالحكومة الإلكترونيةُ للجنة اجتماعاً ٢٠٢٤م GCC"
    terms = index_terms(text)
    assert terms == sorted(set(terms))
    for word in normalized_words(text):
        assert set(strip_proclitics(word)) <= set(terms)
    assert {"حكومه", "الحكومه", "لجنه", "اجتماع", "2024", "gcc"} <= set(terms)
    assert all(" " not in term for term in terms)


def test_words_longer_than_any_word_are_read_only_as_themselves() -> None:
    from monitor.arabic import MAX_WORD

    long = "وال" + "ب" * MAX_WORD
    assert strip_proclitics(long) == (long,)
    assert light_stem(long + "ات") == long + "ات"
