"""The per-run article budget never hides the rest behind a 304 (issue 20 point 4): links over
the budget are queued and taken first by the next runs, and a run that leaves links behind
keeps no validators, so its feed is read in full next time (and the daemon must crawl it)."""

from __future__ import annotations

from storage.repository import Repository
from tests.conftest import run_cli
from tests.faults_web import NewsSite, many_articles


def _state(database: str, feed: str) -> tuple[int, dict, object]:
    repository = Repository(database, create=False)
    try:
        outcomes: dict[str, int] = {}
        for seen in repository.crawl.seen_urls("waha"):
            outcomes[seen.outcome] = outcomes.get(seen.outcome, 0) + 1
        return repository.articles.count("waha"), outcomes, repository.crawl.validators(feed)
    finally:
        repository.close()


def _crawl(config_dir) -> None:
    done = run_cli("crawl", config_dir=config_dir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_200_articles_with_a_budget_of_50_are_all_stored_in_four_crawls(tmp_path):
    site = NewsSite(many_articles(200))
    database = f"sqlite:///{tmp_path}/raqib.db"
    feed = site.site.url("/rss.xml")
    try:
        config_dir = site.config(tmp_path / "config", database, max_articles_per_run=50,
                                 download_timeout=30, retry_times=0, extraction_workers=0)
        for crawl, stored in enumerate((50, 100, 150, 200), start=1):
            _crawl(config_dir)
            count, outcomes, validators = _state(database, feed)
            assert count == stored, (crawl, outcomes)
            assert outcomes == {"article": stored, **({"queued": 200 - stored} if stored < 200 else {})}
            # Links left behind: no validators, so the feed is read in full next time (and the
            # daemon's poll gate must crawl the source); all taken: validators kept.
            assert (validators is None) == (stored < 200), crawl
        assert all(hits == 1 for hits in site.fetched().values())  # none downloaded twice

        # Nothing left: the feed answers 304 and nothing is fetched.
        feed_hits = site.site.hits["/rss.xml"]
        _crawl(config_dir)
        assert site.site.hits["/rss.xml"] == feed_hits + 1
        repository = Repository(database, create=False)
        try:
            last = repository.runs.recent("waha", limit=1)[0]
        finally:
            repository.close()
        assert last.status == "ok" and last.counts["not_modified"] == 1
        assert last.counts["fetched"] == 0 and last.counts.get("backlog", 0) == 0
        assert _state(database, feed)[0] == 200
    finally:
        site.stop()


def test_links_over_the_budget_are_fetched_after_the_feed_has_moved_on(tmp_path):
    articles = many_articles(8)
    site = NewsSite(articles)
    site.show(articles[:4])  # the feed shows the four newest
    database = f"sqlite:///{tmp_path}/raqib.db"
    try:
        config_dir = site.config(tmp_path / "config", database, max_articles_per_run=2,
                                 download_timeout=30, retry_times=0, extraction_workers=0)
        _crawl(config_dir)
        repository = Repository(database, create=False)
        try:
            assert repository.crawl.backlog("waha") == [site.site.url(a.path)
                                                        for a in articles[2:4]]
        finally:
            repository.close()
        # Four newer stories push the first four off the feed before the next crawl.
        site.show(articles[4:])
        _crawl(config_dir)
        stored = _stored_paths(database)
        assert stored == {a.path for a in articles[:4]}  # the backlog went first
        _crawl(config_dir)
        _crawl(config_dir)
        assert _stored_paths(database) == {a.path for a in articles}
        assert all(hits == 1 for hits in site.fetched().values())
    finally:
        site.stop()


def _stored_paths(database: str) -> set[str]:
    repository = Repository(database, create=False)
    try:
        return {"/" + a.url.split("/", 3)[-1] for a in repository.articles.find(limit=1000)}
    finally:
        repository.close()
