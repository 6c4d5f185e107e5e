"""Distributed crawling: Celery workers on Redis (and RabbitMQ), PostgreSQL locks, a killed worker.

Real processes throughout: `raqib worker` and `raqib run` children, the Redis and RabbitMQ
servers on 127.0.0.1, a throw-away PostgreSQL database, and a local web of 50 news sites whose
articles overlap the way agency stories do.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from monitor.demo.sites import SITES, SampleArticle, article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site, wait_for
from storage.records import RunRecord, StoredArticle
from storage.repository import Repository
from tests.conftest import ROOT
from tests.fixture_web import FAULTY_ARTICLE, write_config

STORIES = [*load_articles(), FAULTY_ARTICLE]
SITE_COUNT = 50
CLOSING = {"ar": "وكانت الوكالة قد نشرت الخبر في وقت سابق من اليوم.",
           "en": "The agency had reported the news earlier in the day."}


def _language(story: SampleArticle) -> str:
    return SITES.get(story.site, {}).get("language", "ar")


def edited(story: SampleArticle) -> SampleArticle:
    """A newspaper's edit of an agency story: one closing sentence more (a near duplicate)."""
    return replace(story, paragraphs=(*story.paragraphs, CLOSING[_language(story)]))


def newsroom_web(count: int = 50, per_site: int = 6) -> tuple[LocalWeb, list[dict]]:
    """`count` started news sites whose articles overlap, and their sources.yaml entries.

    Site i carries `per_site` of the ten sample stories, from story i on; every fifth site
    carries them edited. So the web holds 20 distinct texts in `count * per_site` pages.
    """
    web = LocalWeb([Site(f"site{i:02d}") for i in range(count)]).start()
    sources = []
    for i in range(count):
        site = web[f"site{i:02d}"]
        items = []
        for k in range(per_site):
            story = STORIES[(i + k) % len(STORIES)]
            if i % 5 == 0:
                story = edited(story)
            path = f"/news/{i}-{k}.html"
            site.add(path, article_page(story, site.url(path), f"صحيفة {i}", _language(story)))
            items.append((site.url(path), story.title, "Thu, 14 Nov 2024 08:00:00 GMT"))
        site.add("/rss.xml", Page(rss_feed(f"صحيفة {i}", items), content_type="application/rss+xml"))
        site.add("/robots.txt", Page("User-agent: *\nAllow: /\n", content_type="text/plain"))
        sources.append({"id": site.name, "name": f"صحيفة {i}", "country": "SA", "language": "ar",
                        "kind": "press", "schedule": {"every": "1h"},
                        "feeds": [site.url("/rss.xml")]})
    return web, sources


def distinct_texts(count: int = 50, per_site: int = 6) -> int:
    """How many distinct article texts `newsroom_web(count, per_site)` serves."""
    return len({(i + k) % len(STORIES) + (100 if i % 5 == 0 else 0)
                for i in range(count) for k in range(per_site)})


# --- running workers and daemons ------------------------------------------------------------

@dataclass
class Proc:
    """A `raqib` child process with its log file."""

    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def start_raqib(config_dir: Path | None, log: Path, *args: str, env: dict | None = None) -> Proc:
    """`raqib [--config-dir DIR] ARGS...` in the background, its output in `log`."""
    handle = log.open("ab")
    options = ["--config-dir", str(config_dir)] if config_dir else []
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", *options, *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Proc(process, log)


