"""Crawl children under the daemon (#25.6): a child stopped at the grace period, or killed, is
recorded with what it really did and why it ended."""

from __future__ import annotations

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.daemon.crawls import INTERRUPTED, CrawlChildren, run_crawl_child
from monitor.daemon.health import assess
from monitor.demo.sites import demo_sources, demo_web, populate, rss_feed
from monitor.demo.web import Page, wait_for
from storage.repository import Repository
from tests.fixture_web import write_config


def _slow_waha(tmp_path):
    """The sample site `waha` whose feed ends with one article that takes a minute to answer."""
    web = demo_web().start()
    populate(web)
    site = web["waha"]
    articles = [path for path in site.pages if path.startswith("/news/")]
    site.add("/news/slow.html", Page(site.pages[articles[0]].data, delay=60))
    site.add("/rss.xml", Page(rss_feed("واحة", [(site.url(p), "خبر", "Tue, 05 Nov 2024 07:00:00 GMT")
                                              for p in [*articles, "/news/slow.html"]]),
                              content_type="application/rss+xml"))
    sources = [dict(s, schedule={"every": "1h"}) for s in demo_sources(web) if s["id"] == "waha"]
    config = write_config(tmp_path / "config", sources, f"sqlite:///{tmp_path}/raqib.db",
                          download_timeout=120, retry_times=0)
    return web, config, len(articles)


def test_a_child_stopped_at_the_grace_period_is_recorded_with_its_real_counts(tmp_path):
    web, config, fast = _slow_waha(tmp_path)
    try:
        daemon = Daemon(config)
        daemon.start()
        repository = Repository(daemon.config.settings.database_url)
        assert wait_for(lambda: repository.articles.count("waha") == fast, timeout=90)
        assert wait_for(lambda: web["waha"].hits["/news/slow.html"] >= 1, timeout=30)
        assert daemon.children.running()  # the crawl waits for its slow article
        daemon.shutdown()
        run = repository.runs.recent("waha", limit=1)[0]
        assert run.status == INTERRUPTED
        assert run.counts["new"] == fast == repository.articles.count("waha")
        assert "grace_period" in run.error and "still running" in run.error
        # Stopped with the daemon is not the source's failure.
        summary = repository.runs.summary("waha")
        assert summary.consecutive_failures == 0
        assert repository.runs.recent("waha", limit=10)[0].id == run.id
        assert len(repository.runs.recent("waha", limit=10)) == 1
    finally:
        web.stop()


def test_a_killed_child_is_recorded_as_failed_with_its_counts_and_the_signal(tmp_path):
    web, config_dir, fast = _slow_waha(tmp_path)
    try:
        config = load_config(config_dir)
        repository = Repository(config.settings.database_url)
        children = CrawlChildren()
        import os
        import signal
        import threading

        def kill_when_stored():
            wait_for(lambda: repository.articles.count("waha") == fast
                     and web["waha"].hits["/news/slow.html"] >= 1, timeout=90)
            for process in children.running().values():
                os.killpg(process.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_stored)
        killer.start()
        outcome = run_crawl_child(config, config.source("waha"), repository, children=children)
        killer.join()
        assert outcome.status == "failed" and "SIGKILL" in outcome.error
        run = repository.runs.recent("waha", limit=1)[0]
        assert run.status == "failed" and "killed by SIGKILL" in run.error
        assert run.counts["new"] == fast
        assert assess(repository.runs.summary("waha"), config.settings.health,
                      run.started_at)[0] == "ok"  # one failure is not yet "failing"
    finally:
        web.stop()
