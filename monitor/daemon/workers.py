"""`raqib worker`: crawl jobs on Celery, for more than one machine.

`raqib run` with a `broker_url` enqueues one `raqib.crawl_source` job per source due (see
`CrawlQueue`); any worker takes it, asks the poll gate and runs the crawl as a child process
only when the source may have something new, exactly as the daemon does on one machine
(monitor.daemon.crawls). Jobs are acknowledged late, so a worker that dies
mid-crawl leaves its job to run again elsewhere; a PostgreSQL advisory lock per source keeps two
workers from crawling one site at once, and the database's unique constraints keep every
article once however the jobs race.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

from celery import Celery, signals

from crawler.pollgate import PollGate
from monitor.config import Config, ConfigError, Source, load_config, parse_duration
from monitor.daemon.crawls import crawl_session_name, run_crawl_child
from storage.db import engine_from_settings
from storage.repository import Repository
from storage.runs import HEALTHY_STATUSES

log = logging.getLogger(__name__)

TASK = "raqib.crawl_source"
QUEUE = "raqib"

app = Celery("raqib", set_as_current=False)
_state: dict = {}  # this process's configuration and repository (a forked pool child's own)


def configure(config: Config, celery: Celery = app) -> Celery:
    """Point a Celery app (the worker's own by default) at settings.yaml's broker_url."""
    if not config.settings.broker_url:
        raise ConfigError(config.directory / "settings.yaml",
                          "no broker set (or env RAQIB_BROKER_URL), e.g. redis://127.0.0.1:6379/0",
                          field_name="broker_url")
    limit = parse_duration(config.settings.daemon.crawl_time_limit)
    celery.conf.update(
        broker_url=config.settings.broker_url,
        broker_connection_retry_on_startup=True,
        # Redis hands an unacknowledged job to another worker after this long: it must outlast
        # the longest crawl, or a running crawl would be started a second time.
        # It looks for such jobs every unacked_restore_interval seconds (kombu's default is
        # every 100 s), so that a dead worker's job does not wait much longer than that.
        broker_transport_options={"visibility_timeout": int(limit + max(30.0, limit / 10)),
                                  "unacked_restore_interval": 10, "unacked_restore_throttle": 1},
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledged when done: a worker killed mid-crawl leaves its job to run again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One job per free slot: a busy worker does not sit on jobs an idle one could run.
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    if celery is app:
        _state.clear()
        _state["config"] = config
    return celery


def _repository() -> Repository:
    # Per process: a prefork pool child must not share its parent's database connections.
    if _state.get("pid") != os.getpid():
        config: Config = _state["config"]
        _state["repository"] = Repository(engine_from_settings(config.settings.database_url,
                                                               config.settings.database))
        _state["pid"] = os.getpid()
    return _state["repository"]


def _gate() -> PollGate:
    # Per process, like the repository: its robots.txt cache lives as long as the pool child.
    if _state.get("gate_pid") != os.getpid():
        _state["gate"] = PollGate.from_settings(_state["config"].settings.crawl)
        _state["gate_pid"] = os.getpid()
    return _state["gate"]


@app.task(name=TASK)
def crawl_source(source_id: str) -> dict:
    """Crawl one source in a child process while holding its lock; returns the crawl's counts."""
    config: Config = _state.get("config") or configure(load_config())
    try:
        source = config.source(source_id)
    except ConfigError:
        log.error("crawl %s: not a source of this worker's configuration; dropped", source_id)
        return {"source": source_id, "status": "unknown"}
    repository = _repository()
    lock = repository.locks.try_lock(f"crawl:{source.id}")
    if lock is None:
        # Another worker is crawling this site now; that crawl collects what this job would.
        log.info("crawl %s: skipped, another worker is crawling it", source.id)
        return {"source": source.id, "status": "skipped"}
    with lock:
        if repository.locks.live_sessions(crawl_session_name(source.id)):
            # The crawl child of a worker killed mid-crawl outlives it (its own process
            # session) and still talks to the database: let it finish alone.
            log.info("crawl %s: skipped, the crawl of a dead worker is still running", source.id)
            return {"source": source.id, "status": "skipped"}
        if lock.exclusive:
            # Holding the source's lock, a run still marked `running` is a dead worker's.
            stale = repository.runs.abandon_running("its worker died before the crawl ended", source.id)
            if stale:
                log.warning("crawl %s: marked %d run(s) of a dead worker as failed", source.id, stale)
        outcome = run_crawl_child(config, source, repository, gate=_gate())
    log.log(logging.INFO if outcome.status in HEALTHY_STATUSES else logging.WARNING,
            outcome.describe())
    if outcome.counts.get("flagged"):
        _send_immediate_digests(config, repository)
    return {"source": source.id, "status": outcome.status, **outcome.counts}


def _send_immediate_digests(config: Config, repository: Repository) -> None:
    # Building a digest is exactly once in the database, so workers racing here send it once.
    from monitor.digest.run import run_digests

    for digest in config.settings.digests:
        if digest.schedule != "immediate":
            continue
        try:
            run_digests(config, repository, digest_id=digest.id)
        except Exception:
            log.exception("digest %s failed; it stays pending for the next attempt", digest.id)


class CrawlQueue:
    """The daemon's dispatch with a broker: enqueue the source's crawl job, return None."""

    def __init__(self, config: Config) -> None:
        # An app of its own: Celery keeps a broker connection pool per app once it is used.
        self.app = configure(config, Celery("raqib-daemon", set_as_current=False))
        self.time_limit = parse_duration(config.settings.daemon.crawl_time_limit)

    def __call__(self, source: Source) -> None:
        # A job no worker took before the next one is due expires instead of piling up.
        expires = source.schedule.seconds or self.time_limit
        self.app.send_task(TASK, args=[source.id], queue=QUEUE, expires=expires)
        log.info("crawl %s: queued for a worker", source.id)
        return None


def run_worker(config: Config, concurrency: int | None = None) -> int:
    """Run a Celery worker in the foreground until SIGTERM (warm shutdown: crawls finish)."""
    configure(config)
    if not config.settings.database_url.startswith("postgresql"):
        log.warning("workers on SQLite: one machine only, and no lock keeps two workers off "
                    "one site; use PostgreSQL for more than one worker")
    slots = concurrency or config.settings.daemon.max_parallel_crawls
    name = f"raqib.{os.getpid()}@{socket.gethostname()}"
    log.info("raqib worker %s: %d crawl(s) at once from %s", name, slots,
             app.connection().as_uri())
    argv = ["worker", f"--concurrency={slots}", "--pool=prefork", f"--hostname={name}",
            f"--queues={QUEUE}", "--without-gossip", "--without-mingle",
            f"--loglevel={logging.getLevelName(logging.getLogger('monitor').getEffectiveLevel())}"]
    workers: list = []  # worker_main() drops the worker's exit code: read it from the worker

    def keep(sender, **_) -> None:
        workers.append(sender)

    signals.worker_init.connect(keep, weak=False)
    try:
        app.worker_main(argv)
    finally:
        signals.worker_init.disconnect(keep)
    # 1 after an unrecoverable error (a broker refusing the login, say), 0 after a shutdown.
    return next((w.exitcode for w in workers if w.exitcode), 0)


def ping(config: Config, timeout: float = 5.0) -> bool:
    """Whether a worker on this host answers the broker (a container's health check)."""
    celery = configure(config, Celery("raqib-ping", set_as_current=False))
    host = socket.gethostname()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery.control.ping(timeout=1.0) or []
        if any(name.endswith("@" + host) for reply in replies for name in reply):
            return True
    return False


if __name__ == "__main__":  # python -m monitor.daemon.workers ping
    if sys.argv[1:] != ["ping"]:
        sys.exit("usage: python -m monitor.daemon.workers ping")
    sys.exit(0 if ping(load_config()) else 1)
