"""The watch-rule query language, matching, explanations and RuleSet (monitor.rules)."""

import pytest

from monitor.arabic import light_stem, normalized_words, strip_proclitics
from monitor.rules import (
    IndexedArticle,
    QuerySyntaxError,
    RuleMatch,
    RuleSet,
    WatchRule,
    Word,
    _heads,
    _literal,
    compile_query,
)


def matches(query: str, title: str = "", body: str = "", fields=("title", "body")) -> bool:
    rules = RuleSet([WatchRule("r", "R", query, fields=fields)])
    return bool(rules.evaluate(title, body))


# --- syntax errors: refused with a position ------------------------------------------------

@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("اللجنة AND", 10, "after"),
        ("OR اللجنة", 0, "before"),
        ("(اللجنة OR الحكومة", 0, "never closed"),
        ("اللجنة) الحكومة", 6, "unbalanced"),
        ('"اللجنة الوزارية', 0, "unterminated"),
        ('""', 0, "empty phrase"),
        ("()", 0, "empty parentheses"),
        ("اللجنة NEAR الحكومة", 7, "distance"),
        ("اللجنة NEAR/0 الحكومة", 7, "distance"),
        ("اللجنة NEAR/5 (الحكومة AND الرقمية)", 14, "NEAR/5 joins"),
        ("اللجنة NEAR/5 NOT الحكومة", 14, "cannot take a NOT"),
        ("حك*", 2, "wildcard"),
        ("*حكومة", 0, "'*'"),
        ("حك*ومة", 2, "'*'"),
        ("~اجتماع*", 0, "both"),
        ("NOT رياضة", 0, "absent"),
        ("NOT رياضة AND NOT نفط", 0, "absent"),
        ("اجتماع OR NOT رياضة", 0, "absent"),
        ("اجتماع AND ،", 11, "no letters"),
    ],
)
def test_syntax_errors_carry_the_position(query: str, position: int, words: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query(query)
    assert caught.value.position == position
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_watch_rule_compiles_on_construction() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        WatchRule("bad", "Bad", '"مجلس التعاون" AND (اللجنة')
    assert caught.value.position == 19
    with pytest.raises(ValueError, match="unknown field"):
        WatchRule("r", "R", "اللجنة", fields=("summary",))


def test_lowercase_operators_are_words() -> None:
    assert matches("gcc and committee", body="GCC and the committee")
    assert not matches("gcc and committee", body="GCC committee")


# --- boolean logic ------------------------------------------------------------------------

BODY = ("عقدت اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون اجتماعها السابع عشر "
        "في الرياض يوم ١٢ مايو ٢٠٢٤م.")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("اللجنة الحكومة", True),  # adjacent words: AND
        ("اللجنة AND مسقط", False),
        ("مسقط OR الرياض", True),
        ("اللجنة NOT الرياض", False),
        ("اللجنة NOT مسقط", True),
        ("اللجنة AND NOT (مسقط OR الدوحة)", True),
        ("(مسقط OR الدوحة) OR (الرياض AND 2024)", True),
        ("الرياض ١٢", True),  # digits either way
        ("الرياض 13", False),
        ('"الحكومة الإلكترونية"', True),
        ('"الإلكترونية الحكومة"', False),  # phrase order matters
        ('"اللجنة الوزارية" "مجلس التعاون"', True),
        ("مجلس-التعاون", True),  # a hyphenated word is a phrase
    ],
)
def test_boolean_logic(query: str, expected: bool) -> None:
    assert matches(query, body=BODY) is expected


def test_precedence_and_binds_tighter_than_or() -> None:
    # مسقط OR (الرياض AND الدوحة): neither side holds in BODY
    assert not matches("مسقط OR الرياض AND الدوحة", body=BODY)
    assert matches("(مسقط OR الرياض) AND اللجنة", body=BODY)


# --- Arabic normalisation and proclitics, in rules and texts alike ------------------------

