"""The watch-rule query language, matching, explanations and RuleSet (monitor.rules)."""

import pytest

from monitor.arabic import light_stem, normalized_words, strip_proclitics
from monitor.rules import (
    IndexedArticle,
    Lexicon,
    Near,
    QuerySyntaxError,
    RuleMatch,
    RuleSet,
    WatchRule,
    Word,
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


def test_lowercase_operators_are_words_with_a_warning() -> None:
    assert matches("gcc and committee", body="GCC and the committee")
    assert not matches("gcc and committee", body="GCC committee")
    assert compile_query("gcc and committee").warnings == [
        "'and' (at position 4) is read as a word: operators are upper case (AND)"]
    assert len(compile_query('a Or b not c near/5 d "x or y"').warnings) == 3  # not in a phrase
    assert compile_query("near east AND committee").warnings == []  # a word, not an operator


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


def test_a_failed_rule_names_the_clauses_that_failed_shortest_first() -> None:
    query = ('("مجلس التعاون" OR "دول المجلس" OR خليجي*) AND (~لجنة NEAR/3 "الحكومة الرقمية" '
             'OR ~مؤتمر NEAR/6 "~حكومة ~إلكترونية" NOT (صحفي OR صحافي) OR ورشة OR منتدى)')
    text = "أكد الوزير في مؤتمر صحفي أن الحكومة الإلكترونية ماضية، واجتمعت لجنة المشتريات."
    [verdict] = RuleSet([WatchRule("r", "R", query)]).explain("", text)
    assert verdict.reasons == [
        "missing: ورشة", "missing: منتدى",
        'missing: "الحكومة الرقمية"',  # the side of a NEAR that is absent, not the whole NEAR
        "and 1 more missing clause(s)",  # the GCC group: every alternative of it is absent
        "excluded by NOT (صحفي OR صحافي)"]
    assert verdict.reason == "; ".join(verdict.reasons)
    assert "مؤتمر صحفي" in verdict.snippets[0]  # where the NOT struck
    [verdict] = RuleSet([WatchRule("r", "R", "~لجنة NEAR/2 ~حكومة")]).explain("", text)
    assert verdict.reasons == ["missing: ~لجنة NEAR/2 ~حكومة"]  # both there, not near
    many = " ".join(f"word{at}" for at in range(10))
    [verdict] = RuleSet([WatchRule("r", "R", many)]).explain("", "nothing here")
    assert verdict.reasons[:3] == ["missing: word0", "missing: word1", "missing: word2"]
    assert verdict.reasons[3] == "and 7 more missing clause(s)"
    long = " OR ".join(f'"phrase number {at}"' for at in range(20))
    [verdict] = RuleSet([WatchRule("r", "R", long)]).explain("", "nothing here")
    assert len(verdict.reasons) == 1 and len(verdict.reasons[0]) < 120  # one line


def test_rule_set_refuses_duplicate_ids_and_accepts_lists() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RuleSet([WatchRule("a", "A", "x"), WatchRule("a", "B", "y")])
    rule = WatchRule("a", "A", "x", languages=["AR"], fields=["title"])  # as YAML gives them
    assert rule.languages == ("ar",) and rule.fields == ("title",)
    assert RuleSet([rule]).get("a") is rule and len(RuleSet([rule])) == 1


# --- field and source operators --------------------------------------------------------

def test_title_operator_looks_in_the_title_only() -> None:
    title, body = "اجتماع اللجنة الوزارية", "ناقشت الحكومة الإلكترونية"
    assert matches("title:اجتماع", title=title, body=body)
    assert not matches("title:الحكومة", title=title, body=body)
    assert matches('title:"اللجنة الوزارية" الحكومة', title=title, body=body)
    assert matches("title:(مسقط OR ~لجنة) AND ~حكومة", title=title, body=body)
    assert not matches("title:(~حكومة)", title=title, body=body, fields=("body",))
    assert matches("title:(~لجنة)", title=title, body=body, fields=("body",))  # title: wins
    rules = RuleSet([WatchRule("r", "R", 'title:"اللجنة الوزارية" AND الحكومة')])
    [match] = rules.evaluate(title, body, "ar")
    assert match.clauses == ['title:"اللجنة الوزارية"', "الحكومة"]
    assert match.snippets[0] == title


@pytest.mark.parametrize(
    ("query", "attributes", "expected"),
    [
        ("source:spa AND مجلس", {"source": "spa"}, True),
        ("source:spa AND مجلس", {"source": "wam"}, False),
        ("source:spa AND مجلس", {}, False),  # unknown source: no match
        ("country:qa AND مجلس", {"country": "QA"}, True),
        ("country:QA AND مجلس", {"country": "qa"}, True),
        ("(country:SA OR country:AE) AND مجلس", {"country": "AE"}, True),
        ("lang:ar AND مجلس", {"language": "ar-SA"}, True),
        ("lang:en AND مجلس", {"language": "ar"}, False),
        ("kind:agency AND مجلس", {"kind": "agency"}, True),
        ("kind:press AND مجلس", {"kind": "agency"}, False),
        ("مجلس NOT kind:press", {"kind": "agency"}, True),
        ("source:spa OR مسقط", {"source": "spa"}, True),  # a field alone can match
    ],
)
def test_source_operators_compare_what_is_known_of_the_article(query, attributes, expected):
    rules = RuleSet([WatchRule("r", "R", query)])
    language = attributes.pop("language", None)
    assert bool(rules.evaluate("", BODY, language, **attributes)) is expected


def test_evaluate_keeps_its_positional_form_and_names_the_others() -> None:
    rules = RuleSet([WatchRule("r", "R", "kind:agency AND مجلس")])
    assert rules.evaluate("", BODY) == [] and rules.evaluate("", BODY, "ar") == []
    with pytest.raises(TypeError):
        rules.evaluate("", BODY, "ar", "spa")  # source and the rest only by name
    [match] = rules.evaluate("", BODY, "ar", kind="agency")
    assert match.clauses == ["kind:agency", "مجلس"]


def test_ordered_proximity_wants_the_left_side_first() -> None:
    assert matches("اللجنة ONEAR/3 الإلكترونية", body=BODY)
    assert not matches("الإلكترونية ONEAR/3 اللجنة", body=BODY)
    assert matches("الإلكترونية NEAR/3 اللجنة", body=BODY)
    [match] = RuleSet([WatchRule("r", "R", "(اللجنة OR مسقط) ONEAR/3 الإلكترونية")]).evaluate(
        "", BODY)
    assert match.clauses == ["اللجنة ONEAR/3 الإلكترونية"]


@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ("source:SPA مجلس", 0, "source id"),
        ("country:QAT مجلس", 0, "two-letter country"),
        ("kind:newspaper مجلس", 0, "agency, government or press"),
        ("lang: مجلس", 0, "language code"),
        ("title:", 0, "title: needs"),
        ("title:NOT مجلس", 0, "title: needs"),
        ("title:(مجلس) NEAR/3 لجنة", 0, "not AND/NOT clauses or fields"),
        ("source:spa NEAR/3 لجنة", 0, "not AND/NOT clauses or fields"),
        ("لجنة ONEAR مجلس", 5, "ONEAR needs a distance"),
        ("لجنة ONEAR/101 مجلس", 5, "ONEAR distance must be 1 to 100"),
        ("NOT source:spa", 0, "absent"),
    ],
)
def test_field_operators_refuse_what_they_cannot_read(query, position, words) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query(query)
    assert caught.value.position == position
    assert words in str(caught.value)


