"""`raqib rules test`, `raqib rules apply` and the reasons under `raqib items`, as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from storage.records import NewArticle
from storage.repository import Repository
from tests.conftest import ROOT, CliResult
from tests.conftest import run_cli as run_without_input
from tests.fixture_web import write_config


def run_cli(*args: str, config_dir: Path, input: str | None = None) -> CliResult:
    """`raqib` in a child process (tests.conftest.run_cli), with `input` on its stdin."""
    if input is None:
        return run_without_input(*args, config_dir=config_dir)
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir),
                           *args], input=input, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return CliResult(done.returncode, done.stdout, done.stderr)

COMMITTEE = (
    "اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون تعقد اجتماعها الـ١٢ في الرياض",
    "الرياض ١٤ رجب ١٤٤٥ هـ (واس) — عقدت اللجنة الوزارية للحكومة الإلكترونيّة بدول مجلس "
    "التعاون لدول الخليج العربية اجتماعها الثاني عشر اليوم، برئاسة معالي محافظ هيئة الحكومة "
    "الرقمية، وناقشت مشروع الربط بين البوابات الحكومية.",
)
FOOTBALL = (
    "المنتخب يستعد لكأس الخليج",
    "يواصل المنتخب الوطني لكرة القدم التدريبات استعداداً لبطولة كأس الخليج، بمشاركة جميع "
    "اللاعبين المحترفين في الدوري.",
)
CYBER = (
    "ورشة عمل عن الأمن السيبراني في مسقط",
    "نظّمت وزارة النقل والاتصالات وتقنية المعلومات ورشة عمل عن الأمن السيبراني للجهات "
    "الحكومية في سلطنة عُمان.",
)

RULES = """\
rules:
  - id: gcc-egov
    name: GCC e-government committees
    languages: [ar, en]
    query: '(~لجنة OR اجتماع*) NEAR/6 "~حكومة ~إلكترونية" AND "مجلس التعاون"'
  - id: gulf-football
    name: Gulf football
    query: '"كأس الخليج" NOT ~تذكرة'
"""
EDITED = RULES.replace('"كأس الخليج" NOT ~تذكرة', '"كأس الخليج" NOT ~تدريب') + """\
  - id: cyber
    name: Cyber security
    query: '"الأمن السيبراني" OR ~سيبراني'
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Repository]:
    url = f"sqlite:///{tmp_path}/raqib.db"
    config = write_config(tmp_path / "config", [], url, rules=RULES)
    repository = Repository(url)
    for number, (title, body) in enumerate((COMMITTEE, FOOTBALL, CYBER), 1):
        saved = repository.articles.save(NewArticle(
            source="spa", url=f"https://example.sa/news/{number}",
            fetched_url=f"https://example.sa/news/{number}", title=title, text=body,
            language="ar", content_fingerprint=f"fp{number}",
            fetched_at=datetime(2024, 1, number, tzinfo=UTC)))
        matches = load_config(config).rule_set().evaluate(title, body, "ar")
        repository.articles.save_matches(saved.article_id, [m.to_dict() for m in matches])
    return config, repository


def stored_rules(repository: Repository) -> dict[str, list[str]]:
    return {a.title: sorted(a.rules) for a in repository.articles.find(limit=None)}


def test_rules_test_explains_every_rule_on_a_file(setup, tmp_path: Path) -> None:
    config, _ = setup
    text = tmp_path / "article.txt"
    text.write_text("\n".join(COMMITTEE), encoding="utf-8")
    result = run_cli("rules", "test", str(text), config_dir=config)
    assert result.returncode == 0, result.stderr
    assert "language: ar (detected); 2 rule(s), 1 matched" in result.stdout
    assert "MATCH  gcc-egov — GCC e-government committees" in result.stdout
    assert '"~حكومة ~إلكترونية"' in result.stdout
    assert "« اللجنة الوزارية للحكومة الإلكترونية" in result.stdout  # original text, title first
    assert "no     gulf-football" in result.stdout
    assert 'missing: "كأس الخليج"' in result.stdout


def test_rules_test_reads_stdin_and_shows_one_rule(setup) -> None:
    config, _ = setup
    result = run_cli("rules", "test", "-", "--rule", "gulf-football", config_dir=config,
                     input="\n".join(FOOTBALL) + " ولم تبق تذكرة واحدة.")
    assert result.returncode == 0, result.stderr
    assert "1 rule(s), 0 matched" in result.stdout
    assert "excluded by NOT ~تذكرة" in result.stdout
    assert "« …" in result.stdout and "تذكرة واحدة" in result.stdout  # where the NOT struck
    unknown = run_cli("rules", "test", "--rule", "nope", config_dir=config, input="عنوان\nنص")
    assert unknown.returncode == 2 and "no rule 'nope'" in unknown.stderr


