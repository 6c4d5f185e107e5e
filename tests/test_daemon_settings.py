"""Bad settings (#20.6): every duration and size refused at load, a reload applied whole or not
at all."""

from __future__ import annotations

import pytest
import yaml

from monitor.config import ConfigError, load_config
from monitor.daemon import Daemon
from tests.conftest import run_cli
from tests.fixture_web import write_config


@pytest.fixture
def config_dir(tmp_path):
    sources = [{"id": s, "name": f"مصدر {s}", "country": "SA", "language": "ar", "kind": "agency",
                "schedule": {"every": "1h"}, "feeds": [f"https://{s}.example/rss.xml"]}
               for s in ("spa", "wam")]
    return write_config(tmp_path / "config", sources, f"sqlite:///{tmp_path}/raqib.db",
                        rules="rules: []\n")


def _set(config_dir, section: str, key: str, value) -> None:
    path = config_dir / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(settings))


@pytest.mark.parametrize(("section", "key", "value"), [
    ("daemon", "crawl_time_limit", "5x"),
    ("daemon", "crawl_time_limit", "0s"),
    ("daemon", "jitter", "1x"),
    ("daemon", "jitter", -3),
    ("daemon", "grace_period", "30 seconds"),
    ("health", "quiet_after", "2 days"),
    ("near_duplicates", "window", "7"),
    ("crawl", "source_time_limit", "0m"),
    ("crawl", "max_page_size", "10 MiB"),
    ("crawl", "max_page_size", "0"),
    ("outbox", "check_every", "99999999d"),
])
def test_every_duration_and_size_is_checked_at_load(config_dir, section, key, value):
    _set(config_dir, section, key, value)
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    message = str(caught.value)
    assert "settings.yaml" in message and f"{section}.{key}" in message
    assert "\n" not in message


def test_raqib_run_refuses_a_bad_duration_in_one_line_exit_2(config_dir):
    _set(config_dir, "daemon", "crawl_time_limit", "5x")
    result = run_cli("run", config_dir=config_dir, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "daemon.crawl_time_limit" in lines[0] and "'5x'" in lines[0]
    assert "Traceback" not in result.stderr


def _crawl_jobs(daemon: Daemon) -> dict[str, str]:
    return {job.id: str(job.trigger) for job in daemon.scheduler.get_jobs()
            if job.id.startswith("crawl:")}


def test_a_reload_with_a_bad_jitter_is_refused_and_the_daemon_keeps_its_config(config_dir, caplog):
    daemon = Daemon(config_dir, dispatch=lambda source: None)
    daemon.start(paused=True)
    try:
        jobs = _crawl_jobs(daemon)
        _set(config_dir, "daemon", "jitter", "1x")
        assert not daemon.reload()
        assert "configuration not reloaded, keeping the running one" in caplog.text
        assert "daemon.jitter" in caplog.text
        assert daemon.config.settings.daemon.jitter == "10s"
        assert _crawl_jobs(daemon) == jobs
        _set(config_dir, "daemon", "jitter", "2s")  # fixed: the next reload applies it
        assert daemon.reload()
        assert daemon.config.settings.daemon.jitter == "2s"
    finally:
        daemon.scheduler.shutdown(wait=False)
        daemon.snapshot.remove()


def test_a_reload_that_fails_halfway_leaves_the_running_config_whole(config_dir, monkeypatch, caplog):
    daemon = Daemon(config_dir, dispatch=lambda source: None)
    daemon.start(paused=True)
    try:
        jobs = _crawl_jobs(daemon)
        snapshot = (daemon.snapshot.directory / "sources.yaml").read_text(encoding="utf-8")
        path = config_dir / "sources.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["sources"] = [{**data["sources"][0], "schedule": {"every": "5m"}},
                           {**data["sources"][0], "id": "bna"}]
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

        # The database cannot be read while the new jobs are prepared: nothing changes.
        original = daemon.repository.runs.recent
        monkeypatch.setattr(daemon.repository.runs, "recent",
                            lambda *a, **k: (_ for _ in ()).throw(OSError("database is down")))
        assert not daemon.reload()
        assert "database is down" in caplog.text
        assert {s.id for s in daemon.config.sources} == {"spa", "wam"}
        assert _crawl_jobs(daemon) == jobs
        monkeypatch.setattr(daemon.repository.runs, "recent", original)

        # Applying fails halfway (the scheduler refuses a job): the old jobs are back.
        add_job = daemon.scheduler.add_job
        calls = []

        def failing_add_job(*args, **kwargs):
            calls.append(kwargs.get("id"))
            if len(calls) == 2:
                raise RuntimeError("scheduler refused")
            return add_job(*args, **kwargs)

        monkeypatch.setattr(daemon.scheduler, "add_job", failing_add_job)
        assert not daemon.reload()
        monkeypatch.setattr(daemon.scheduler, "add_job", add_job)
        assert {s.id for s in daemon.config.sources} == {"spa", "wam"}
        assert _crawl_jobs(daemon) == jobs
        assert (daemon.snapshot.directory / "sources.yaml").read_text(encoding="utf-8") == snapshot

        # A copy of the files that fails (a full disk) leaves the snapshot as it was.
        import shutil

        def full_disk(source, target):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(shutil, "copyfile", full_disk)
        assert not daemon.reload()
        monkeypatch.undo()
        assert (daemon.snapshot.directory / "sources.yaml").read_text(encoding="utf-8") == snapshot
        assert not list(daemon.snapshot.directory.glob(".*.partial"))
        assert _crawl_jobs(daemon) == jobs

        assert daemon.reload()
        assert set(_crawl_jobs(daemon)) == {"crawl:spa", "crawl:bna"}
    finally:
        daemon.scheduler.shutdown(wait=False)
        daemon.snapshot.remove()