@pytest.mark.parametrize(
    "query",
    ["الحكومة الالكترونية", "الحُكومة الإلكترونيّة", "الحكومه الإلكترونيه", "حكومة", "الإلكترونيـة",
     '"للحكومة الإلكترونية"', "مجلس التعاون", "دول", "لجنة", "اللجنة"],
)
def test_normalisation_applies_to_queries_and_texts(query: str) -> None:
    assert matches(query, body=BODY)


@pytest.mark.parametrize(
    "text",
    ["والحكومة", "بالحكومة", "للحكومة", "فالحكومة", "كالحكومة", "وبالحكومة", "الحكومة",
     "حكومة", "وللحكومة"],
)
def test_proclitic_forms_match_the_bare_word(text: str) -> None:
    assert matches("حكومة", body=f"قال إن {text} ماضية")


def test_query_with_article_matches_article_after_proclitics_but_not_the_bare_word() -> None:
    assert matches("الحكومة", body="للحكومة")
    assert matches("الحكومة", body="وبالحكومة")
    assert not matches("الحكومة", body="حكومة قطر")


def test_exact_word_does_not_match_plural_without_stem_or_wildcard() -> None:
    assert not matches("اجتماع", body="الاجتماعات الدورية")
    assert matches("اجتماع*", body="الاجتماعات الدورية")
    assert matches("~اجتماع", body="الاجتماعات الدورية")
    assert matches("~اجتماع", body="خلال اجتماعاتها")
    assert matches("~ورشة", body="ورشتا عمل")
    assert matches("~خليجي", body="الدول الخليجية")
    assert matches("~خليجي", body="المسؤولين الخليجيين")


def test_english_is_case_insensitive_with_stems_and_wildcards() -> None:
    assert matches('"e-government committee"', title="GCC E-Government Committee meets")
    assert matches("~meeting", body="The committee held two meetings")
    assert matches("~ministry", body="ministries of the six states")
    assert matches("digit*", body="Digital Government Authority")
    assert not matches("meeting", body="The committee held two meetings")


# --- NEAR ---------------------------------------------------------------------------------

def test_near_counts_words_in_either_order_and_accepts_or_groups() -> None:
    assert matches("اللجنة NEAR/1 الوزارية", body=BODY)
    assert matches("الوزارية NEAR/1 اللجنة", body=BODY)
    assert matches("اللجنة NEAR/3 الإلكترونية", body=BODY)
    assert not matches("اللجنة NEAR/2 الإلكترونية", body=BODY)
    assert matches('(الوزارية OR التنفيذية) NEAR/4 ("الحكومة الرقمية" OR الإلكترونية)', body=BODY)
    assert matches("اللجنة NEAR/3 الحكومة NEAR/4 التعاون", body=BODY)


def test_near_and_phrases_do_not_cross_from_title_into_body() -> None:
    assert not matches('"اللجنة الوزارية"', title="اللجنة", body="الوزارية")
    assert not matches("اللجنة NEAR/2 الوزارية", title="اللجنة", body="الوزارية")
    assert matches("اللجنة الوزارية", title="اللجنة", body="الوزارية")


def test_fields_limit_where_a_rule_looks() -> None:
    assert matches("اللجنة", title="اللجنة", fields=("title",))
    assert not matches("اللجنة", body="اللجنة", fields=("title",))
    assert not matches("اللجنة الوزارية", title="اللجنة", body="الوزارية", fields=("body",))


# --- RuleSet: enabled, languages, explanations -------------------------------------------

def make_rules() -> RuleSet:
    return RuleSet([
        WatchRule("egov", "E-gov", '"الحكومة الإلكترونية" NOT رياضة', languages=("ar",)),
        WatchRule("any", "Any", "مجلس"),
        WatchRule("off", "Off", "مجلس", enabled=False),
        WatchRule("en", "English", "committee", languages=("en",)),
    ])


def test_evaluate_skips_disabled_rules_and_filters_by_language() -> None:
    rules = make_rules()
    assert [m.rule_id for m in rules.evaluate("", BODY, "ar")] == ["egov", "any"]
    assert [m.rule_id for m in rules.evaluate("", BODY, "ar-SA")] == ["egov", "any"]
    assert [m.rule_id for m in rules.evaluate("", BODY, "en")] == ["any"]
    assert [m.rule_id for m in rules.evaluate("", BODY + " committee", None)] == [
        "egov", "any", "en"]