def test_a_near_of_nears_pairs_every_occurrence_with_its_nearest_partner() -> None:
    body = "لجنة س س حكومة ص ص ص مجلس ع ع ع ع لجنة حكومة"
    assert matches("(لجنة NEAR/3 حكومة) NEAR/4 مجلس", body=body)
    assert matches("(لجنة NEAR/1 حكومة) NEAR/5 مجلس", body=body)  # the pair after the council
    assert not matches("(لجنة NEAR/1 حكومة) NEAR/4 مجلس", body=body)
    [match] = RuleSet([WatchRule("r", "R", "لجنة NEAR/3 حكومة")]).evaluate("", body)
    assert match.snippets == [body]  # both pairs, in one window


# --- the word index never changes a verdict ------------------------------------------------

def _eval_texts() -> list[tuple[str, str, str]]:
    from pathlib import Path

    import yaml

    cases = yaml.safe_load((Path(__file__).parent / "rules_eval" / "gcc_egov.yaml")
                           .read_text(encoding="utf-8"))["cases"]
    return [(case["title"], case["body"], case["language"]) for case in cases]


INDEX_QUERIES = [
    '"~حكومة ~إلكترونية" NEAR/6 (~لجنة OR اجتماع*)',
    "~حج OR ~بيت OR ~وزارة",  # short stems and a restored taa marbuta (بيتها → بيه)
    "(اجتماع* OR ~ministry) AND NOT رياضة",
    '"دول مجلس التعاون" OR ~خليجي',
    "الاجتماع NEAR/3 (الحكومة OR ~committee)",
    "title:(~لجنة OR ~meeting) AND (مجلس* OR gcc)",
]


