"""The daemon's outbox: one sending thread, its own retry schedule, health alerts through it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from monitor.daemon import Daemon
from monitor.digest.run import send_pending
from monitor.digest.send import SmtpSender
from storage.repository import Repository
from tests.fixture_web import write_config
from tests.test_daemon import FakeCrawls
from tests.test_digests import RULES, SPA_TEXT, SPA_TITLE, add

pytest_plugins = ["tests.conftest_smtp", "tests.conftest_webhook"]


@pytest.fixture
def daemon_config(tmp_path, database_url, stopped_smtp_server, webhook, monkeypatch):
    """Two sources, an immediate digest to an address and a channel, operators on both."""
    monkeypatch.setenv("RAQIB_TEST_OPS", webhook.url("json", "/ops"))
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hook"))
    sources = [{"id": s, "name": f"مصدر {s}", "country": "SA", "language": "ar", "kind": "agency",
                "schedule": {"every": "1h"}, "feeds": [f"https://{s}.example/rss.xml"]}
               for s in ("spa", "wam")]
    directory = write_config(tmp_path / "config", sources, database_url, rules=RULES)
    settings = yaml.safe_load((directory / "settings.yaml").read_text(encoding="utf-8"))
    settings.update({
        "smtp": {"host": "127.0.0.1", "port": stopped_smtp_server.port, "starttls": False,
                 "timeout": 5, "from": "raqib <raqib@example.org>"},
        "digests": [{"id": "egov", "rules": ["gcc-egov-committee"], "schedule": "immediate",
                     "recipients": ["analyst@example.org"],
                     "channels": [{"url_env": "RAQIB_TEST_HOOK"}]}],
        "health": {"operators": ["ops@example.org"], "channels": [{"url_env": "RAQIB_TEST_OPS"}],
                   "failures_in_a_row": 2},
        "outbox": {"first_retry": "1m"}})
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True),
                                             encoding="utf-8")
    return directory


def test_one_sending_thread_woken_by_a_crawl_that_flags(daemon_config, database_url):
    fake = FakeCrawls(database_url)
    daemon = Daemon(daemon_config, dispatch=fake)
    daemon.start(paused=True)
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert jobs["outbox"].executor == "outbox"
        assert daemon.scheduler._executors["outbox"]._pool._max_workers == 1
        before = jobs["outbox"].next_run_time
        assert before - datetime.now(UTC) > timedelta(seconds=30)  # every minute

        sent = []
        daemon.run_outbox = lambda *args, **kwargs: sent.append(threading.current_thread())

        class Flagging(FakeCrawls):
            def __call__(self, source):
                outcome = super().__call__(source)
                return outcome.__class__(outcome.source, "ok", {"new": 1, "flagged": 1})

        daemon.dispatch = Flagging(database_url)
        daemon.crawl_source("spa")
        woken = daemon.scheduler.get_job("outbox").next_run_time
        assert woken - datetime.now(UTC) < timedelta(seconds=2)  # due now, on its own thread
        assert sent == []  # nothing sent from the crawl's thread
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_digest_jobs_run_on_the_sending_thread(daemon_config, database_url):
    path = daemon_config / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["digests"][0]["schedule"] = {"cron": "0 7 * * *"}
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    daemon = Daemon(daemon_config, dispatch=FakeCrawls(database_url))
    daemon.start(paused=True)
    try:
        assert daemon.scheduler.get_job("digest:egov").executor == "outbox"
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_pending_messages_go_out_when_the_server_returns_without_a_new_flag(
        daemon_config, database_url, stopped_smtp_server, webhook):
    daemon = Daemon(daemon_config, dispatch=FakeCrawls(database_url))
    repository = Repository(database_url)
    add(repository, daemon.config, "spa", SPA_TITLE, SPA_TEXT)
    now = datetime.now(UTC)

    daemon.run_outbox(now=now)  # the mail server is down: the e-mail waits, the channel has it
    [(mail, _)] = repository.outbox.pending()
    assert mail.recipient == "analyst@example.org" and mail.attempts == 1
    assert [r.path for r in webhook.received] == ["/hook"]

    stopped_smtp_server.start()
    daemon.run_outbox(now=now + timedelta(seconds=20))  # still backing off
    assert stopped_smtp_server.messages == []
    daemon.run_outbox(now=now + timedelta(minutes=2))  # nothing new was flagged meanwhile
    assert [m["To"] for m in stopped_smtp_server.messages] == ["analyst@example.org"]
    assert repository.outbox.pending() == []
    repository.close()


def test_a_health_alert_the_server_could_not_take_is_sent_later(daemon_config, database_url,
                                                                  stopped_smtp_server, webhook):
    fake = FakeCrawls(database_url)
    daemon = Daemon(daemon_config, dispatch=fake)
    repository = Repository(database_url)
    fake.status = "failed"
    for _ in range(2):
        daemon.crawl_source("spa")
    now = datetime.now(UTC)

    [change] = daemon.check_health(now=now)
    assert (change.source, change.new_state) == ("spa", "failing")
    # The new state and its alerts were written together, before anything was sent.
    assert repository.runs.health_state("spa").state == "failing"
    alerts = repository.outbox.messages(kind="alert")
    assert sorted(m.recipient for m in alerts) == ["RAQIB_TEST_OPS", "ops@example.org"]
    assert daemon.check_health(now=now) == []  # once, not on every check

    daemon.run_outbox(now=now)  # SMTP down: the channel has it, the e-mail waits
    [ops] = [r.json for r in webhook.received if r.path == "/ops"]
    assert ops["title"] == "[raqib] source failing: مصدر spa (spa)"
    assert [m.recipient for m, _ in repository.outbox.pending()] == ["ops@example.org"]

    stopped_smtp_server.start()
    assert [r.status for r in send_pending(daemon.config, repository,
                                           SmtpSender(stopped_smtp_server.settings()))] == ["sent"]
    [mail] = stopped_smtp_server.messages
    assert mail["Subject"] == "[raqib] source failing: مصدر spa (spa)"
    assert "2 crawls in a row failed" in mail.get_content()
    repository.close()


def test_the_outbox_job_builds_only_when_something_was_flagged(daemon_config, database_url,
                                                               monkeypatch):
    import monitor.digest.run as run

    builds = []
    real = run.run_outbox
    monkeypatch.setattr(run, "run_outbox",
                        lambda *args, **kwargs: builds.append(kwargs["build"]) or real(*args,
                                                                                       **kwargs))
    daemon = Daemon(daemon_config, dispatch=FakeCrawls(database_url))
    repository = Repository(database_url)
    daemon.run_outbox()
    daemon.run_outbox()  # nothing new: one query, no build
    add(repository, daemon.config, "spa", SPA_TITLE, SPA_TEXT)
    daemon.run_outbox()
    daemon.run_outbox()
    daemon.reload()  # new recipients may have come: build again
    daemon.run_outbox()
    assert builds == [True, False, True, False, True]
    repository.close()
