"""A database outage (#20.7): the daemon waits and retries instead of exiting, takes the
scheduler lock again when the database is back, and never schedules without the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from monitor.demo.sites import demo_sources, demo_web, populate
from monitor.demo.web import wait_for
from storage.locks import _LOCK_SPACE, _lock_key
from storage.repository import Repository
from tests.conftest import ROOT
from tests.fixture_web import write_config

pytestmark = pytest.mark.postgres
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class Daemon:
    """`raqib run` in a child process, its log read as it comes (a file: no pipe to fill)."""

    def __init__(self, config: Path) -> None:
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "run"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=self.log, text=True)

    def text(self) -> str:
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.unlink(self.log.name)
        return self.process.returncode


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _terminate_sessions(database: str) -> int:
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        return len(connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchall())


def _allow_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')


def _runs_since(repository: Repository, moment: datetime) -> int:
    return sum(1 for run in repository.runs.recent("waha", limit=1000) if run.started_at > moment)


@pytest.fixture
def waha_config(tmp_path, postgres_url):
    web = demo_web().start()
    populate(web)
    sources = [dict(s, schedule={"every": "2s"}) for s in demo_sources(web) if s["id"] == "waha"]
    config = write_config(tmp_path / "config", sources, postgres_url)
    settings = yaml.safe_load((config / "settings.yaml").read_text())
    settings["daemon"] = {"jitter": "0s", "grace_period": "5s"}
    (config / "settings.yaml").write_text(yaml.safe_dump(settings))
    yield config, postgres_url
    _allow_connections(_name(postgres_url), True)
    web.stop()


def test_the_daemon_waits_out_an_outage_and_schedules_again(waha_config):
    config, url = waha_config
    repository = Repository(url)
    daemon = Daemon(config)
    try:
        assert wait_for(lambda: _runs_since(repository, datetime.min.replace(tzinfo=UTC)) >= 2,
                        timeout=90), daemon.text()
        repository.close()
        # The outage: no new connection is accepted, every open one is cut.
        _allow_connections(_name(url), False)
        _terminate_sessions(_name(url))
        assert wait_for(lambda: "database unreachable" in daemon.text(), timeout=30), daemon.text()
        time.sleep(8)  # long enough for a few attempts and back-offs
        assert daemon.process.poll() is None, daemon.text()
        assert "lost the scheduler lock" in daemon.text()
        assert "trying again in" in daemon.text()
        # The database is back: the lock is taken again and crawls run again.
        _allow_connections(_name(url), True)
        back = datetime.now(UTC)
        repository = Repository(url)
        assert wait_for(lambda: _runs_since(repository, back) >= 2, timeout=90), daemon.text()
        text = daemon.text()
        assert "took over the scheduler lock" in text.split("lost the scheduler lock", 1)[1]
        assert "scheduling again" in text
        assert daemon.process.poll() is None
    finally:
        status = daemon.stop()
        repository.close()
    assert status == 0


def test_a_daemon_that_lost_the_lock_stops_scheduling_until_it_holds_it_again(waha_config):
    config, url = waha_config
    repository = Repository(url)
    daemon = Daemon(config)
    try:
        assert wait_for(lambda: _runs_since(repository, datetime.min.replace(tzinfo=UTC)) >= 2,
                        timeout=90), daemon.text()
        with psycopg.connect(ADMIN.replace("dbname=postgres", f"dbname={_name(url)}"),
                             autocommit=True) as rival:
            holder = rival.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                "AND objid = %s", (_LOCK_SPACE, _lock_key("scheduler") & 0xFFFFFFFF)).fetchone()
            assert holder is not None
            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", holder)
            # Another daemon (here: this test) takes the lock before the first one looks again.
            assert wait_for(lambda: rival.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                                  (_LOCK_SPACE, _lock_key("scheduler"))).fetchone()[0],
                            timeout=5)
            assert wait_for(lambda: "lost the scheduler lock" in daemon.text(), timeout=30)
            time.sleep(3)  # a crawl already running when the lock was lost may still finish
            paused = datetime.now(UTC)
            time.sleep(8)  # four intervals of the source's schedule
            assert _runs_since(repository, paused) == 0, daemon.text()
            assert "standby" in daemon.text().split("lost the scheduler lock", 1)[1]
            resumed = datetime.now(UTC)
        # The rival's session ended, and its lock with it: the daemon schedules again.
        assert wait_for(lambda: _runs_since(repository, resumed) >= 1, timeout=60), daemon.text()
        assert daemon.process.poll() is None
    finally:
        status = daemon.stop()
        repository.close()
    assert status == 0


def test_taking_the_lock_waits_out_a_database_that_does_not_answer(monkeypatch, caplog):
    """The back-off itself, without a server: three failed attempts, logged, then the lock."""
    import logging
    import threading

    from sqlalchemy.exc import OperationalError

    from monitor.daemon import leadership

    monkeypatch.setattr(leadership, "STANDBY_POLL", 0.01)
    attempts = []

    class Locks:
        def try_lock(self, name):
            attempts.append(time.monotonic())
            if len(attempts) <= 3:
                raise OperationalError("SELECT 1", {}, Exception("connection refused\nDETAIL"))
            return "the lock"

    class FakeRepository:
        dialect = "postgresql"  # where a database can be away (SQLite is a file)
        locks = Locks()

    caplog.set_level(logging.INFO, logger="monitor.daemon.leadership")
    lead = leadership.Leadership(FakeRepository())
    assert lead.take(threading.Event())
    assert lead.lock == "the lock" and len(attempts) == 4
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.5 and gaps[2] > gaps[1] * 1.5  # doubling back-off
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("database unreachable (connection refused)" in w
                                      for w in warnings)
    assert "took over the scheduler lock" in caplog.text
    # Stopped while waiting: False, at once.
    stop = threading.Event()
    stop.set()
    assert not leadership.Leadership(FakeRepository()).take(stop)
