"""Watch rules on hostile input: huge or strange articles, queries built to exhaust the engine.

Every article comes from the web and every rule from a person: the engine must take time and
memory in proportion to the article, and refuse a query it cannot read with one line. The time
bounds below are ten to twenty times what these take on a loaded two-core machine.
"""

from __future__ import annotations

import time

import pytest

from monitor.config import ConfigError, load_config
from monitor.rules import MAX_DEPTH, QuerySyntaxError, RuleSet, WatchRule, compile_query
from monitor.rules.syntax import MAX_QUERY_LENGTH
from tests.fixture_web import write_config


def timed(work):
    started = time.process_time()
    result = work()
    return result, time.process_time() - started


def test_near_on_a_huge_article_of_its_two_words_keeps_a_few_spans_a_word() -> None:
    # 1.7 MB alternating the two words of a NEAR/100: the engine once built every pair within
    # 100 words (7 million spans, gigabytes) for its snippets.
    body = "لجنة حكومة " * 80_000
    rules = RuleSet([
        WatchRule("near", "N", "لجنة NEAR/100 حكومة"),
        WatchRule("nested", "M", "(لجنة NEAR/100 حكومة) NEAR/100 (حكومة ONEAR/100 لجنة)"),
        WatchRule("phrase", "P", '"لجنة حكومة لجنة" AND NOT مسقط'),
    ])
    matches, seconds = timed(lambda: rules.evaluate("", body))
    assert [match.rule_id for match in matches] == ["near", "nested", "phrase"]
    assert seconds < 60
    article = rules.index("", body)
    words = len(article.fields["body"].words)
    rules.get("nested").compiled.match(article)
    for node in rules.get("nested").compiled.clauses():
        if node.positional:
            assert len(article.spans(node, "body")) <= 2 * words
    assert all(len(snippet) <= 1_000 for match in matches for snippet in match.snippets)


@pytest.mark.parametrize(
    "text",
    [
        "𝐀𝐁𝐂 \U0001F600 𓀀" * 120_000,  # astral-plane letters and symbols
        ("ب" + "\u064e\u0651" * 20 + " e\u0301\u0302 ") * 60_000,  # stacked marks
        "ب" * 10_000_000,  # 10 MB without a space: one "word"
        "وال" + "حكومة" * 2_000_000,
        ("İΣ" * 5 + " ") * 200_000,  # letters whose lower case differs in length or context
    ],
    ids=["astral", "combining", "no-space", "no-space-proclitic", "special-case"],
)
def test_strange_huge_texts_take_time_in_proportion(text: str) -> None:
    rules = RuleSet([WatchRule("a", "A", "ببب* OR حكومة OR ~حكومة OR 𝐀𝐁𝐂 OR isis*"),
                     WatchRule("b", "B", "(ب NEAR/5 e) OR isi* ONEAR/3 isi*")])
    matches, seconds = timed(lambda: rules.evaluate(text[:1000], text, "ar"))
    assert seconds < 60
    assert all(len(snippet) <= 1_000 for match in matches for snippet in match.snippets)
    verdicts, seconds = timed(lambda: rules.explain("", text))
    assert seconds < 60 and len(verdicts) == 2


@pytest.mark.parametrize(
    "query",
    [
        "(" * 100_000 + "مجلس" + ")" * 100_000,
        "NOT " * 100_000 + "مجلس",
        "title:(" * 5_000 + "مجلس" + ")" * 5_000,
        "مجلس " + "NEAR/1 مجلس " * 700,  # a chain of NEARs: deep without parentheses
        "مجلس AND " + "(مجلس OR (لجنة AND " * 60 + "x" + "))" * 60,
    ],
    ids=["parentheses", "not", "title", "near-chain", "and-or"],
)
def test_a_query_nested_too_deep_is_refused_with_one_line(query: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query(query[:MAX_QUERY_LENGTH])
    assert str(caught.value) == f"the query is nested deeper than {MAX_DEPTH} levels"


def test_a_query_at_the_depth_limit_is_read_and_matched() -> None:
    query = "(" * (MAX_DEPTH - 1) + "مجلس OR لجنة" + ")" * (MAX_DEPTH - 1)
    [match] = RuleSet([WatchRule("deep", "D", query)]).evaluate("", "اجتمع مجلس الوزراء")
    assert match.clauses == ["مجلس"]


def test_a_query_too_long_is_refused() -> None:
    query = " OR ".join(f"كلمة{at}" for at in range(1_500))
    assert len(query) > MAX_QUERY_LENGTH
    with pytest.raises(QuerySyntaxError, match=f"longer than {MAX_QUERY_LENGTH:,} characters"):
        compile_query(query)


def test_the_configuration_refuses_such_a_rule_naming_it(tmp_path) -> None:
    rules = ("rules:\n  - id: deep\n    name: Deep\n    query: '" + "(" * 200 + "مجلس"
             + ")" * 200 + "'\n")
    config = write_config(tmp_path / "config", [], f"sqlite:///{tmp_path}/raqib.db", rules=rules)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "rule 'deep'" in message and "nested deeper than 100 levels" in message
    assert "\n" not in message
