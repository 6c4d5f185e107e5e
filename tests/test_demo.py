"""`raqib demo`: the whole pipeline on the bundled sample web, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from monitor.demo.sites import load_articles
from tests.conftest import ROOT, CliResult, run_cli

# The sample articles about GCC e-government committees and gatherings (the shipped rule's
# subject); the others are an e-service launch, other GCC committees and company news.
EGOV = {"egov-ministerial-26", "egov-executive-workshop", "riyadh-meeting-copy",
        "bahrain-egov-forum", "muscat-egov-conference"}
ARTICLES = {article.slug: article for article in load_articles()}


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory) -> dict:
    """`raqib demo` run with no options in an empty directory, as the README says."""
    directory = tmp_path_factory.mktemp("newcomer")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "demo"], capture_output=True,
                          text=True, timeout=120, cwd=directory, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return {"result": CliResult(done.returncode, done.stdout, done.stderr),
            "seconds": time.monotonic() - started, "directory": directory}


def test_the_demo_runs_the_whole_pipeline_in_under_a_minute(newcomer):
    result = newcomer["result"]
    assert result.returncode == 0, result.stderr
    assert newcomer["seconds"] < 60
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[:6] if line}
    for source, stored in (("waha", "4"), ("sahifa", "3"), ("gulfdaily", "2")):
        assert rows[source][1] == "ok" and rows[source][3] == stored, rows
    # A temporary database: nothing left behind but the digest preview.
    assert sorted(path.name for path in newcomer["directory"].iterdir()) == \
        ["raqib-demo-digest.html"]


def test_flagged_articles_are_shown_with_their_rules_and_reasons(newcomer):
    out = newcomer["result"].stdout
    for slug, article in ARTICLES.items():
        assert (article.title in out) == (slug in EGOV), slug
    # Each flagged article names the rule, the clauses that matched and a snippet of the text.
    block = out[out.index(ARTICLES["bahrain-egov-forum"].title):]
    block = block[:block.index("\n\n")] if "\n\n" in block else block
    assert "rule gcc-egov-committee (GCC e-government committees and gatherings)" in block
    assert "matched: " in block and "منتدى" in block.split("matched: ", 1)[1]
    assert "«" in block and "هيئة المعلومات والحكومة الإلكترونية" in block


def test_the_digest_preview_is_written(newcomer):
    preview = newcomer["directory"] / "raqib-demo-digest.html"
    assert f"digest preview: {preview}" in newcomer["result"].stdout
    html = preview.read_text(encoding="utf-8")
    assert 'dir="rtl"' in html
    # The newspaper's copy of the agency story is one story with it: whichever was stored
    # first leads, the other is listed under "وردت أيضاً في" with its link.
    pair = ("egov-ministerial-26", "riyadh-meeting-copy")
    for slug in EGOV - set(pair):
        assert ARTICLES[slug].title in html, slug
    assert [ARTICLES[slug].title in html for slug in pair].count(True) == 1
    assert "وردت أيضاً في" in html
    assert all(ARTICLES[slug].path in html for slug in pair)
    assert ARTICLES["traffic-eservice"].title not in html


def test_with_db_the_articles_stay_and_keep_their_explanations(tmp_path):
    database = f"sqlite:///{tmp_path}/demo.db"
    preview = tmp_path / "digest.html"
    result = run_cli("--db", database, "demo", "--preview", str(preview))
    assert result.returncode == 0, result.stderr
    assert preview.exists()
    items = run_cli("--db", database, "items", "--flagged", "--format", "jsonl")
    flagged = [json.loads(line) for line in items.stdout.splitlines()]
    assert {item["title"] for item in flagged
            if "gcc-egov-committee" in item["rules"]} == {ARTICLES[s].title for s in EGOV}
    for item in flagged:
        for rule in item["rules"]:
            assert item["explanations"][rule]["clauses"], item["title"]
