"""`raqib sources check` against the local test web: answers, link counts, sample, politeness."""

from __future__ import annotations

import json
import time

import pytest

from monitor.demo.sites import rss_feed
from monitor.demo.web import Page
from tests.conftest import run_cli
from tests.fixture_web import fixture_sources, write_config

USER_AGENT = "raqib-check/1.0 (+https://example.org/raqib-check)"


def _feed_source(source_id: str, url: str, **extra) -> dict:
    return {"id": source_id, "name": f"{source_id} site", "country": "KW", "language": "ar",
            "kind": "press", "timezone": "Asia/Kuwait", "feeds": [url], **extra}


@pytest.fixture(scope="module")
def checked(test_web, tmp_path_factory):
    """One `sources check --all --json` of the test web plus a few checks' own faults."""
    faulty = test_web["faulty"]
    article = faulty.url("/news/cait-digital-services.html")
    faulty.add("/private/rss.xml", Page(rss_feed("محجوب", [(article, "خبر", "")]),
                                        content_type="application/rss+xml"))
    faulty.add("/slow-rss.xml", Page(rss_feed("بطيء", [(article, "خبر", "")]), delay=30,
                                     content_type="application/rss+xml"))
    faulty.add("/gallery-rss.xml", Page(rss_feed("صور", [(faulty.url("/news/gallery.html"),
                                                          "معرض", "")]),
                                        content_type="application/rss+xml"))
    faulty.add("/dead-first-rss.xml", Page(rss_feed("روابط", [
        (faulty.url("/news/dead.html"), "خبر محذوف", ""), (article, "خبر", "")]),
        content_type="application/rss+xml"))
    sources = fixture_sources(test_web) + [
        _feed_source("blocked", faulty.url("/private/rss.xml")),
        _feed_source("slow", faulty.url("/slow-rss.xml")),
        _feed_source("gallery", faulty.url("/gallery-rss.xml")),
        _feed_source("deadfirst", faulty.url("/dead-first-rss.xml")),
        {**_feed_source("retired", faulty.url("/rss.xml")), "feeds": [], "enabled": False},
    ]
    directory = tmp_path_factory.mktemp("check")
    database = directory / "raqib.db"
    config_dir = write_config(directory / "config", sources, f"sqlite:///{database}",
                              user_agent=USER_AGENT)
    for site in test_web.sites.values():
        site.user_agents.clear()
    started = time.monotonic()
    result = run_cli("sources", "check", "--all", "--json", config_dir=config_dir)
    seconds = time.monotonic() - started
    records = {record["source"]: record for record in
               (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))}
    return {"result": result, "records": records, "seconds": seconds, "database": database,
            "config_dir": config_dir, "web": test_web}


def test_every_source_is_reported_and_the_exit_code_says_some_failed(checked):
    result, records = checked["result"], checked["records"]
    assert result.returncode == 1, result.stderr
    assert set(records) == {"waha", "sahifa", "gulfdaily", "faulty", "down", "empty", "copycat",
                            "blocked", "slow", "gallery", "deadfirst", "retired"}
    healthy = {source for source, record in records.items() if record["healthy"]}
    assert healthy == {"waha", "sahifa", "gulfdaily", "faulty", "copycat", "deadfirst"}
    # With --json, standard output is JSON lines only; the summary line goes to stderr.
    assert all(line.startswith("{") for line in result.stdout.splitlines())
    assert result.stderr.splitlines()[-1].startswith("6 of 12 sources healthy; not healthy: ")
    assert "[12/12]" in result.stderr