def test_match_explains_clauses_and_original_snippets() -> None:
    title = "اجتماع اللجنة الوزاريّة للحكومة الإلكترونيّة"
    rules = RuleSet([WatchRule("egov", "E-gov", '"الحكومة الالكترونية" AND (مسقط OR الرياض)')])
    [match] = rules.evaluate(title, BODY, "ar")
    assert match.clauses == ['"الحكومة الالكترونية"', "الرياض"]
    assert match.snippets[0] == title  # original spelling, with its shadda
    assert "الرياض يوم ١٢ مايو ٢٠٢٤م" in match.snippets[1]  # original digits
    assert match.snippets[1].startswith("…") or match.snippets[1].startswith("عقدت")
    assert match.to_dict() == {"rule_id": "egov", "clauses": match.clauses,
                               "snippets": match.snippets}
    assert isinstance(match, RuleMatch)


def test_snippets_are_merged_and_bounded() -> None:
    body = " ".join(["مجلس التعاون"] * 200)
    [match] = RuleSet([WatchRule("r", "R", "مجلس")]).evaluate("", body)
    assert 1 <= len(match.snippets) <= 5
    assert all(len(snippet) < len(body) for snippet in match.snippets)


def test_explain_gives_every_rules_verdict_and_why() -> None:
    verdicts = {v.rule_id: v for v in make_rules().explain("", BODY + " في بطولة رياضة", "ar")}
    assert set(verdicts) == {"egov", "any", "off", "en"}
    assert not verdicts["egov"].matched
    assert "excluded by NOT رياضة" in verdicts["egov"].reason
    assert any("رياضة" in s for s in verdicts["egov"].snippets)
    assert verdicts["any"].matched and verdicts["any"].clauses == ["مجلس"]
    assert verdicts["off"].reason == "disabled"
    assert "language" in verdicts["en"].reason
    missing = RuleSet([WatchRule("m", "M", "اللجنة AND مسقط")]).explain("", BODY)[0]
    assert missing.reason == "missing: مسقط"
    assert missing.to_dict()["matched"] is False


def test_rule_set_refuses_duplicate_ids_and_accepts_lists() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RuleSet([WatchRule("a", "A", "x"), WatchRule("a", "B", "y")])
    rule = WatchRule("a", "A", "x", languages=["AR"], fields=["title"])  # as YAML gives them
    assert rule.languages == ("ar",) and rule.fields == ("title",)
    assert RuleSet([rule]).get("a") is rule and len(RuleSet([rule])) == 1


# --- the fast path: screens and the lexicon never change a verdict -------------------------

def _eval_texts() -> list[tuple[str, str, str]]:
    from pathlib import Path

    import yaml

    cases = yaml.safe_load((Path(__file__).parent / "rules_eval" / "gcc_egov.yaml")
                           .read_text(encoding="utf-8"))["cases"]
    return [(case["title"], case["body"], case["language"]) for case in cases]


SCREEN_QUERIES = [
    '"~حكومة ~إلكترونية" NEAR/6 (~لجنة OR اجتماع*)',
    "~حج OR ~بيت OR ~وزارة",  # short stems and a restored taa marbuta (بيتها → بيه)
    "(اجتماع* OR ~ministry) AND NOT رياضة",
    '"دول مجلس التعاون" OR ~خليجي',
    "الاجتماع NEAR/3 (الحكومة OR ~committee)",
]


def test_screens_and_lexicon_agree_with_the_unscreened_engine() -> None:
    rules = RuleSet([WatchRule(f"r{i}", "R", q) for i, q in enumerate(SCREEN_QUERIES)])
    for title, body, _language in _eval_texts():
        article = rules.index(title, body)
        plain = IndexedArticle(title, body)  # no lexicon, no screen
        for rule in rules:
            expected = plain.matches(rule.compiled.root, rule.fields)
            assert article.matches(rule.compiled.root, rule.fields) is expected
            if expected:
                assert article.screened(rule.screen, rule.fields), (rule.query, title)