def _broker_reachable(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    """A Redis database of its own on 127.0.0.1:6379, emptied before and after."""
    if not _broker_reachable("127.0.0.1", 6379):
        if os.environ.get("CI"):
            pytest.fail("Redis on 127.0.0.1:6379 is not reachable")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    import redis

    number = random.randint(1, 15)
    client = redis.Redis(host="127.0.0.1", port=6379, db=number)
    client.flushdb()
    yield f"redis://127.0.0.1:6379/{number}"
    client.flushdb()
    client.close()


def broker_config(directory: Path, sources: list[dict], database_url: str, broker_url: str,
                  **daemon) -> Path:
    """A test config directory whose settings.yaml names a broker."""
    config_dir = write_config(directory, sources, database_url, extraction_workers=0,
                              download_timeout=10)
    path = config_dir / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["broker_url"] = broker_url
    settings["daemon"] = {"jitter": "0s", "grace_period": "5s", **daemon}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config_dir


def _received(log_text: str) -> list[str]:
    """Ids of the crawl jobs a worker's log says it received."""
    return [line.split("[", 1)[1].split("]", 1)[0] for line in log_text.splitlines()
            if "raqib.crawl_source[" in line and " received" in line]


def _queue_drained(broker_url: str) -> bool:
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        return client.llen("raqib") == 0 and client.zcard("unacked_index") == 0
    finally:
        client.close()


# --- three workers, 50 overlapping sites, one worker killed --------------------------------

@pytest.mark.postgres
def test_three_workers_store_every_article_once_even_when_one_is_killed(
        postgres_url, redis_url, tmp_path):
    web, sources = newsroom_web(SITE_COUNT)
    workers: list[Proc] = []
    try:
        config_dir = broker_config(tmp_path / "config", sources, postgres_url, redis_url,
                                   crawl_time_limit="40s")
        repository = Repository(postgres_url)  # migrates once, before the workers race
        logs = [tmp_path / f"worker{n}.log" for n in range(3)]
        workers = [start_raqib(config_dir, log, "worker", "--concurrency", "1") for log in logs]
        from monitor.daemon.workers import CrawlQueue

        config = load_config(config_dir)
        queue = CrawlQueue(config)
        for source in config.sources:  # what `raqib run` does for each source due
            queue(source)

        victim = workers[0]
        assert wait_for(lambda: _received(victim.text()), timeout=60), victim.text()
        time.sleep(3)  # its crawl child is under way
        taken_before_kill = _received(victim.text())
        victim.kill()  # SIGKILL: no warm shutdown, its job stays unacknowledged
        workers[0] = start_raqib(config_dir, logs[0], "worker", "--concurrency", "1")

        def finished() -> bool:
            runs = [run for source in sources for run in repository.runs.recent(source["id"])]
            ok = len({run.source for run in runs if run.status == "ok"})
            running = sum(run.status == "running" for run in runs)
            return ok == len(sources) and running == 0 and _queue_drained(redis_url)

        assert wait_for(finished, timeout=420, interval=1), "\n".join(w.text()[-3000:] for w in workers)
        for worker in workers:
            assert worker.stop() == 0

        # Acknowledged late: the killed worker's job ran again.
        later = "".join(log.read_text(encoding="utf-8").split(taken_before_kill[-1], 1)[-1]
                        for log in logs)
        assert any(job in later for job in taken_before_kill), later[-2000:]

        articles = repository.articles.find(limit=None)
        outcomes = Counter(seen.outcome for seen in repository.crawl.seen_urls())
        runs = sorted((run for source in sources for run in repository.runs.recent(source["id"], 1000)),
                      key=lambda run: run.started_at)
        # Every distinct text exactly once: the ten stories as the agency wrote them, and as
        # edited, under whichever site stored it first.
        assert len(articles) == distinct_texts(SITE_COUNT)
        by_title: dict[str, list[StoredArticle]] = {}
        for article in articles:
            by_title.setdefault(article.title, []).append(article)
        assert {title: len(group) for title, group in by_title.items()} == \
            {story.title: 2 for story in STORIES}
        for title, group in by_title.items():
            assert sum(1 for a in group if a.text.rstrip().endswith(tuple(CLOSING.values()))) == 1
            # The edited copy is a near duplicate: both in one cluster.
            assert group[0].cluster is not None and group[0].cluster == group[1].cluster, title
        assert outcomes == {"article": len(articles), "duplicate": SITE_COUNT * 6 - len(articles)}
        # Politeness across workers: one site is never crawled by two workers at once ...
        by_source: dict[str, list[RunRecord]] = {}
        for run in runs:
            by_source.setdefault(run.source, []).append(run)
        for source, source_runs in by_source.items():
            for earlier, later_run in zip(source_runs, source_runs[1:], strict=False):
                assert earlier.finished_at <= later_run.started_at, source
        # ... and no article page was downloaded twice.
        hits = Counter({(name, path): n for name, site in web.sites.items()
                        for path, n in site.hits.items() if path.startswith("/news/")})
        assert len(hits) == SITE_COUNT * 6 and max(hits.values()) == 1, hits.most_common(3)
        repository.close()
    finally:
        for worker in workers:
            worker.kill()
        web.stop()


# --- one scheduler at a time -----------------------------------------------------------------

@pytest.mark.postgres
def test_a_second_daemon_stands_by_and_takes_over_when_the_first_dies(
        postgres_url, redis_url, tmp_path):
    sources = [{"id": f"site{i}", "name": f"صحيفة {i}", "country": "SA", "language": "ar",
                "kind": "press", "schedule": {"every": "2s"},
                "feeds": [f"http://127.0.0.1:9/{i}/rss.xml"]} for i in range(2)]
    config_dir = broker_config(tmp_path / "config", sources, postgres_url, redis_url)
    Repository(postgres_url).close()  # migrated before the two daemons start
    first = start_raqib(config_dir, tmp_path / "first.log", "run")
    second = None
    try:
        assert wait_for(lambda: "crawl site0: queued for a worker" in first.text(), 60), first.text()
        second = start_raqib(config_dir, tmp_path / "second.log", "run")
        assert wait_for(lambda: "standby" in second.text(), 60), second.text()
        time.sleep(3)  # the first keeps scheduling; the standby enqueues nothing
        assert "queued for a worker" not in second.text()
        assert "scheduled crawl:" not in second.text()
        first.kill()  # SIGKILL: its connection, and with it the lock, goes away
        assert wait_for(lambda: "took over the scheduler lock" in second.text(), 30), second.text()
        assert wait_for(lambda: "crawl site1: queued for a worker" in second.text(), 30)
        assert second.stop() == 0
        assert "raqib daemon stopped" in second.text()
    finally:
        first.kill()
        if second is not None:
            second.kill()


# --- RabbitMQ, and the lock that keeps two workers off one site -----------------------------

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.mark.postgres
def test_rabbitmq_worker_crawls_and_skips_a_source_another_worker_holds(postgres_url, tmp_path):
    if not _broker_reachable("127.0.0.1", 5672):
        if os.environ.get("CI"):
            pytest.fail("RabbitMQ on 127.0.0.1:5672 is not reachable")
        pytest.skip("RabbitMQ on 127.0.0.1:5672 is not reachable")
    web, sources = newsroom_web(2)
    worker = None
    try:
        config_dir = broker_config(tmp_path / "config", sources, postgres_url, RABBITMQ_URL)
        repository = Repository(postgres_url)
        from monitor.daemon.workers import CrawlQueue

        config = load_config(config_dir)
        queue = CrawlQueue(config)
        queue.app.control.purge()  # jobs an earlier, interrupted run may have left
        held = repository.locks.try_lock("crawl:site00")  # "another worker" crawls site00
        assert held is not None and held.exclusive
        for source in config.sources:
            queue(source)
        worker = start_raqib(config_dir, tmp_path / "worker.log", "worker")
        assert wait_for(lambda: repository.articles.count("site01") == 6, 120), worker.text()
        assert wait_for(lambda: "crawl site00: skipped, another worker is crawling it"
                        in worker.text(), 30), worker.text()
        assert repository.runs.recent("site00") == []
        assert web["site00"].hits["/rss.xml"] == 0
        held.release()
        queue(config.source("site00"))
        assert wait_for(lambda: repository.articles.count("site00") == 6, 120), worker.text()
        assert worker.stop() == 0
        repository.close()
    finally:
        if worker is not None:
            worker.kill()
        web.stop()


# --- SQLite: one machine, lock files ----------------------------------------------------------

def test_sqlite_locks_are_lock_files_and_a_worker_needs_a_broker(tmp_path):
    repository = Repository(f"sqlite:///{tmp_path}/raqib.db")
    first, second = (repository.locks.try_lock("scheduler") for _ in range(2))
    assert first is not None and second is None  # a lock file beside the database (issue 20.9)
    assert first.exclusive and first.alive()
    holder = repository.locks.holder("scheduler")
    assert holder is not None and holder.pid == os.getpid()
    first.release()
    assert repository.locks.holder("scheduler") is None
    assert repository.locks.try_lock("scheduler") is not None
    repository.close()
    config_dir = write_config(tmp_path / "config", [], f"sqlite:///{tmp_path}/raqib.db")
    from tests.conftest import run_cli

    result = run_cli("worker", config_dir=config_dir, env={"RAQIB_BROKER_URL": ""})
    assert result.returncode == 2
    assert "settings.yaml: field 'broker_url': no broker set" in result.stderr
