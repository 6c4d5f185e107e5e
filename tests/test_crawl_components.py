"""The crawl's bookkeeping components on a real local web: failed articles come back as start
requests of the next crawl, dead links never do, and the per-run budget takes a feed's links in
the order the feed lists them (crawler.middlewares, crawler.runner)."""

from __future__ import annotations

from collections import Counter

from monitor.demo.sites import SITES, article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site
from storage.repository import Repository
from tests.conftest import run_cli
from tests.fixture_web import write_config

STORIES = [a for a in load_articles() if a.site == "waha"]  # four Arabic agency stories
DATE = "Tue, 19 Nov 2024 08:00:00 GMT"


def _site() -> tuple[LocalWeb, Site, dict]:
    site = Site("waha")
    web = LocalWeb([site]).start()
    for story in STORIES:
        site.add(story.path, article_page(story, site.url(story.path), SITES["waha"]["name"], "ar"))
    source = {"id": "waha", "name": SITES["waha"]["name"], "country": "AE", "language": "ar",
              "kind": "agency", "feeds": [site.url("/rss.xml")]}
    return web, site, source


def _feed(site: Site, paths: list[str]) -> None:
    site.add("/rss.xml", Page(rss_feed("الواحة", [(site.url(p), "خبر", DATE) for p in paths]),
                              content_type="application/rss+xml", validators=False))


def _seen(database: str) -> dict[str, str]:
    repository = Repository(database, create=False)
    try:
        return {seen.url.rsplit("/", 1)[-1]: seen.outcome for seen in repository.crawl.seen_urls()}
    finally:
        repository.close()


def test_a_failed_article_is_retried_by_the_next_crawl_and_a_dead_link_is_not(tmp_path):
    web, site, source = _site()
    database = f"sqlite:///{tmp_path}/raqib.db"
    broken, dead = STORIES[0], "/news/removed.html"
    try:
        config_dir = write_config(tmp_path / "config", [source], database, rules="rules: []\n",
                                  retry_times=0)
        site.add(broken.path, Page("<h1>Internal Server Error</h1>", status=500))
        _feed(site, [broken.path, dead])
        first = run_cli("crawl", config_dir=config_dir)
        assert first.returncode == 0, first.stderr
        assert _seen(database) == {broken.path.rsplit("/", 1)[-1]: "failed", "removed.html": "gone"}

        # The article is back, but its feed no longer lists it: only the retry brings it.
        site.add(broken.path, article_page(broken, site.url(broken.path), SITES["waha"]["name"], "ar"))
        _feed(site, [])
        hits = Counter(site.hits)
        second = run_cli("crawl", config_dir=config_dir)
        assert second.returncode == 0, second.stderr
        assert _seen(database)[broken.path.rsplit("/", 1)[-1]] == "article"
        assert site.hits[broken.path] == hits[broken.path] + 1
        assert site.hits[dead] == hits[dead]  # a dead link stays dead
    finally:
        web.stop()


def test_the_budget_takes_the_newest_links_first_and_known_ones_cost_nothing(tmp_path):
    web, site, source = _site()
    database = f"sqlite:///{tmp_path}/raqib.db"
    try:
        config_dir = write_config(tmp_path / "config", [source], database, rules="rules: []\n",
                                  max_articles_per_run=2)
        _feed(site, [story.path for story in STORIES])  # newest first, as feeds list them
        assert run_cli("crawl", config_dir=config_dir).returncode == 0
        stored = {name for name, outcome in _seen(database).items() if outcome == "article"}
        assert stored == {story.path.rsplit("/", 1)[-1] for story in STORIES[:2]}

        second = run_cli("crawl", "--json", config_dir=config_dir)
        assert second.returncode == 0, second.stderr
        stored = {name for name, outcome in _seen(database).items() if outcome == "article"}
        assert stored == {story.path.rsplit("/", 1)[-1] for story in STORIES}
        assert all(site.hits[story.path] == 1 for story in STORIES)  # none fetched twice
        repository = Repository(database, create=False)
        try:
            counts = repository.runs.recent("waha", limit=1)[0].counts
        finally:
            repository.close()
        assert counts["skipped_known"] == 2 and counts["new"] == 2 and counts.get("over_budget", 0) == 0
    finally:
        web.stop()
