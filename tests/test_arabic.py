"""Arabic normalisation, tokenisation, proclitics and light stemming (monitor.arabic)."""

import pytest

from monitor.arabic import (
    _TABLE,
    Words,
    forget_pieces,
    has_arabic,
    is_arabic_word,
    light_stem,
    normalize,
    normalized_words,
    proclitic_forms,
    strip_proclitics,
    tokenize,
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


# --- the fast paths used by watch rules: same words, same offsets as tokenize --------------

TRICKY_TEXTS = [
    "عقدت اللجنة الوزارية للحكومة الإلكترونية اجتماعها في ٢٠٢٤م.",
    "وَعُقِدَ الاجتمـــاعُ، في «الرياض» يوم ١٥ مايو ٢٠٢٤م — بمشاركة هيئة الحكومة الرقمية.",
    "الحُكُومَةُ الإِلِكْتْرُونِيَّةُ ١٤٤٦هـ",  # tashkeel, and a tatweel after digits
    "٢َ٤ عددٌ",  # a mark between two digits: two numbers, as tokenize reads them
    "نظام\u200cإلكتروني و\u200bمنصة",  # zero-width non-joiner (inside a word) and space
    "The GCC e-Government Committee's 5th meeting in İstanbul",  # İ lowercases to two letters
    "Café résumé Ⅻ² — naïve",  # letters outside Arabic and a-z
    # paragraphs that meet in one piece, pieces of no word and of two words
    "دول المجلس.\nوناقش الاجتماع — ٢٠٢٤م –\n\nالخطة.\n(٢)\nواعتمدت اللجنة",
    # other whitespace inside a piece, digits parted by a mark, glued words, a zero-width space
    "عقدت\xa0اللجنة\t(١٢)، e-Government؛\u200bمنصة (٢َ٤) «الرياض»\u200b",
    "",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_words_match_tokenize_and_place_words_like_it(text: str) -> None:
    forget_pieces()  # its pieces are learnt here, then read from the cache
    words, tokens = Words(text), tokenize(text)
    assert Words(text).words == words.words
    assert words.normalized == normalize(text) == text.translate(_TABLE).lower()
    assert normalized_words(text) == words.words == [token.norm for token in tokens]
    assert [words.span(index) for index in range(len(words))] == [
        (token.start, token.end) for token in tokens]


def test_words_place_words_in_text_with_tashkeel() -> None:
    text = "أكّدَ مُحافِظُ هيئةِ الحكومةِ الرقميّةِ"
    words = Words(text)
    assert words.words == ["اكد", "محافظ", "هييه", "الحكومه", "الرقميه"]
    start, end = words.span(3)
    assert text[start:end] == "الحكومةِ"


@pytest.mark.parametrize("word", ["حكومه", "الحكومه", "لجنه", "اجتماع", "دول", "مجلس", "gcc"])
def test_proclitic_forms_is_the_inverse_of_strip_proclitics(word: str) -> None:
    forms = proclitic_forms(word)
    assert word in forms
    assert all(word in strip_proclitics(form) for form in forms)
    text = "والحكومة بالحكومة للحكومة حكومة الحكومة للجنة واللجنة اجتماعاً ودول بمجلس gcc"
    for token in {normalize(w) for w in text.split()}:
        assert (token in forms) == (word in strip_proclitics(token))


def test_words_place_words_after_the_piece_caches_are_cleared() -> None:
    from monitor import arabic

    text = "عقدت اللجنة اجتماعها (الثاني) في الرياض، ٢٠٢٤م."
    words = Words(text)
    arabic._learn_pieces([f"p{i}" for i in range(arabic._MAX_PIECES + 1)])  # clears them first
    tokens = tokenize(text)
    assert [words.span(i) for i in range(len(words))] == [(t.start, t.end) for t in tokens]


EXCERPT_TEXTS = [*TRICKY_TEXTS,
                 "  عقدت  اللجنة،الوزارية (اجتماعها) في ٢٠٢٤م.  ",  # double spaces, glued words
                 "أكّدَ مُحافِظُ هيئةِ الحكومةِ الرقميّةِ أنّ الخدماتِ ١٠٠٪ رقميّةٌ"]


def _whole_pieces(text: str, start: int, end: int) -> str:
    """The original text from the start of the space-separated piece holding `start` to the end
    of the one holding `end`: what an excerpt of the words there must be."""
    stop = text.find(" ", end)
    return text[text.rfind(" ", 0, start) + 1:len(text) if stop < 0 else stop]


@pytest.mark.parametrize("text", EXCERPT_TEXTS)
def test_excerpts_are_the_whole_pieces_around_the_words(text: str) -> None:
    tokens = tokenize(text)
    words = Words(text)
    assert len(words) == len(tokens)
    windows = [(i, j) for i in range(len(words)) for j in range(i, min(i + 3, len(words)))]
    expected = [_whole_pieces(text, tokens[i].start, tokens[j].end) for i, j in windows]
    assert words.excerpts(windows) == expected
    # One window at a time, and windows that overlap and come in any order.
    assert [words.excerpts([window])[0] for window in windows] == expected  # type: ignore[index]
    assert Words(text).excerpts(windows[::-1]) == expected[::-1]


def test_words_match_tokenize_on_real_texts_with_an_empty_cache() -> None:
    # New pieces are learnt in two ways (one word amid punctuation, or through the tokeniser):
    # both must give tokenize's words, on the labelled rule texts and the saved real pages.
    from pathlib import Path

    import yaml

    from monitor import arabic

    here = Path(__file__).parent
    cases = yaml.safe_load((here / "rules_eval" / "gcc_egov.yaml").read_text(encoding="utf-8"))
    texts = [case["title"] + "\n" + case["body"] for case in cases["cases"]]
    texts += [path.read_text(encoding="utf-8") for path in (here / "pages" / "real").glob("*.txt")]
    arabic._PIECE_WORDS.clear()
    for text in texts:
        assert Words(text).words == [token.norm for token in tokenize(text)]


def _fuzz_texts(count: int) -> list[str]:
    """Random texts of what Arabic and other news carry: letters in every form the table
    folds, marks, tatweel, digits of three kinds, punctuation, every kind of space."""
    import random

    from monitor.arabic import _TABLE as table

    alphabet = ([chr(code) for code in table] + [chr(code) for code in range(0x0600, 0x0700)]
                + list("abcXYZ İÉé _-–—.,،؛«»()\n\t\xa0\u200b\ufeff ١٢ 12 ۴ ²Ⅻ") + ["\U0001F600"])
    rng = random.Random(20261123)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(count)]


def test_words_read_in_c_are_those_of_the_cache_of_pieces() -> None:
    from pathlib import Path

    import yaml

    from monitor import arabic

    if arabic.NATIVE is None:
        pytest.skip("monitor._words is not built (no C compiler, or RAQIB_PURE_PYTHON)")
    here = Path(__file__).parent
    cases = yaml.safe_load((here / "rules_eval" / "gcc_egov.yaml").read_text(encoding="utf-8"))
    texts = [*TRICKY_TEXTS, *EXCERPT_TEXTS, *_fuzz_texts(3000)]
    texts += [case["title"] + "\n" + case["body"] for case in cases["cases"]]
    texts += [path.read_text(encoding="utf-8") for path in (here / "pages" / "real").glob("*.txt")]
    for text in texts:
        _, words, _ = arabic._cached_words(text)
        native_words, distinct, spans = arabic.NATIVE.read_words(text)
        assert native_words == words, text
        assert distinct == list(dict.fromkeys(words))
        tokens = tokenize(text)
        assert words == [token.norm for token in tokens], text
        assert list(memoryview(spans).cast("i")) == [at for t in tokens for at in (t.start, t.end)]
        assert arabic.NATIVE.even_spaces(text) == " ".join(text.split())
    again = arabic.NATIVE.read_words(texts[-1])[0]  # a word read twice is one object
    assert all(a is b for a, b in zip(again, arabic.NATIVE.read_words(texts[-1])[0], strict=True))
