"""The daemon: schedules and health with a controlled clock, reload, and `raqib run` end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from monitor.config import HealthSettings
from monitor.daemon import Daemon
from monitor.daemon.crawls import CrawlOutcome
from monitor.daemon.health import assess, transition
from monitor.demo.sites import (
    SampleArticle,
    article_page,
    demo_sources,
    demo_web,
    populate,
)
from monitor.demo.web import Page, wait_for
from storage.records import RunSummary
from storage.repository import Repository
from tests.conftest import ROOT
from tests.fixture_web import write_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)



def test_a_health_alert_says_how_the_crawls_in_a_row_ended(tmp_path):
    """Runs with warnings count towards `failing` (issue 25): the alert does not call them failed."""
    repository = Repository(f"sqlite:///{tmp_path}/health.db")
    settings = HealthSettings(failures_in_a_row=2, quiet_after="2d")
    for hours, status in ((5, "ok"), (4, "warning"), (3, "warning")):
        started = NOW - timedelta(hours=hours)
        repository.runs.record("spa", started, started + timedelta(minutes=1), status,
                               error="1 article could not be stored" if status != "ok" else None)
    summary = repository.runs.summary("spa")
    assert (summary.consecutive_failures, summary.consecutive_warnings) == (2, 2)
    state, problem = assess(summary, settings, NOW)
    assert state == "failing"
    assert problem.startswith("2 crawls in a row ended with warnings (last: 1 article")
    started = NOW - timedelta(hours=1)
    repository.runs.record("spa", started, started, "failed", error="no feed answered")
    assert assess(repository.runs.summary("spa"), settings, NOW)[1].startswith(
        "3 crawls in a row failed or ended with warnings (last: no feed answered)")
    repository.close()

def test_health_states():
    settings = HealthSettings(failures_in_a_row=3, quiet_after="2d")
    healthy = RunSummary("spa", last_run_at=NOW, last_status="ok",
                         last_new_article_at=NOW - timedelta(hours=5), first_run_at=NOW - timedelta(days=9))
    assert assess(healthy, settings, NOW) == ("ok", None)
    failing = RunSummary("spa", last_run_at=NOW, last_status="failed", consecutive_failures=3,
                         last_error="no feed, sitemap or listing answered")
    state, problem = assess(failing, settings, NOW)
    assert state == "failing" and "3 crawls in a row" in problem and "no feed" in problem
    quiet = RunSummary("spa", last_run_at=NOW, last_status="ok",
                       last_new_article_at=NOW - timedelta(days=3))
    assert assess(quiet, settings, NOW)[0] == "quiet"
    assert transition("spa", None, "ok", None) is None
    assert transition("spa", "ok", "failing", "x").new_state == "failing"
    assert transition("spa", "failing", "failing", "x") is None
    assert transition("spa", "failing", "ok", None).is_recovery


@pytest.fixture
def daemon_config(tmp_path, database_url):
    """Two sources; the database is SQLite and PostgreSQL alike (the shared `database_url`)."""
    sources = [{"id": s, "name": f"مصدر {s}", "country": "SA", "language": "ar", "kind": "agency",
                "schedule": {"every": "1h"}, "feeds": [f"https://{s}.example/rss.xml"]}
               for s in ("spa", "wam")]
    return write_config(tmp_path / "config", sources, database_url, rules="rules: []\n")


class FakeCrawls:
    """Stands in for crawl child processes: records calls, returns prepared outcomes."""

    def __init__(self, repository_url: str) -> None:
        self.calls: list[str] = []
        self.status = "ok"
        self.repository = Repository(repository_url)

    def __call__(self, source) -> CrawlOutcome:
        self.calls.append(source.id)
        run = self.repository.runs.start(source.id)
        self.repository.runs.finish(run, self.status, {"new": 0}, None if self.status == "ok" else "HTTP 503")
        return CrawlOutcome(source.id, self.status, {"new": 0})


def test_jobs_have_stable_ids_and_a_recent_run_is_not_repeated(daemon_config, database_url):
    repository = Repository(database_url)
    repository.runs.record("spa", started_at=datetime.now(UTC) - timedelta(minutes=20),
                           finished_at=datetime.now(UTC), status="ok")
    daemon = Daemon(daemon_config, dispatch=FakeCrawls(database_url))
    daemon.start(paused=True)
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert set(jobs) == {"crawl:spa", "crawl:wam", "health", "outbox"}
        assert jobs["crawl:spa"].coalesce and jobs["crawl:spa"].max_instances == 1
        wait = (jobs["crawl:spa"].next_run_time - datetime.now(UTC)).total_seconds()
        assert 35 * 60 <= wait <= 41 * 60  # 40 minutes left of its hour (plus jitter)
        assert (jobs["crawl:wam"].next_run_time - datetime.now(UTC)).total_seconds() < 10
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_health_alert_once_then_recovery(daemon_config, database_url):
    fake = FakeCrawls(database_url)
    daemon = Daemon(daemon_config, dispatch=fake)
    fake.status = "failed"
    for _ in range(3):
        daemon.crawl_source("spa")
    changes = daemon.check_health(now=datetime.now(UTC))
    assert [(c.source, c.new_state) for c in changes] == [("spa", "failing")]
    assert daemon.check_health(now=datetime.now(UTC)) == []  # once, not on every check
    fake.status = "ok"
    daemon.crawl_source("spa")
    changes = daemon.check_health(now=datetime.now(UTC))
    assert [(c.source, c.new_state, c.is_recovery) for c in changes] == [("spa", "ok", True)]
    assert fake.calls == ["spa"] * 4


def test_reload_applies_a_good_config_and_refuses_a_bad_one(daemon_config, database_url):
    daemon = Daemon(daemon_config, dispatch=FakeCrawls(database_url))
    daemon.start(paused=True)
    try:
        path = daemon_config / "sources.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["sources"] = data["sources"][:1] + [{**data["sources"][0], "id": "bna",
                                                  "schedule": {"every": "10m"}}]
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert daemon.reload()
        ids = {job.id for job in daemon.scheduler.get_jobs() if job.id.startswith("crawl:")}
        assert ids == {"crawl:spa", "crawl:bna"}
        path.write_text(path.read_text(encoding="utf-8").replace("10m", "10 minutes"), encoding="utf-8")
        assert not daemon.reload()  # refused: the running configuration stays
        assert {s.id for s in daemon.config.sources} == {"spa", "bna"}
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_raqib_run_end_to_end(tmp_path):
    """Starts `raqib run`, publishes an article, sees it stored within one interval, SIGTERM → 0."""
    web = demo_web().start()
    try:
        populate(web)
        sources = [dict(s, schedule={"every": "2s"}) for s in demo_sources(web) if s["id"] == "waha"]
        config = write_config(tmp_path / "config", sources, f"sqlite:///{tmp_path}/run.db")
        settings = yaml.safe_load((config / "settings.yaml").read_text())
        settings["daemon"] = {"jitter": "0s", "grace_period": "10s"}
        (config / "settings.yaml").write_text(yaml.safe_dump(settings))
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "run"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        repository = Repository(f"sqlite:///{tmp_path}/run.db")
        try:
            assert wait_for(lambda: repository.articles.count("waha") == 4, timeout=60)
            fresh = SampleArticle(
                slug="qatar-egov-meeting", site="waha",
                title="الدوحة تستضيف الاجتماع السابع والعشرين للجنة الوزارية للحكومة الإلكترونية الخليجية",
                dateline="الدوحة 20 نوفمبر 2024 (واس)", jsonld_date="2024-11-20T10:00:00+03:00",
                paragraphs=("استضافت دولة قطر الاجتماع السابع والعشرين للجنة الوزارية للحكومة الإلكترونية "
                            "بدول مجلس التعاون لدول الخليج العربية، بمشاركة رؤساء وفود الدول الأعضاء.",
                            "وبحث الاجتماع خطة العمل الخليجية المشتركة للتحول الرقمي للأعوام المقبلة، "
                            "وتقارير فرق العمل المعنية بالهوية الرقمية وتبادل البيانات.",
                            "وأقر المجتمعون عدداً من التوصيات التي سترفع إلى المجلس الوزاري."))
            site = web["waha"]
            site.add(fresh.path, article_page(fresh, site.url(fresh.path), "واحة", "ar"))
            feed = site.pages["/rss.xml"].data.decode().replace(
                "<item>", f"<item><title>x</title><link>{site.url(fresh.path)}</link>"
                          f"<pubDate>Wed, 20 Nov 2024 07:00:00 GMT</pubDate></item><item>", 1)
            site.add("/rss.xml", Page(feed, content_type="application/rss+xml"))
            published = time.monotonic()
            assert wait_for(lambda: repository.articles.count("waha") == 5, timeout=30)
            seen_after = time.monotonic() - published
            assert seen_after < 15
            assert site.hits[fresh.path] == 1
            # SIGHUP with a broken sources.yaml: refused, the daemon keeps running on the old one.
            sources_file = config / "sources.yaml"
            sources_file.write_text(sources_file.read_text(encoding="utf-8").replace(
                "every: 2s", "every: 2 seconds"), encoding="utf-8")
            process.send_signal(signal.SIGHUP)
            time.sleep(1.5)
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "scheduled crawl:waha" in err
        assert "raqib daemon stopped" in err
        assert "configuration not reloaded, keeping the running one" in err
        assert "source 'waha'" in err.split("configuration not reloaded", 1)[1]
        assert "crawl waha: failed" not in err  # crawls went on with the configuration in force
        statuses = {run.status for run in repository.runs.recent("waha", limit=1000)}
        assert "running" not in statuses  # nothing half-written
        repository.close()
    finally:
        web.stop()


def test_the_log_line_of_a_failed_crawl_says_why_and_what_it_flagged(daemon_config, database_url,
                                                                    caplog):
    outcome = CrawlOutcome("spa", "failed", {"fetched": 3, "new": 1, "flagged": 1},
                           error="crawl ended: shutdown")
    daemon = Daemon(daemon_config, dispatch=lambda source: outcome)
    with caplog.at_level("INFO", logger="monitor.daemon"):
        daemon.crawl_source("spa")
    [record] = [r for r in caplog.records if r.getMessage().startswith("crawl spa:")]
    assert record.levelname == "WARNING"
    assert record.getMessage() == ("crawl spa: failed — crawl ended: shutdown; 3 fetched, 1 new, "
                                   "0 failed, 1 flagged")