def test_language_filter_follows_the_given_or_detected_language(setup) -> None:
    config, _ = setup
    english = run_cli("rules", "test", "--language", "en", "--rule", "gcc-egov",
                      config_dir=config, input="\n".join(COMMITTEE))
    assert "MATCH" in english.stdout  # gcc-egov takes ar and en
    result = run_cli("rules", "test", config_dir=config,
                     input="GCC e-government committee meets\nThe committee met in Riyadh today "
                           "to discuss the e-government projects of the six states.")
    assert "language: en (detected)" in result.stdout


def test_stored_review_writes_nothing_and_apply_updates_matches(setup) -> None:
    config, repository = setup
    before = stored_rules(repository)
    assert before == {COMMITTEE[0]: ["gcc-egov"], FOOTBALL[0]: ["gulf-football"], CYBER[0]: []}
    flagged_at = {a.id: a for a in repository.articles.find(flagged=True, limit=None)}

    (config / "rules.yaml").write_text(EDITED, encoding="utf-8")
    review = run_cli("rules", "test", "--stored", config_dir=config)
    assert review.returncode == 0, review.stderr
    lines = {line.split()[0]: line for line in review.stdout.splitlines()[2:]}
    assert set(lines) == {"2", "3"}  # the football story loses its rule, the cyber one gains
    assert lines["2"].rstrip().endswith("gulf-football") and "cyber" in lines["3"]
    assert "3 stored article(s) re-evaluated: 2 would change (1 match(es) added, 1 removed)" \
        in review.stderr
    assert stored_rules(repository) == before  # --stored writes nothing

    applied = run_cli("rules", "apply", config_dir=config)
    assert applied.returncode == 0, applied.stderr
    assert "re-evaluated 3 stored article(s) with 3 rule(s): 2 updated " \
           "(1 match(es) added, 1 removed, 0 explanation(s) refreshed); 2 flagged now" \
        in applied.stdout
    assert stored_rules(repository) == {COMMITTEE[0]: ["gcc-egov"], FOOTBALL[0]: [],
                                        CYBER[0]: ["cyber"]}
    items = run_cli("items", "--format", "jsonl", "--rule", "cyber", config_dir=config)
    [record] = [json.loads(line) for line in items.stdout.splitlines()]
    assert record["explanations"]["cyber"]["snippets"][0].startswith("ورشة عمل عن الأمن السيبراني")
    again = run_cli("rules", "apply", config_dir=config)
    assert "0 updated" in again.stdout
    kept = repository.articles.find(rule="gcc-egov", limit=None)[0]
    assert kept.explanations == flagged_at[kept.id].explanations


def test_stored_review_filters_by_source_since_and_limit(setup) -> None:
    config, _ = setup
    (config / "rules.yaml").write_text(EDITED, encoding="utf-8")
    since = run_cli("rules", "test", "--stored", "--since", "2024-01-03", config_dir=config)
    assert "1 stored article(s) re-evaluated: 1 would change" in since.stderr
    stored_only = run_cli("rules", "test", "--stored", "--source", "spa", config_dir=config)
    assert "3 stored article(s) re-evaluated" in stored_only.stderr  # not configured, but stored
    other = run_cli("rules", "test", "--stored", "--source", "wam", config_dir=config)
    assert other.returncode == 2 and "no source 'wam' (known: none)" in other.stderr
    limited = run_cli("rules", "test", "--stored", "--limit", "1", config_dir=config)
    assert "1 stored article(s) re-evaluated: 0 would change" in limited.stderr
    wrong = run_cli("rules", "test", "--stored", "--rule", "cyber", config_dir=config)
    assert wrong.returncode == 2


def test_items_table_shows_why_each_article_was_flagged(setup) -> None:
    config, _ = setup
    result = run_cli("items", config_dir=config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if "gulf-football" in line and "↳" not in line)
    assert "↳ gulf-football: المنتخب يستعد لكأس الخليج" in lines[row + 1]
    assert sum("↳" in line for line in lines) == 2  # one line per match, none for the cyber story


# --- where an article comes from: source, country, kind; stored articles ------------------

SOURCES = [{"id": "spa", "name": "Saudi Press Agency (واس)", "country": "SA", "language": "ar",
            "kind": "agency", "feeds": ["https://www.spa.gov.sa/rss.xml"]},
           {"id": "okaz", "name": "Okaz (عكاظ)", "country": "SA", "language": "ar",
            "kind": "press", "feeds": ["https://www.okaz.com.sa/rss"]}]
