"""The poll gate (#23.1): a source with nothing new is polled without a crawl child, under the
crawl's own address policy, robots.txt rules, time limit and user agent."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from crawler import addresses
from crawler.pollgate import PollGate
from monitor.config import load_config
from monitor.daemon import crawls
from monitor.daemon.crawls import UNCHANGED, run_crawl_child
from monitor.daemon.health import assess
from monitor.demo.sites import demo_sources, demo_web, populate
from monitor.demo.web import LocalWeb, Page, Site
from storage.records import Validators
from storage.repository import Repository
from tests.conftest import run_cli
from tests.fixture_web import write_config

UA = "raqib/1.0 (+https://example.org/raqib)"
FEED = "<rss><channel><title>خبر</title></channel></rss>"


@pytest.fixture
def site():
    web = LocalWeb([Site("news")]).start()
    news = web["news"]
    news.add("/rss.xml", Page(FEED, content_type="application/rss+xml"))
    news.add("/robots.txt", Page("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    yield news
    web.stop()


def _validators(site: Site, path: str) -> Validators:
    import hashlib

    from monitor.demo.web import LAST_MODIFIED

    return Validators('"' + hashlib.md5(site.pages[path].data).hexdigest() + '"', LAST_MODIFIED)


def _gate(**options) -> PollGate:
    return PollGate(user_agent=UA, timeout=options.pop("timeout", 2.0),
                    allow_private=options.pop("allow_private", True), **options)


def test_quiet_only_when_every_page_answers_304_to_its_validators(site):
    gate = _gate()
    feed = site.url("/rss.xml")
    stored = {feed: _validators(site, "/rss.xml")}
    answer = gate.check([feed], stored.get)
    assert answer.quiet and answer.pages == 1
    assert site.hits["/rss.xml"] == 1 and site.user_agents[UA] >= 1

    # No validators stored (a first crawl, or a page with links left behind): never quiet.
    assert not gate.check([feed], {}.get).quiet
    assert not gate.check([feed], {feed: Validators(None, None)}.get).quiet
    # The page changed: 200.
    site.add("/rss.xml", Page(FEED.replace("خبر", "خبر جديد"), content_type="application/rss+xml"))
    answer = gate.check([feed], stored.get)
    assert not answer.quiet and "HTTP 200" in answer.reason
    # One page of two changed: not quiet.
    site.add("/atom.xml", Page("<feed/>", content_type="application/atom+xml"))
    stored = {feed: _validators(site, "/rss.xml"), site.url("/atom.xml"): Validators('"x"', None)}
    assert not gate.check([feed, site.url("/atom.xml")], stored.get).quiet
    # A redirect, an error, a missing page: the crawl decides.
    site.add("/moved.xml", Page("", status=301))
    site.add("/broken.xml", Page("oops", status=500))
    for path in ("/moved.xml", "/broken.xml", "/nothing.xml"):
        assert not gate.check([site.url(path)], {site.url(path): Validators('"e"', None)}.get).quiet


def test_addresses_are_spelt_as_the_crawl_stores_them(site):
    from w3lib.url import safe_url_string

    site.add("/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1.xml", Page(FEED, content_type="application/rss+xml"))
    raw = site.url("/أخبار.xml")  # as written in sources.yaml
    stored = {safe_url_string(raw): _validators(site, "/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1.xml")}
    assert _gate().check([raw], stored.get).quiet


def test_robots_txt_is_obeyed_and_kept(site):
    gate = _gate()
    site.add("/private/rss.xml", Page(FEED, content_type="application/rss+xml"))
    private = site.url("/private/rss.xml")
    answer = gate.check([private], {private: _validators(site, "/private/rss.xml")}.get)
    assert not answer.quiet and "robots.txt" in answer.reason
    assert site.hits["/private/rss.xml"] == 0
    feed = site.url("/rss.xml")
    for _ in range(3):
        assert gate.check([feed], {feed: _validators(site, "/rss.xml")}.get).quiet
    assert site.hits["/robots.txt"] == 1  # kept across polls (at most 24 hours)
    # Older than 24 hours: asked again.
    for kept in gate._robots.values():
        kept.expires = time.monotonic() - 1
    assert gate.check([feed], {feed: _validators(site, "/rss.xml")}.get).quiet
    assert site.hits["/robots.txt"] == 2


@pytest.mark.parametrize(("status", "quiet"), [(404, True), (410, True), (503, False),
                                               (500, False), (429, False)])
def test_robots_txt_errors_as_rfc_9309_says(site, status, quiet):
    site.add("/robots.txt", Page("no", status=status, content_type="text/plain"))
    feed = site.url("/rss.xml")
    assert _gate().check([feed], {feed: _validators(site, "/rss.xml")}.get).quiet is quiet
    if not quiet:
        assert site.hits["/rss.xml"] == 0  # disallow-all: the page itself is not asked


def test_a_slow_answer_is_bounded_by_download_timeout(site):
    site.add("/slow.xml", Page(FEED, delay=5))
    slow = site.url("/slow.xml")
    started = time.monotonic()
    answer = _gate(timeout=0.5).check([slow], {slow: Validators('"e"', None)}.get)
    assert not answer.quiet and time.monotonic() - started < 2


def test_private_addresses_are_refused_before_connecting(site, monkeypatch):
    feed = site.url("/rss.xml")
    stored = {feed: _validators(site, "/rss.xml")}
    answer = _gate(allow_private=False).check([feed], stored.get)
    assert not answer.quiet and "not a public address" in answer.reason
    assert sum(site.hits.values()) == 0
    # A name that resolves to loopback is refused on its resolved address, too.
    port = feed.split(":")[2].split("/")[0]
    monkeypatch.setenv(addresses.TEST_HOSTS_ENV, '{"news.test": ["127.0.0.1"]}')
    named = f"http://news.test:{port}/rss.xml"
    answer = _gate(allow_private=False).check([named], {named: stored[feed]}.get)
    assert not answer.quiet and "resolves to 127.0.0.1" in answer.reason
    assert sum(site.hits.values()) == 0
    # The test suite's stand-in for a public address is let through, as in the crawl.
    monkeypatch.setenv(addresses.TEST_PUBLIC_ENV, "127.0.0.1")
    assert _gate(allow_private=False).check([named], {named: stored[feed]}.get).quiet
    monkeypatch.delenv(addresses.TEST_PUBLIC_ENV)
    for spelling in ("2130706433", "0x7f.1", "localhost", "[::1]"):
        url = f"http://{spelling}:{port}/rss.xml"
        assert not _gate(allow_private=False).check([url], {url: stored[feed]}.get).quiet


def test_the_daemon_path_records_a_quiet_poll_without_a_child(tmp_path, monkeypatch):
    web = demo_web().start()
    try:
        populate(web)
        config_dir = write_config(tmp_path / "config", demo_sources(web),
                                  f"sqlite:///{tmp_path}/raqib.db")
        config = load_config(config_dir)
        repository = Repository(config.settings.database_url)
        gate = PollGate.from_settings(config.settings.crawl)
        for source in config.sources:  # first crawl: a child, validators stored
            assert run_crawl_child(config, source, repository, gate=gate).status == "ok"
        stored = repository.articles.count()
        started = []
        original = crawls.crawl_in_child
        monkeypatch.setattr(crawls, "crawl_in_child",
                            lambda *a, **k: started.append(a[0]) or original(*a, **k))
        for source in config.sources:
            outcome = run_crawl_child(config, source, repository, gate=gate)
            assert outcome.status == UNCHANGED, source.id
        assert started == []
        assert repository.articles.count() == stored
        for source in config.sources:
            last = repository.runs.recent(source.id, limit=1)[0]
            assert last.status == UNCHANGED and last.finished_at is not None
            assert last.counts["not_modified"] == len(source.start_urls)
            summary = repository.runs.summary(source.id)
            assert summary.consecutive_failures == 0
            assert assess(summary, config.settings.health, datetime.now(UTC))[0] == "ok"
        # `sources list` reads it as a run that went well.
        listed = run_cli("sources", "list", config_dir=config_dir)
        assert listed.returncode == 0 and UNCHANGED in listed.stdout

        # A failed article download waiting for a retry: the crawl runs.
        waha = config.source("waha")
        repository.crawl.record_outcome(web["waha"].url("/news/lost.html"), "waha", "failed",
                                        error="HTTP 503")
        # (its only article is the missing page, failed again: a `warning` run, not `unchanged`)
        assert run_crawl_child(config, waha, repository, gate=gate).status in ("ok", "warning")
        assert started == ["waha"]
    finally:
        web.stop()
