"""What a full-text index may check for a query: `Query.prefilter()` over `index_terms`.

The web search narrows candidates with an index of `monitor.arabic.index_terms` (SQLite FTS5,
PostgreSQL tsvector) and lets the rule engine decide. That is only right if every article a
query matches meets its prefilter: checked here on the labelled set and on random texts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.arabic import index_terms
from monitor.rules import RuleSet, WatchRule, compile_query

HERE = Path(__file__).resolve().parent


def satisfies(condition, terms: set[str], attributes: dict[str, str]) -> bool:
    """Whether an article with these index terms and attributes meets a prefilter."""
    if condition is None:
        return True
    kind = condition[0]
    if kind == "and":
        return all(satisfies(part, terms, attributes) for part in condition[1])
    if kind == "or":
        return any(satisfies(part, terms, attributes) for part in condition[1])
    if kind == "term":
        return condition[1] in terms
    if kind == "prefix":
        return any(term.startswith(condition[1]) for term in terms)
    assert kind == "field", condition
    return attributes.get(condition[1]) == condition[2]


@pytest.mark.parametrize(
    ("query", "prefilter"),
    [
        ("الحكومة", ("term", "الحكومه")),
        ('"الحكومة الإلكترونية"', ("and", [("term", "الحكومه"), ("term", "الالكترونيه")])),
        ("اجتماع* OR ~لجنة", ("or", [("prefix", "اجتماع"), ("prefix", "لجن")])),
        ("مجلس NOT رياضة", ("term", "مجلس")),
        ("مجلس OR (لجنة AND NOT رياضة)", ("or", [("term", "مجلس"), ("term", "لجنه")])),
        ("مجلس OR source:spa", ("or", [("term", "مجلس"), ("field", "source", "spa")])),
        ("title:(~meeting) country:qa", ("and", [("prefix", "meet"), ("field", "country", "QA")])),
        ("مجلس OR ~ab", ("or", [("term", "مجلس"), ("prefix", "ab")])),
        ("~ministries", ("prefix", "ministr")),  # stem ministry: its y may stand for ies
        ("مجلس OR ~y", None),  # a one-letter head: nothing an index can look for
        ("(مجلس OR NOT لجنة) AND اجتماع", ("term", "اجتماع")),
    ],
)
def test_prefilters_of_known_shapes(query: str, prefilter) -> None:
    assert compile_query(query).prefilter() == prefilter


def _queries() -> list[str]:
    shipped = yaml.safe_load((HERE.parent / "config" / "rules.yaml").read_text(encoding="utf-8"))
    golden = yaml.safe_load((HERE / "rules_golden" / "golden.json").read_text(encoding="utf-8"))
    return ([entry["query"] for entry in shipped["rules"]]
            + [spec["query"] for specs in golden["rules"].values() for spec in specs])


def test_every_match_on_the_labelled_set_meets_its_prefilter() -> None:
    queries = _queries()
    rules = RuleSet(WatchRule(f"q{at}", "Q", query) for at, query in enumerate(queries))
    cases = yaml.safe_load((HERE / "rules_eval" / "gcc_egov.yaml").read_text(encoding="utf-8"))
    attributes = {"source": "spa", "country": "SA", "kind": "agency"}
    matched = 0
    for case in cases["cases"]:
        terms = set(index_terms(case["title"] + "\n" + case["body"]))
        for match in rules.evaluate(case["title"], case["body"], case["language"], **attributes):
            condition = rules.get(match.rule_id).compiled.prefilter()
            assert satisfies(condition, terms, {**attributes, "lang": case["language"]}), (
                match.rule_id, case["id"])
            matched += 1
    assert matched > 500  # the property was tried, not vacuously true


# Random articles and queries over a small vocabulary, written as news writes it: proclitics,
# the article, tashkeel, tatweel, hamza forms, taa marbuta, plural and pronoun endings.
STEMS = ["حكومة", "إلكترونية", "لجنة", "اجتماع", "مجلس", "تعاون", "رقمية", "مؤتمر", "ورشة",
         "خليجي", "وزير", "meeting", "committee", "government"]
PREFIXES = ["", "", "", "ال", "وال", "بال", "لل", "و", "ب", "ف"]
SUFFIXES = ["", "", "", "ات", "ها", "اً", "ين", "ية", "s"]
MARKS = ["", "", "", "\u064e", "\u0640", "\u0651"]


@st.composite
def article_words(draw) -> str:
    stem = draw(st.sampled_from(STEMS))
    word = draw(st.sampled_from(PREFIXES)) + stem + draw(st.sampled_from(SUFFIXES))
    at = draw(st.integers(0, len(word)))
    return word[:at] + draw(st.sampled_from(MARKS)) + word[at:]


texts = st.lists(st.one_of(article_words(), st.sampled_from(["في", "،", ".", "2024", "\n"])),
                 max_size=40).map(" ".join)


@st.composite
def queries(draw, depth: int = 0) -> str:
    choice = draw(st.integers(0, 9 if depth < 3 else 3))
    word = draw(st.sampled_from(STEMS))
    if choice == 0:
        return word
    if choice == 1:
        return "~" + word
    if choice == 2:
        return word[:4] + "*" if len(word) >= 4 else word
    if choice == 3:
        return f'"{word} {draw(st.sampled_from(STEMS))}"'
    left, right = draw(queries(depth + 1)), draw(queries(depth + 1))
    if choice == 4:
        return f"({left} AND {right})"
    if choice == 5:
        return f"({left} OR {right})"
    if choice == 6:
        return f"({left} NOT {right})"
    if choice == 7:
        return f"title:({left}) OR {right}"
    if choice == 8:
        return f"({left} OR source:spa) AND {right}"
    positional = [word, f'"{word} {draw(st.sampled_from(STEMS))}"', f"({word} OR ~{word})"]
    operator = draw(st.sampled_from(["NEAR", "ONEAR"]))
    return (f"{draw(st.sampled_from(positional))} {operator}/{draw(st.integers(1, 6))} "
            f"{draw(st.sampled_from(positional))}")


@settings(max_examples=300, deadline=None)
@given(query=queries(), title=texts, body=texts, source=st.sampled_from(["spa", "wam"]))
def test_every_match_of_a_random_query_meets_its_prefilter(query, title, body, source) -> None:
    compiled = compile_query(query)
    if RuleSet([WatchRule("q", "Q", query)]).evaluate(title, body, "ar", source=source):
        terms = set(index_terms(title + "\n" + body))
        assert satisfies(compiled.prefilter(), terms, {"source": source, "lang": "ar"}), query
