"""A source that answers but gives nothing to store is a warning, and counts toward its health
(issue 25, point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.report import warning_for
from monitor.demo.sites import article_page, listing_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site
from storage.repository import Repository
from tests.conftest import run_cli
from tests.fixture_web import write_config


@pytest.fixture(scope="module")
def sites():
    """'broken': a feed whose two articles answer 500; 'wrongsel': a listing whose selector
    matches nothing; 'fine': one good article."""
    web = LocalWeb([Site("broken"), Site("wrongsel"), Site("fine")]).start()
    article = load_articles()[0]
    broken = web["broken"]
    for path in ("/news/1.html", "/news/2.html"):
        broken.add(path, Page("<h1>Internal Server Error</h1>", status=500))
    broken.add("/rss.xml", Page(rss_feed("معطل", [(broken.url(p), "خبر",
                                                  "Tue, 05 Nov 2024 07:00:00 GMT")
                                                 for p in ("/news/1.html", "/news/2.html")]),
                                content_type="application/rss+xml"))
    wrong = web["wrongsel"]
    wrong.add(article.path, article_page(article, wrong.url(article.path), "محدد خاطئ", "ar"))
    wrong.add("/news", listing_page("محدد خاطئ", [(article.path, article.title)], None))
    fine = web["fine"]
    fine.add(article.path, article_page(article, fine.url(article.path), "سليم", "ar"))
    fine.add("/rss.xml", Page(rss_feed("سليم", [(fine.url(article.path), "خبر",
                                                "Tue, 05 Nov 2024 07:00:00 GMT")]),
                              content_type="application/rss+xml"))
    yield web
    web.stop()


def _source(source_id: str, **entry) -> dict:
    return {"id": source_id, "name": source_id, "country": "KW", "language": "ar",
            "kind": "press", "timezone": "Asia/Kuwait", **entry}


def test_sources_that_give_nothing_to_store_are_warnings(sites, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/raqib.db"
    config = write_config(tmp_path / "config", [
        _source("broken", feeds=[sites["broken"].url("/rss.xml")]),
        _source("wrongsel", listings=[{"url": sites["wrongsel"].url("/news"),
                                       "links": "a.no-such-class::attr(href)"}]),
        _source("fine", feeds=[sites["fine"].url("/rss.xml")]),
    ], url, retry_times=0)
    result = run_cli("crawl", config_dir=config)
    assert result.returncode == 0, result.stderr  # every source ran
    lines = [line.split() for line in result.stdout.splitlines()]
    status = {row[0]: row[1] for row in lines[2:] if row and row[0] != "total"}
    assert status == {"broken": "warning", "wrongsel": "warning", "fine": "ok"}
    assert "broken: WARNING: every article failed (2)" in result.stderr
    assert ("raqib: warning: source 'wrongsel' gave nothing to store: its feeds, sitemaps and "
            "listings answered but gave no article link") in result.stderr

    repository = Repository(url, create=False)
    for source, problem in (("broken", "every article failed (2)"),
                            ("wrongsel", "gave no article link")):
        [run] = repository.runs.recent(source)
        assert run.status == "warning" and problem in run.error
        summary = repository.runs.summary(source)
        assert summary.consecutive_failures == 1 and problem in summary.last_error
    assert repository.runs.summary("fine").consecutive_failures == 0
    repository.close()


@pytest.mark.parametrize(("counts", "warning"), [
    ({"discovery_ok": 1}, "gave no article link"),
    ({"discovery_ok": 1, "offsite": 3}, "(3 link(s) to other sites)"),
    ({"discovery_ok": 1, "not_modified": 1}, None),  # unchanged since the last crawl
    ({"discovery_ok": 1, "skipped_known": 4}, None),  # nothing new: fine
    ({"discovery_ok": 1, "fetched": 2, "failed": 2}, "every article failed (2)"),
    ({"discovery_ok": 1, "fetched": 2, "failed": 1, "new": 1}, None),
    ({"discovery_ok": 1, "fetched": 1, "not_article": 1}, None),
    ({"discovery_ok": 1, "fetched": 1, "duplicate": 1}, None),
])
def test_when_a_crawl_is_a_warning(counts: dict, warning: str | None) -> None:
    found = warning_for(counts)
    assert (found is None) if warning is None else (warning in found)
