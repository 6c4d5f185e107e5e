"""Crawl children (crawler.child): their own entry point, a typed result, no secret on argv."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.daemon.crawls import CrawlChildren, crawl_in_child
from monitor.demo.sites import SITES, article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site, wait_for
from storage.repository import Repository
from tests.fixture_web import write_config

PASSWORD = "s3cret-Pa55-for-the-child"


def _session_processes(leader: int) -> list[int]:
    """The processes of a child's session: the child and whatever it started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == leader:  # field 6 of /proc/PID/stat: the session id
            found.append(int(stat.parent.name))
    return found


def _news_site(delay: float) -> tuple[LocalWeb, dict]:
    story = next(a for a in load_articles() if a.site == "waha")
    site = Site("waha")
    web = LocalWeb([site]).start()
    url = site.url(story.path)
    name = SITES["waha"]["name"]
    site.add(story.path, article_page(story, url, name, "ar"))
    site.add("/rss.xml", Page(rss_feed(name, [(url, story.title, "Tue, 19 Nov 2024 08:00:00 GMT")]),
                              content_type="application/rss+xml", delay=delay))
    source = {"id": "waha", "name": name, "country": "AE", "language": "ar",
              "kind": "agency", "feeds": [site.url("/rss.xml")]}
    return web, source


@pytest.mark.postgres
def test_the_database_password_reaches_the_crawl_child_only_in_its_environment(
        postgres_url, tmp_path):
    # The test server trusts loopback connections: the password is carried, never checked.
    url = make_url(postgres_url).set(password=PASSWORD).render_as_string(hide_password=False)
    Repository(url).close()  # the schema, before the child starts
    web, source = _news_site(delay=3.0)  # the feed answers slowly: time to look at the child
    children = CrawlChildren()
    outcome = {}
    try:
        config_dir = write_config(tmp_path / "config", [source], url, rules="rules: []\n",
                                  download_timeout=10)
        crawl = threading.Thread(target=lambda: outcome.update(done=crawl_in_child(
            "waha", config_dir=config_dir, database_url=url, time_limit=60, children=children)))
        crawl.start()
        assert wait_for(lambda: children.running(), timeout=10)
        child = children.running()["waha"]
        assert wait_for(lambda: b"crawler.child" in Path(f"/proc/{child.pid}/cmdline").read_bytes())
        looked_at = 0
        for pid in _session_processes(child.pid):
            try:
                command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert PASSWORD.encode() not in command_line, command_line
            looked_at += 1
        assert looked_at >= 1
        environment = Path(f"/proc/{child.pid}/environ").read_bytes().split(b"\0")
        assert any(entry.startswith(b"RAQIB_DATABASE_URL=") and PASSWORD.encode() in entry
                   for entry in environment)
        crawl.join(60)
    finally:
        web.stop()
    result = outcome["done"]
    assert result.status == "ok" and result.returncode == 0, result
    assert result.counts["new"] == 1 and result.counts["fetched"] == 1
    repository = Repository(postgres_url, create=False)
    try:
        assert repository.articles.count("waha") == 1
        assert [run.status for run in repository.runs.recent("waha")] == ["ok"]
    finally:
        repository.close()


def test_a_child_that_cannot_start_its_crawl_says_why(tmp_path):
    web, source = _news_site(delay=0)
    try:
        config_dir = write_config(tmp_path / "config", [source], f"sqlite:///{tmp_path}/x.db",
                                  rules="rules: []\n")
        (config_dir / "settings.yaml").write_text("crawl: {concurrency_per_site: 0}\n",
                                                  encoding="utf-8")
        outcome = crawl_in_child("waha", config_dir=config_dir,
                                 database_url=f"sqlite:///{tmp_path}/x.db", time_limit=60)
    finally:
        web.stop()
    assert outcome.status == "failed" and outcome.returncode == 2
    assert "settings.yaml" in outcome.error and "concurrency_per_site" in outcome.error