def _rule_sets() -> list[RuleSet]:
    from pathlib import Path

    import yaml

    shipped = yaml.safe_load((Path(__file__).parent.parent / "config" / "rules.yaml")
                             .read_text(encoding="utf-8"))["rules"]
    queries = INDEX_QUERIES + [entry["query"] for entry in shipped]
    return [RuleSet([WatchRule(f"r{at}", "R", query) for at, query in enumerate(queries)])]


def test_the_word_index_agrees_with_each_rule_on_a_plain_article() -> None:
    # A rule set reads an article through its word table and decides only the rules whose
    # anchors occur; each query matched alone, on an article that knows no rule word, agrees.
    [rules] = _rule_sets()
    for title, body, language in _eval_texts():
        matched = {match.rule_id: match for match in rules.evaluate(title, body, language)}
        for rule in rules:
            hits = rule.compiled.match(IndexedArticle(title, body), rule.fields)
            assert (hits is not None) is (rule.id in matched), (rule.query, title)
        assert {r.id for r in rules.candidates(rules.index(title, body))} >= set(matched)


def test_the_word_table_reads_article_words_as_a_word_by_word_check_does() -> None:
    [rules] = _rule_sets()
    words = {w for title, body, _ in _eval_texts() for w in normalized_words(title + " " + body)}
    words |= {"بيتها", "لبيتها", "ministries", "والخليجيين", "للاجتماعات"}
    for norm in sorted(words):
        found = rules.lexicon.read({norm}).get(norm, ())
        assert set(found) == {word for word in rules.lexicon.words if word.reads(norm)}, norm
    for norm in sorted(words)[:2000]:  # and every stem or prefix of a reading is found
        for reading in strip_proclitics(norm):
            for word in (Word("stem", light_stem(reading)), Word("prefix", reading[:4])):
                assert word in Lexicon([word]).read({norm}).get(norm, ()), (norm, word)


def test_rules_whose_anchors_are_absent_are_not_decided() -> None:
    rules = RuleSet([WatchRule("egov", "E", '"~حكومة ~إلكترونية" NEAR/6 ~لجنة'),
                     WatchRule("hajj", "H", "~حج OR ~عمرة OR Hajj"),
                     WatchRule("spa", "S", "source:spa OR مسقط")])
    article = rules.index("أمطار غزيرة على الرياض", "توقع المركز الوطني للأرصاد هطول أمطار.")
    assert [rule.id for rule in rules.candidates(article)] == ["spa"]  # can match without words
    anchors = rules.get("egov").compiled.root.anchors()
    assert len(anchors) == 1 and anchors <= set(rules.get("egov").compiled.root.query_words())


def test_rules_whose_other_needed_words_are_absent_are_not_decided() -> None:
    # Each rule's anchor ("الذكاء", "الحوسبة", "الحكومة") is in the article; only the rule
    # whose every needed word is there too is decided: one word of each side of a NEAR, one of
    # each alternative of an OR, every part of an AND.
    rules = RuleSet([
        WatchRule("ai", "AI", '"الذكاء الاصطناعي" NEAR/8 (~شركة OR ~استثمار) '
                              'OR "artificial intelligence"'),
        WatchRule("cloud", "C", '"الحوسبة السحابية" NEAR/5 ~شركة AND ~مؤتمر'),
        WatchRule("egov", "E", '("الحكومة الإلكترونية" OR ~حكومة NEAR/4 ~رقمية) AND ~لجنة'),
        WatchRule("spa", "S", "source:spa OR (مسقط NOT ~رياضة)")])
    title = "اللجنة الوزارية للحكومة الإلكترونية تناقش الذكاء الاصطناعي والحوسبة السحابية"
    body = "ناقشت اللجنة في الرياض تطبيقات الذكاء الاصطناعي في الخدمات الحكومية."
    article = rules.index(title, body)
    assert [rule.id for rule in rules.candidates(article)] == ["egov", "spa"]
    assert [match.rule_id for match in rules.evaluate(title, body)] == ["egov"]
    needs = rules.get("ai").compiled.root.needs()
    assert len(needs) == 6  # (الذكاء, الاصطناعي, شركه or استثمار) x (artificial, intelligence)
    assert all({word.key for word in words} & {"artificial", "intelligence"} for words in needs)
    assert rules.get("spa").compiled.root.needs() == []