FIELD_RULES = """\
rules:
  - id: agency-egov
    name: E-government from agencies
    name_ar: الحكومة الإلكترونية من وكالات الأنباء
    query: 'kind:agency AND title:(~لجنة OR ~اجتماع) AND "~حكومة ~إلكترونية"'
  - id: saudi-cyber
    name: Cyber security in Saudi sources
    query: 'country:SA AND ("الأمن السيبراني" OR ~سيبراني)'
  - id: careless
    name: Careless
    query: 'committee and meeting OR source:wam'
"""


@pytest.fixture
def sourced(tmp_path: Path) -> tuple[Path, Repository]:
    url = f"sqlite:///{tmp_path}/raqib.db"
    config = write_config(tmp_path / "config", SOURCES, url, rules=FIELD_RULES)
    repository = Repository(url)
    for number, (source, (title, body)) in enumerate((("spa", COMMITTEE), ("okaz", CYBER)), 1):
        repository.articles.save(NewArticle(
            source=source, url=f"https://example.sa/news/{number}",
            fetched_url=f"https://example.sa/news/{number}", title=title, text=body,
            language="ar", content_fingerprint=f"fp{number}",
            fetched_at=datetime(2024, 1, number, tzinfo=UTC)))
    return config, repository


def test_rules_test_takes_the_source_country_and_kind_of_a_text(sourced) -> None:
    config, _ = sourced
    text = "\n".join(COMMITTEE)
    unknown = run_cli("rules", "test", "-", "--rule", "agency-egov", config_dir=config, input=text)
    assert "no     agency-egov" in unknown.stdout and "missing: kind:agency" in unknown.stdout
    agency = run_cli("rules", "test", "-", "--source", "spa", config_dir=config, input=text)
    assert agency.returncode == 0, agency.stderr
    assert "source: spa (SA, agency)" in agency.stdout
    assert "MATCH  agency-egov" in agency.stdout
    assert "kind:agency" in agency.stdout.split("MATCH  agency-egov")[1].splitlines()[1]
    press = run_cli("rules", "test", "-", "--source", "spa", "--kind", "press", config_dir=config,
                    input=text)
    assert "source: spa (SA, press)" in press.stdout and "no     agency-egov" in press.stdout
    qatar = run_cli("rules", "test", "-", "--country", "qa", config_dir=config,
                    input="\n".join(CYBER))
    assert "source: ? (QA)" in qatar.stdout and "no     saudi-cyber" in qatar.stdout
    wrong = run_cli("rules", "test", "-", "--source", "nope", config_dir=config, input=text)
    assert wrong.returncode == 2 and "no source 'nope'" in wrong.stderr


def test_rules_test_takes_a_stored_article_as_it_was_crawled(sourced) -> None:
    config, repository = sourced
    ids = {a.source: a.id for a in repository.articles.find(limit=None)}
    stored = run_cli("rules", "test", "--article", str(ids["okaz"]), config_dir=config)
    assert stored.returncode == 0, stored.stderr
    assert "language: ar (stored)" in stored.stdout and "source: okaz (SA, press)" in stored.stdout
    assert "MATCH  saudi-cyber" in stored.stdout
    assert "« ورشة عمل عن الأمن السيبراني" in stored.stdout
    assert run_cli("rules", "test", "--article", "999", config_dir=config).returncode == 2
    both = run_cli("rules", "test", "x.txt", "--article", str(ids["spa"]), config_dir=config)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_failing_rule_shows_its_shortest_failed_clauses_a_line_each(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", [], f"sqlite:///{tmp_path}/raqib.db")
    result = run_cli("rules", "test", "--rule", "gcc-egov-committee", config_dir=config,
                     input="\n".join(FOOTBALL))
    lines = result.stdout.splitlines()
    reasons = lines[lines.index("no     gcc-egov-committee — GCC e-government committees and "
                                "gatherings") + 1:]
    assert len(reasons) == 4 and all(len(line) < 120 for line in reasons)  # not the whole query
    assert [line.split(":")[0].strip() for line in reasons[:3]] == ["missing"] * 3
    assert "more missing clause(s)" in reasons[3]
    lengths = [len(line) for line in reasons[:3]]
    assert lengths == sorted(lengths)


def test_configuration_warns_about_what_a_rule_may_not_mean(sourced) -> None:
    config, _ = sourced
    warnings = load_config(config).warnings
    assert any("rule 'careless'" in w and "'and' (at position 10) is read as a word" in w
               for w in warnings)
    assert any("rule 'careless'" in w and "source:wam names no source" in w for w in warnings)
    result = run_cli("rules", "test", "-", config_dir=config, input="\n".join(CYBER))
    assert "rule 'careless'" in result.stderr  # the CLI logs the warnings
    rules = load_config(config).rule_set()
    assert rules.get("agency-egov").name_ar == "الحكومة الإلكترونية من وكالات الأنباء"
