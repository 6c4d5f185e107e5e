"""`raqib worker` gets the daemon's cheap path (#23.3): a Celery crawl job of a source with
nothing new asks the poll gate and starts no crawl child."""

from __future__ import annotations

import yaml

from monitor.config import load_config
from monitor.daemon import crawls, workers
from monitor.daemon.crawls import UNCHANGED
from monitor.demo.sites import demo_sources
from storage.repository import Repository
from tests.fixture_web import write_config


def test_a_quiet_poll_through_a_worker_starts_no_child(tmp_path, test_web, monkeypatch):
    sources = [s for s in demo_sources(test_web) if s["id"] == "gulfdaily"]
    config_dir = write_config(tmp_path / "config", sources, f"sqlite:///{tmp_path}/raqib.db")
    settings = yaml.safe_load((config_dir / "settings.yaml").read_text())
    settings["broker_url"] = "redis://127.0.0.1:6379/15"  # configured, never reached here
    (config_dir / "settings.yaml").write_text(yaml.safe_dump(settings))
    workers.configure(load_config(config_dir))
    started = []
    original = crawls.crawl_in_child
    monkeypatch.setattr(crawls, "crawl_in_child",
                        lambda *a, **k: started.append(a[0]) or original(*a, **k))
    try:
        first = workers.crawl_source("gulfdaily")  # the task's body, as a worker runs it
        assert first["status"] == "ok" and first["new"] > 0 and started == ["gulfdaily"]
        for _ in range(3):
            assert workers.crawl_source("gulfdaily")["status"] == UNCHANGED
        assert started == ["gulfdaily"]
        gate = workers._gate()
        assert gate is workers._gate()  # one gate per worker process: robots.txt kept
        repository = Repository(f"sqlite:///{tmp_path}/raqib.db")
        statuses = [run.status for run in repository.runs.recent("gulfdaily", limit=10)]
        assert statuses == [UNCHANGED] * 3 + ["ok"]
        assert repository.runs.summary("gulfdaily").consecutive_failures == 0
    finally:
        workers._state.clear()