def test_a_clause_from_outside_the_rule_set_is_matched_on_its_own_words() -> None:
    # The rule set's word table does not know "الرياض": the article must still find it.
    article = RuleSet([WatchRule("m", "M", "مجلس")]).index("", BODY)
    assert compile_query('"في الرياض" OR مسقط').match(article, ("body",)) is not None
    assert compile_query("مسقط").match(article) is None


def test_rules_share_the_spans_of_clauses_that_mean_the_same() -> None:
    # Two rules written differently share their clauses' spans (an OR's order does not matter,
    # a NEAR's distance does); each still names and shows its own clauses as written, and the
    # verdicts are those of each rule alone.
    queries = {"a": '(اجتماع OR ~لجنة) NEAR/6 "الحكومة الإلكترونية" AND الرياض',
               "b": '"الحكومة   الإلكترونية" NEAR/6 (~لجنة OR اجتماع) OR مسقط',
               "c": '(~لجنة OR اجتماع) NEAR/2 "الحكومة الإلكترونية"'}
    rules = RuleSet([WatchRule(rid, rid, query) for rid, query in queries.items()])
    near = {rid: rules.get(rid).compiled.clauses(Near)[0] for rid in queries}
    ors = {rid: near[rid].left if rid != "b" else near[rid].right for rid in queries}
    assert rules._twins[ors["b"]] is rules._twins[ors["c"]] is ors["a"]
    assert rules._twins[near["c"]] is near["c"] is not rules._twins[near["b"]]
    title, body = "اجتماع في مسقط", BODY
    alone = [m for rid in queries for m in RuleSet([rules.get(rid)]).evaluate(title, body)]
    assert rules.evaluate(title, body) == alone and {m.rule_id for m in alone} >= {"a", "b"}


# --- a rule set in a worker process and in threads ----------------------------------------

def test_a_rule_set_pickles_as_its_rules_and_evaluates_alike() -> None:
    import pickle

    [rules] = _rule_sets()
    copy = pickle.loads(pickle.dumps(rules))
    assert [r.id for r in copy] == [r.id for r in rules]
    assert len(pickle.dumps(rules)) < 20_000  # plain specifications, not compiled trees
    for title, body, language in _eval_texts()[:20]:
        assert copy.evaluate(title, body, language) == rules.evaluate(title, body, language)


def test_a_rule_set_gives_the_same_answers_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    [rules] = _rule_sets()
    texts = _eval_texts()
    expected = [rules.evaluate(title, body, language) for title, body, language in texts]
    rules.lexicon.MAX_REMEMBERED = 50  # its memory of words is replaced while others read it
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            found = list(pool.map(lambda text: rules.evaluate(*text), texts))
            assert found == expected


def test_the_documented_examples_read_as_documented() -> None:
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    table = docs.split("Examples with the field operators:")[1].split("\n\n")[1]
    examples = [line.split("`")[1] for line in table.splitlines()[2:]]
    assert len(examples) == 5
    for query in examples:
        assert not compile_query(query).warnings
    assert matches('"اللجنة الوزارية" ONEAR/4 "الحكومة الإلكترونية"',
                   body="عقدت اللجنة الوزارية للحكومة الإلكترونية اجتماعها")
    assert not matches('"اللجنة الوزارية" ONEAR/4 "الحكومة الإلكترونية"',
                       body="أكدت الحكومة الإلكترونية أن اللجنة الوزارية")
    assert matches('"مجلس التعاون" ONEAR/3 ~أمانة', body="مجلس التعاون والأمانة العامة")
