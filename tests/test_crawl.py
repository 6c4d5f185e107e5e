"""End to end: `raqib crawl` against the local test web, twice, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from storage.records import UrlOutcome
from storage.repository import Repository
from tests.conftest import _postgres_database, run_cli
from tests.fixture_web import FAULTY_ARTICLE, fixture_sources, write_config

HEALTHY = ("waha", "sahifa", "gulfdaily")


def _article_hits(web) -> Counter:
    return Counter({(name, path): count for name, site in web.sites.items()
                    for path, count in site.hits.items() if path.startswith("/news/")})


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crawled(request, test_web, tmp_path_factory):
    """Two crawls of the whole test web into one database, with what each printed."""
    for site in test_web.sites.values():
        site.hits.clear()
    directory = tmp_path_factory.mktemp(f"crawl-{request.param}")
    if request.param == "sqlite":
        database = iter([f"sqlite:///{directory}/raqib.db"])
    else:
        database = _postgres_database()
    url = next(database)
    config_dir = write_config(directory / "config", fixture_sources(test_web), url)
    started = time.monotonic()
    first = run_cli("crawl", config_dir=config_dir)
    first_seconds = time.monotonic() - started
    hits_after_first = _article_hits(test_web)
    feed_hits = {name: dict(site.hits) for name, site in test_web.sites.items()}
    second = run_cli("crawl", *HEALTHY, config_dir=config_dir)
    items = run_cli("items", "--format", "jsonl", "--limit", "0", config_dir=config_dir)
    repository = Repository(url, create=False)
    yield {"first": first, "second": second, "items": items, "seconds": first_seconds,
           "hits_first": hits_after_first, "hits_second": _article_hits(test_web),
           "feed_hits": feed_hits, "repository": repository, "config_dir": config_dir,
           "web": test_web}
    repository.close()
    for _ in database:  # drops the PostgreSQL database
        pass


def _articles(crawled) -> list[dict]:
    return [json.loads(line) for line in crawled["items"].stdout.splitlines()]


def _summary(result) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in result.stdout.splitlines()]
    header = lines[0]
    return {row[0]: dict(zip(header, row, strict=False)) for row in lines[2:] if row}


def test_first_crawl_reports_every_source_and_fails_for_the_dead_one(crawled):
    first = crawled["first"]
    assert first.returncode == 1, first.stderr
    summary = _summary(first)
    assert set(summary) >= {"waha", "sahifa", "gulfdaily", "faulty", "down", "empty", "copycat"}
    assert summary["down"]["status"] == "failed"
    assert "source 'down' failed" in first.stderr
    for source in ("waha", "sahifa", "gulfdaily", "faulty", "copycat"):
        assert summary[source]["status"] == "ok", source
    # An empty feed answers but gives nothing to store: a warning, not a bare "ok".
    assert summary["empty"]["status"] == "warning"
    assert "raqib: warning: source 'empty' gave nothing to store: its feeds, sitemaps and " \
           "listings answered but gave no article link" in first.stderr
    # The copycat site carries the agency's story word for word: whichever of the two
    # concurrent crawls stores it first owns it, the other records a duplicate.
    assert int(summary["waha"]["new"]) + int(summary["copycat"]["new"]) == 4
    assert summary["sahifa"]["new"] == "3"
    assert summary["gulfdaily"]["new"] == "2"
    assert "[7/7]" in first.stderr  # a progress line per source


def test_faults_are_counted_and_survived(crawled):
    summary = _summary(crawled["first"])["faulty"]
    # stored: the real article and the broken-HTML page; failed: 500, 40-second page, 20 MB page
    assert summary["new"] == "2"
    assert summary["failed"] == "4"  # 500, timeout, too large, and the dead link (404)
    assert summary["not-article"] == "1"  # the photo gallery
    seen = {row.url.rsplit("/", 1)[-1]: row for row in _seen(crawled)}
    assert seen["dead.html"].outcome == "gone"
    assert seen["server-error.html"].outcome == "failed"
    assert seen["slow.html"].last_error == "timed out"
    assert "larger than" in seen["huge.html"].last_error
    assert "hidden.html" not in seen  # robots.txt disallows /private/
    assert crawled["seconds"] < 60


def _seen(crawled) -> list[UrlOutcome]:
    return crawled["repository"].crawl.seen_urls()


def test_stored_articles_are_clean_and_canonical(crawled):
    articles = _articles(crawled)
    assert articles, crawled["items"].stderr
    for article in articles:
        assert {"id", "source", "url", "title", "published_at", "language", "text", "rules",
                "cluster", "fetched_at"} <= set(article)
        assert "utm_" not in article["url"] and "fbclid" not in article["url"]
        assert "© 2024" not in article["text"]
        assert "أخبار ذات صلة" not in article["text"] and "نستخدم ملفات تعريف" not in article["text"]
    faulty = next(a for a in articles if a["source"] == "faulty" and "cait" in a["url"])
    assert faulty["title"] == FAULTY_ARTICLE.title
    assert faulty["published_at"].startswith("2024-11-05T07:00:00")


def test_windows_1256_pages_come_out_as_arabic(crawled):
    sahifa = [a for a in _articles(crawled) if a["source"] == "sahifa"]
    expected = {a.title: a for a in crawled["web"].articles["sahifa"]}
    assert {a["title"] for a in sahifa} == set(expected)
    for article in sahifa:
        assert article["language"] == "ar"
        assert article["text"] == expected[article["title"]].expected_text


def test_identical_text_on_a_second_site_is_a_duplicate(crawled):
    summary = _summary(crawled["first"])
    assert int(summary["waha"]["duplicate"]) + int(summary["copycat"]["duplicate"]) == 1
    original = crawled["web"].articles["waha"][0].path
    rows = [row for row in _seen(crawled) if "story-77" in row.url or row.url.endswith(original)]
    assert sorted(row.outcome for row in rows) == ["article", "duplicate"]
    assert rows[0].article_id == rows[1].article_id is not None
    assert len({a["text"] for a in _articles(crawled)}) == len(_articles(crawled))


def test_second_crawl_is_cheap_and_idempotent(crawled):
    second = crawled["second"]
    assert second.returncode == 0, second.stderr
    summary = _summary(second)
    for source in HEALTHY:
        assert summary[source]["new"] == "0"
        assert summary[source]["fetched"] == "0"
    first_hits, second_hits = crawled["hits_first"], crawled["hits_second"]
    healthy_first = {k: v for k, v in first_hits.items() if k[0] in HEALTHY}
    healthy_second = {k: v for k, v in second_hits.items() if k[0] in HEALTHY}
    assert healthy_first == healthy_second  # not one article downloaded again
    runs = crawled["repository"].runs.recent("waha")
    assert runs[0].counts.get("not_modified", 0) >= 1  # the feed answered 304


def test_articles_are_stored_exactly_once(crawled):
    articles = _articles(crawled)
    urls = [a["url"] for a in articles]
    assert len(urls) == len(set(urls))
    # 4 agency stories (one also on the copycat site), 3 newspaper, 2 English, 2 from "faulty"
    assert crawled["repository"].articles.count() == len(articles) == 4 + 3 + 2 + 2


def test_a_republished_story_joins_the_cluster_of_the_first_copy(crawled):
    articles = {a["title"]: a for a in _articles(crawled)}
    by_slug = {a.slug: a for site in crawled["web"].articles.values() for a in site}
    original = articles[by_slug["egov-ministerial-26"].title]
    copy = articles[by_slug["riyadh-meeting-copy"].title]  # new headline, no dateline, trimmed
    assert copy["cluster"] is not None and copy["cluster"] == original["cluster"]
    assert copy["cluster"] == min(original["id"], copy["id"])
    assert articles[by_slug["bahrain-egov-forum"].title]["cluster"] is None


def test_items_clusters_show_each_story_once_with_who_else_carried_it(crawled):
    result = run_cli("items", "--clusters", "--format", "jsonl", "--limit", "0",
                     config_dir=crawled["config_dir"])
    stories = [json.loads(line) for line in result.stdout.splitlines()]
    everything = _articles(crawled)
    assert len(stories) == len(everything) - 1  # the republished copy is folded into its story
    story = next(s for s in stories if s["also_reported_by"])
    assert story["id"] == story["cluster"]
    # The agency story (stored from waha or its word-for-word copycat, whichever came first)
    # and the newspaper's rewrite: crawled concurrently, either may be the first copy.
    carriers = {story["source"], *(c["source"] for c in story["also_reported_by"])}
    assert len(story["also_reported_by"]) == 1
    assert "sahifa" in carriers and carriers & {"waha", "copycat"}
    table = run_cli("items", "--clusters", config_dir=crawled["config_dir"]).stdout
    assert "also reported by: " in table
