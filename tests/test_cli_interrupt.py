"""Ctrl-C during `raqib crawl` (issue 25, point 5): the first lets the requests in flight finish
and says so, the second stops at once; either way the summary is true and the runs are recorded
`interrupted`, never left `running`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.demo.sites import article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site, wait_for
from tests.conftest import ROOT
from tests.fixture_web import write_config

FAST = ("egov-ministerial-26", "traffic-eservice", "gcc-interior-committee")
SLOW = ("tech-company-results", "bahrain-egov-forum")
SLOW_SECONDS = 8.0


@pytest.fixture
def slow_site():
    """A site whose feed links three quick articles and two that take SLOW_SECONDS."""
    web = LocalWeb([Site("batee")]).start()
    site = web["batee"]
    articles = {a.slug: a for a in load_articles()}
    for slug in FAST + SLOW:
        article = articles[slug]
        site.add(article.path, Page(article_page(article, site.url(article.path), "بطيء", "ar"),
                                    delay=SLOW_SECONDS if slug in SLOW else 0))
    site.add("/rss.xml", Page(rss_feed("بطيء", [(site.url(articles[slug].path), "خبر",
                                                   "Tue, 05 Nov 2024 07:00:00 GMT")
                                                  for slug in FAST + SLOW]),
                              content_type="application/rss+xml"))
    yield site
    web.stop()


def _start_crawl(tmp_path: Path, site: Site) -> tuple[subprocess.Popen, Path]:
    database = tmp_path / "raqib.db"
    source = {"id": "batee", "name": "موقع بطيء", "country": "KW", "language": "ar",
              "kind": "press", "timezone": "Asia/Kuwait", "feeds": [site.url("/rss.xml")]}
    config = write_config(tmp_path / "config", [source], f"sqlite:///{database}",
                          download_timeout=30, concurrency_per_site=8, autothrottle=False,
                          obey_robots_txt=False)
    # Its own session, so that the signal goes to its process group, as a terminal's Ctrl-C
    # goes to raqib and its extraction processes alike.
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "crawl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    return process, database


def _stored(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _runs(database: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT status, error FROM crawl_runs").fetchall()


def _wait_until_only_slow_pages_are_in_flight(process: subprocess.Popen, site: Site,
                                              database: Path) -> None:
    assert wait_for(lambda: all(site.hits[f"/news/{slug}.html"] for slug in SLOW)
                    and _stored(database) == len(FAST), timeout=60), (
        process.poll(), dict(site.hits), _stored(database))


def _summary_row(stdout: str) -> list[str]:
    return next(line.split() for line in stdout.splitlines() if line.startswith("batee"))


def test_first_ctrl_c_finishes_the_requests_in_flight_and_records_interrupted(
        tmp_path: Path, slow_site: Site) -> None:
    process, database = _start_crawl(tmp_path, slow_site)
    try:
        _wait_until_only_slow_pages_are_in_flight(process, slow_site, database)
        asked = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    took = time.monotonic() - asked
    assert process.returncode == 130, stderr
    assert "stopping — finishing 2 requests in flight (Ctrl-C again to stop now)" in stderr
    assert "Traceback" not in stderr
    # The slow pages were finished, not dropped: five articles stored, and the summary says so.
    assert _stored(database) == len(FAST) + len(SLOW)
    header = next(line.split() for line in stdout.splitlines() if line.startswith("source"))
    row = dict(zip(header, _summary_row(stdout), strict=True))
    assert row["status"] == "interrupted" and row["new"] == "5" and row["fetched"] == "5", stdout
    assert _runs(database) == [("interrupted", "stopped by Ctrl-C")]
    assert took < SLOW_SECONDS + 20


def test_second_ctrl_c_stops_now_and_still_records_the_run(tmp_path: Path,
                                                           slow_site: Site) -> None:
    process, database = _start_crawl(tmp_path, slow_site)
    try:
        _wait_until_only_slow_pages_are_in_flight(process, slow_site, database)
        asked = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    took = time.monotonic() - asked
    assert process.returncode == 130, stderr
    assert "Ctrl-C again to stop now" in stderr and "Traceback" not in stderr
    assert took < SLOW_SECONDS - 2  # it did not wait for the slow pages
    stored = _stored(database)
    assert stored == len(FAST)
    header = next(line.split() for line in stdout.splitlines() if line.startswith("source"))
    row = dict(zip(header, _summary_row(stdout), strict=True))
    assert row["status"] == "interrupted" and row["new"] == str(stored), stdout
    assert _runs(database) == [("interrupted", "stopped by Ctrl-C")]


def test_sigterm_stops_as_before_for_the_daemons_children(tmp_path: Path,
                                                          slow_site: Site) -> None:
    """SIGTERM (what the daemon sends a crawl child at its time limit) is not a Ctrl-C: the
    requests in flight finish and the run is a failure, `crawl ended: shutdown`."""
    process, database = _start_crawl(tmp_path, slow_site)
    try:
        _wait_until_only_slow_pages_are_in_flight(process, slow_site, database)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, stderr
    assert "stopping —" not in stderr and "Traceback" not in stderr
    assert _stored(database) == len(FAST) + len(SLOW)
    assert _runs(database) == [("failed", "crawl ended: shutdown")]