def test_fragment_heads_cover_every_matching_word() -> None:
    # Every article word a stem or wildcard matches provides its literal: a screen is sound.
    words = {w for title, body, _ in _eval_texts() for w in normalized_words(title + " " + body)}
    words |= {"بيتها", "لبيتها", "ministries", "والخليجيين", "للاجتماعات"}
    for norm in sorted(words)[:3000]:
        for reading in strip_proclitics(norm):
            for word in (Word("stem", light_stem(reading)), Word("prefix", reading[:4])):
                literal = _literal(word)
                if literal is not None and len(word.key) >= 3:
                    assert literal in _heads(norm), (norm, word)


def test_the_word_table_reads_article_words_as_a_word_by_word_check_does() -> None:
    # The lexicon looks a word's heads up instead of testing every rule word: same answer.
    from pathlib import Path

    import yaml

    from monitor.matching import _reads_as

    shipped_file = Path(__file__).parent.parent / "config" / "rules.yaml"
    shipped = yaml.safe_load(shipped_file.read_text(encoding="utf-8"))["rules"]
    queries = SCREEN_QUERIES + [entry["query"] for entry in shipped]
    lexicon = RuleSet([WatchRule(f"r{i}", "R", q) for i, q in enumerate(queries)]).lexicon
    words = {w for title, body, _ in _eval_texts() for w in normalized_words(title + " " + body)}
    lexicon.useful(sorted(words))  # learnt together, as an article's new words are
    for norm in sorted(words):
        expected = {word for word in lexicon.words if _reads_as(word, norm)}
        assert set(lexicon.readings.get(norm, ())) == expected, norm


def test_rules_on_a_text_with_no_rule_words_are_screened_out() -> None:
    rules = RuleSet([WatchRule("egov", "E", '"~حكومة ~إلكترونية" NEAR/6 ~لجنة'),
                     WatchRule("hajj", "H", "~حج OR ~عمرة OR Hajj")])
    article = rules.index("أمطار غزيرة على الرياض", "توقع المركز الوطني للأرصاد هطول أمطار.")
    assert [article.screened(rule.screen, rule.fields) for rule in rules] == [False, False]


def test_a_clause_from_outside_the_rule_set_is_matched_on_its_own_words() -> None:
    # The rule set's word table does not know "الرياض": the article must still find it.
    article = RuleSet([WatchRule("m", "M", "مجلس")]).index("", BODY)
    assert article.matches(compile_query('"في الرياض" OR مسقط').root, ("body",))
    assert article.screened(RuleSet([WatchRule("m", "M", "مجلس")]).rules[0].screen, ("body",))


def test_span_arithmetic_in_c_is_that_of_the_python_finders() -> None:
    import random

    from monitor import matching

    native = matching.NATIVE
    if native is None:
        pytest.skip("monitor._words is not built (no C compiler, or RAQIB_PURE_PYTHON)")
    rng = random.Random(7)

    def positions() -> list[int]:
        return sorted(rng.sample(range(300), rng.randint(0, 25)))

    def spans() -> list[tuple[int, int]]:
        starts = positions()
        return sorted((at, at + rng.choice((0, 0, 1, 2, 5))) for at in starts)

    for _ in range(2000):
        lists = [positions() for _ in range(rng.randint(1, 4))]
        assert native.points(lists) == matching._py_points(lists)
        starts, following, last = positions(), [positions() for _ in range(2)], 2
        assert (native.phrase_spans(starts, following, last)
                == matching._py_phrase_spans(starts, following, last))
        span_lists = [spans() for _ in range(rng.randint(1, 3))]
        assert native.merge_spans(span_lists) == matching._py_merge_spans(span_lists)
        left, right, n = spans(), spans(), rng.randint(1, 12)
        if right:
            assert native.near_spans(left, right, n) == matching._py_near_spans(left, right, n)