def test_link_counts_follow_the_crawl_filters(checked):
    records = checked["records"]
    assert records["waha"]["entries"][0]["links"] == 4  # utm_* variants are one link each
    assert records["sahifa"]["entries"][0]["links"] == 2  # first listing page only
    assert "has a next page" in records["sahifa"]["entries"][0]["notes"]
    sitemap = next(e for e in records["gulfdaily"]["entries"] if e["kind"] == "sitemap")
    assert sitemap["links"] == 2 and "2 of 2 child sitemaps" in sitemap["notes"][0]
    assert records["gulfdaily"]["links"] == 2  # the Atom feed lists the same two articles
    # nine feed items: the off-site one does not count
    assert records["faulty"]["entries"][0]["links"] == 8


def test_the_sample_article_is_extracted(checked):
    sample = checked["records"]["waha"]["sample"]
    expected = checked["web"].articles["waha"][0]
    assert sample["extracted"] and sample["title"] == expected.title
    assert sample["chars"] == len(expected.expected_text)
    assert sample["published_at"].startswith("2024-11-17")
    sahifa = checked["records"]["sahifa"]["sample"]
    assert sahifa["title"] == checked["web"].articles["sahifa"][0].title  # windows-1256 page


def test_failures_are_named_in_a_few_words(checked):
    records = checked["records"]
    assert records["down"]["entries"][0]["answer"] == "HTTP 503"
    assert records["down"]["problem"] == "no feed, sitemap or listing answered"
    assert records["empty"]["problem"] == "no article links"
    assert records["blocked"]["entries"][0]["answer"] == "forbidden by robots.txt"
    assert records["slow"]["entries"][0]["answer"] == "timed out"
    assert records["gallery"]["sample"]["outcome"] == "HTTP 200, no article body"
    assert records["gallery"]["problem"] == "sample article: HTTP 200, no article body"
    assert records["retired"]["problem"] == "no feeds, sitemaps or listings configured"
    # A dead first link is not the source's fault: the next one is tried.
    assert records["deadfirst"]["sample"]["attempts"] == 2
    assert records["deadfirst"]["sample"]["extracted"]


def test_checks_are_bounded_polite_and_store_nothing(checked):
    # The 30-second feed is cut at the 2-second timeout, and the sources run at once.
    assert checked["seconds"] < 20
    assert checked["records"]["slow"]["seconds"] < 8
    web = checked["web"]
    agents = {agent for site in web.sites.values() for agent in site.user_agents}
    assert agents == {USER_AGENT}
    assert web["faulty"].hits["/robots.txt"] >= 1
    assert web["faulty"].hits["/private/rss.xml"] == 0
    assert not checked["database"].exists()


def test_table_output_and_a_healthy_run(checked):
    result = run_cli("sources", "check", "waha", "down", config_dir=checked["config_dir"])
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["source", "status", "kind", "address", "answer", "links", "found"]
    waha = next(line for line in lines if line.startswith("waha"))
    assert "healthy" in waha and "HTTP 200" in waha and waha.rstrip().endswith("4")
    assert any("extracted" in line and "2024-11-17" in line for line in lines)
    assert any(line.startswith("down") and "FAILING" in line and "HTTP 503" in line
               for line in lines)
    assert lines[-1] == "1 of 2 sources healthy; not healthy: down (no feed, sitemap or " \
                        "listing answered)"
    healthy = run_cli("sources", "check", "waha", "sahifa", "gulfdaily",
                      config_dir=checked["config_dir"])
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.splitlines()[-1] == "3 of 3 sources healthy"


def test_private_addresses_are_refused_unless_allowed(test_web, tmp_path):
    config_dir = write_config(tmp_path / "config", fixture_sources(test_web)[:1],
                              f"sqlite:///{tmp_path}/raqib.db", allow_private_addresses=False)
    result = run_cli("sources", "check", "--json", config_dir=config_dir)
    assert result.returncode == 1
    record = json.loads(result.stdout.splitlines()[0])
    assert record["entries"][0]["answer"] == "refused: private address"


def test_an_unknown_source_is_a_usage_error(checked):
    result = run_cli("sources", "check", "nosuch", config_dir=checked["config_dir"])
    assert result.returncode == 2
    assert "no source 'nosuch'" in result.stderr
