"""`raqib run`: the APScheduler daemon. This module only wires the jobs; what they do is elsewhere.

    crawl:<source>  monitor.daemon.crawls: a child process per crawl (or, with a broker,
                    monitor.daemon.workers enqueues it for a `raqib worker`)
    digest:<id>     monitor.digest.run (built here, sent by `outbox`)
    outbox          monitor.digest.run.run_outbox: immediate digests, volume alerts, and every
                    message due (retries after a back-off); woken when a crawl flags something
    health          monitor.daemon.health
    when            monitor.schedule (triggers, first crawl after a restart)
    who             monitor.daemon.leadership (one scheduling daemon at a time)

The process model, and why. The daemon is one small long-lived process: the scheduler, the
sending thread, and the poll gate (crawler.pollgate). A crawl job first asks the gate whether
the source has anything new — the conditional GETs of its discovery pages, with the validators
its last crawl stored, from this process (a few milliseconds of CPU). Only when something may
be new does it start a crawl child (`python -m crawler.child`: Scrapy, trafilatura, the
extraction processes), which starts fresh and leaves nothing behind when it exits. Most polls
of a monitor find nothing, so most cost no process at all; and because every crawl that runs
is still a child, a hang is killed at `daemon.crawl_time_limit` without touching the others, a
crash (even SIGKILL, a segfault or the OOM killer) stays in the child and is recorded, and the
daemon's memory stays flat. A long-lived Scrapy process (CrawlerRunner in the scheduler's loop)
would save the children's start-up too, but would share one heap and one reactor between every
crawl for months; the gate gets the common case, the quiet poll, below the cost of starting
Python at all (benchmarks/bench_daemon.py, figures in the README).

The database may go away (an outage, a restart): the daemon waits for it with a logged
back-off instead of exiting, and schedules only while it holds the scheduler lock.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from crawler.pollgate import PollGate
from monitor.config import Config, Schedule, Source, load_config, parse_duration
from monitor.daemon.crawls import ConfigSnapshot, CrawlChildren, CrawlOutcome, run_crawl_child
from monitor.daemon.health import HealthChange, check_health
from monitor.daemon.leadership import MAX_BACKOFF, STANDBY_POLL, Leadership, describe_db_error
from monitor.schedule import first_run_delay, trigger_for
from storage.db import engine_from_settings
from storage.repository import Repository
from storage.runs import HEALTHY_STATUSES

log = logging.getLogger(__name__)

Dispatch = Callable[[Source], CrawlOutcome | None]
OUTBOX_FULL_RUN = 600  # seconds: the outbox job builds at least this often, new matches or not
LEADERSHIP_CHECK = 5.0  # seconds between two checks that the scheduler lock is still held


class Daemon:
    """Schedules crawls, digests and health checks until told to stop."""

    def __init__(self, config_dir: str | Path | None, database_url: str | None = None,
                 dispatch: Dispatch | None = None) -> None:
        self.config_dir = config_dir
        self.database_url = database_url
        self.config: Config = load_config(config_dir, database_url=database_url)
        self.repository = self._open_repository()
        self.snapshot = ConfigSnapshot(self.config)
        self.children = CrawlChildren()
        self.gate = PollGate.from_settings(self.config.settings.crawl)
        # With a broker the crawls, and their run records, belong to the workers.
        self.distributed = dispatch is None and bool(self.config.settings.broker_url)
        if self.distributed:
            from monitor.daemon.workers import CrawlQueue

            dispatch = CrawlQueue(self.config)
        self.dispatch = dispatch or self._crawl_locally
        self.leadership = Leadership(self.repository)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self.config.settings.daemon.max_parallel_crawls),
                       "light": ThreadPoolExecutor(2),
                       # One sending thread: digests and alerts go out one at a time.
                       "outbox": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC)
        self.scheduler.add_listener(self._on_event,
                                    EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_SUBMITTED)
        self.scheduling_delays: list[float] = []
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._matches_built: tuple[int, int] | None = None  # rule matches the outbox built from
        self._outbox_built_at = 0.0

    def _open_repository(self) -> Repository:
        """The repository, once the database answers: a daemon started while it is down (or
        before it, as in docker-compose) waits for it with a back-off, and says so."""
        from sqlalchemy.exc import InterfaceError, OperationalError

        delay = STANDBY_POLL
        while True:
            try:
                return Repository(engine_from_settings(self.config.settings.database_url,
                                                       self.config.settings.database))
            except (OperationalError, InterfaceError) as exc:
                log.warning("database unreachable (%s); trying again in %.0fs",
                            describe_db_error(exc), delay)
                time.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    # --- jobs -------------------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Add every job and start the scheduler (paused: jobs scheduled, none run)."""
        stale = 0 if self.distributed else \
            self.repository.runs.abandon_running("the daemon stopped before this crawl ended")
        if stale:
            log.warning("marked %d crawl run(s) left running by a previous daemon as failed", stale)
        self._schedule_sources(self.config.sources)
        self._schedule_digests()
        health = self.config.settings.daemon.health_check
        self.scheduler.add_job(self.check_health, trigger_for(health, "UTC", 0), id="health",
                               executor="light", replace_existing=True)
        # max_instances=2: a wake-up while it runs waits behind it on the one outbox thread.
        outbox = Schedule(every=f"{parse_duration(self.config.settings.outbox.check_every)}s")
        self.scheduler.add_job(self.run_outbox, trigger_for(outbox, "UTC", 0), id="outbox",
                               executor="outbox", max_instances=2, replace_existing=True)
        self.scheduler.start(paused=paused)
        for job in self.scheduler.get_jobs():
            log.info("scheduled %s: next run %s", job.id, job.next_run_time)

    def _schedule_sources(self, sources: list[Source]) -> None:
        for job in self._source_jobs(self.config, sources):
            self.scheduler.add_job(self.crawl_source, replace_existing=True, **job)

    def _source_jobs(self, config: Config, sources: list[Source]) -> list[dict]:
        """The `crawl:<source>` jobs of the enabled sources among `sources` (reads the runs)."""
        jitter = parse_duration(config.settings.daemon.jitter)
        now = datetime.now(UTC)
        jobs = []
        for source in sources:
            if not source.enabled:
                continue
            last = self.repository.runs.recent(source.id, limit=1)
            delay = first_run_delay(source.schedule, last[0].started_at if last else None, now)
            first = now + timedelta(seconds=delay + random.uniform(0, min(jitter, 5.0)))
            jobs.append(dict(
                trigger=trigger_for(source.schedule, source.timezone, jitter),
                args=[source.id], id=f"crawl:{source.id}", name=f"crawl {source.id}",
                **({"next_run_time": first} if source.schedule.seconds is not None else {})))
        return jobs

    def _schedule_digests(self) -> None:
        for job in self._digest_jobs(self.config):
            self.scheduler.add_job(self.send_digests, replace_existing=True, **job)

    @staticmethod
    def _digest_jobs(config: Config) -> list[dict]:
        # `immediate` digests have no job: the outbox job builds them after a crawl flags.
        return [dict(trigger=trigger_for(digest.schedule, digest.timezone, 0), args=[digest.id],
                     id=f"digest:{digest.id}", executor="outbox")
                for digest in config.settings.digests if digest.schedule != "immediate"]

    def crawl_source(self, source_id: str) -> CrawlOutcome | None:
        """Job `crawl:<source>`: one crawl of a source; its failure never reaches the scheduler."""
        outcome = self.dispatch(self.config.source(source_id))
        if outcome is None:  # enqueued for a worker
            return None
        log.log(logging.INFO if outcome.status in HEALTHY_STATUSES else logging.WARNING,
                outcome.describe())
        if outcome.counts.get("flagged"):
            self.wake_outbox()  # immediate digests and volume alerts, on the sending thread
        return outcome

    def _crawl_locally(self, source: Source) -> CrawlOutcome:
        return run_crawl_child(self.config, source, self.repository,
                               config_dir=self.snapshot.directory, children=self.children,
                               gate=self.gate)

    def send_digests(self, digest_id: str | None = None, immediate_only: bool = False) -> None:
        """Job `digest:<id>`: build the due digests (one, or every `immediate` one), then send
        what is due."""
        from monitor.digest.run import run_digests

        for digest in self.config.settings.digests:
            if digest_id and digest.id != digest_id:
                continue
            if immediate_only and digest.schedule != "immediate":
                continue
            try:
                for report in run_digests(self.config, self.repository, digest_id=digest.id,
                                          send=False):
                    log.info("digest %s to %s: %s", report.digest_id, report.recipient, report.status)
            except Exception:
                log.exception("digest %s failed; it stays pending for the next attempt", digest.id)
        self.run_outbox()

    def run_outbox(self, now: datetime | None = None) -> None:
        """Job `outbox`: immediate digests and volume alerts built, every message due sent.

        Building is skipped while no match was added since the last build (one cheap query a
        minute), but done at least every OUTBOX_FULL_RUN and after a reload.
        """
        from monitor.digest.run import run_outbox

        try:
            version = self.repository.articles.matches_version()
            full = (version != self._matches_built
                    or time.monotonic() - self._outbox_built_at > OUTBOX_FULL_RUN)
            for report in run_outbox(self.config, self.repository, now=now, build=full):
                log.info("%s to %s: %s", report.digest_id, report.recipient, report.status)
            if full:
                self._matches_built, self._outbox_built_at = version, time.monotonic()
        except Exception:
            log.exception("the outbox job failed; pending messages wait for its next run")

    def wake_outbox(self) -> None:
        """Run the `outbox` job now (after it finishes, if it is running).

        From a thread of its own: a crawl job that ends while the scheduler shuts down (which
        holds the job stores' lock while it waits for that very job) must not wait for it.
        """
        if self.scheduler.state == STATE_STOPPED:
            return

        def wake() -> None:
            try:
                self.scheduler.modify_job("outbox", next_run_time=datetime.now(UTC))
            except JobLookupError:
                pass  # not scheduled (a stopping daemon): its next run will do

        threading.Thread(target=wake, name="wake-outbox", daemon=True).start()

    def check_health(self, now: datetime | None = None) -> list[HealthChange]:
        """Job `health`: alert the operators of sources that fail, go quiet, or recover."""
        changes = check_health(self.config, self.repository, now or datetime.now(UTC))
        if changes:
            self.wake_outbox()
        return changes

    # --- lifecycle ----------------------------------------------------------------------------------

    def _on_event(self, event) -> None:
        if isinstance(event, JobSubmissionEvent):
            for scheduled in event.scheduled_run_times:
                delay = (datetime.now(UTC) - scheduled).total_seconds()
                self.scheduling_delays.append(delay)
                if delay > 5:
                    log.warning("%s started %.1fs late", event.job_id, delay)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            # A crawl longer than its interval: the run is coalesced into the next one.
            log.info("%s skipped: its previous run is still going", event.job_id)
        elif isinstance(event, JobExecutionEvent) and event.exception:
            log.error("%s raised %r; the next run stays scheduled", event.job_id, event.exception)

    def reload(self) -> bool:
        """Re-read the configuration and apply it whole, or not at all: a bad one (or one that
        cannot be applied) is refused, logged, and the running one kept."""
        old = self.config
        try:
            config = load_config(self.config_dir, database_url=self.database_url)
            # Everything that can fail is prepared before anything changes.
            before = {s.id: s for s in old.sources if s.enabled}
            after = {s.id: s for s in config.sources if s.enabled}
            changed = [s for sid, s in after.items() if sid not in before
                       or (before[sid].schedule, before[sid].timezone) != (s.schedule, s.timezone)]
            if parse_duration(config.settings.daemon.jitter) != parse_duration(old.settings.daemon.jitter):
                changed = list(after.values())  # every trigger carries the jitter
            source_jobs = self._source_jobs(config, changed)
            digest_jobs = self._digest_jobs(config)
            removed = before.keys() - after.keys()
        except Exception as exc:  # ConfigError, or the database to read the last runs from
            log.error("configuration not reloaded, keeping the running one: %s", exc)
            return False
        files = self.snapshot.contents()
        try:
            self.snapshot.take(config)
            self.config = config
            if not self.gate.same_settings(config.settings.crawl):
                self.gate = PollGate.from_settings(config.settings.crawl)
            for source_id in removed:
                self.scheduler.remove_job(f"crawl:{source_id}")
                log.info("unscheduled crawl:%s", source_id)
            for job in source_jobs:
                self.scheduler.add_job(self.crawl_source, replace_existing=True, **job)
            for job in self.scheduler.get_jobs():
                if job.id.startswith("digest:"):
                    job.remove()
            for job in digest_jobs:
                self.scheduler.add_job(self.send_digests, replace_existing=True, **job)
        except Exception:
            log.exception("configuration not reloaded, keeping the running one: applying it failed")
            self._restore(old, files)
            return False
        self._matches_built = None  # new digests or recipients: build at the next outbox run
        log.info("configuration reloaded: %d sources scheduled (%d added or changed, %d removed)",
                 len(after), len(changed), len(removed))
        return True

    def _restore(self, config: Config, files: dict[str, bytes | None]) -> None:
        """Back to the configuration that was running (after a reload failed halfway)."""
        self.config = config
        try:
            self.snapshot.restore(files)
            enabled = {f"crawl:{s.id}" for s in config.sources if s.enabled}
            for job in self.scheduler.get_jobs():
                if (job.id.startswith("crawl:") and job.id not in enabled) or job.id.startswith("digest:"):
                    job.remove()
            self._schedule_sources(config.sources)
            self._schedule_digests()
        except Exception:
            log.exception("restoring the running configuration failed")

    def request_stop(self, *_args) -> None:
        self._stop.set()

    def request_reload(self, *_args) -> None:
        self._reload.set()

    def run_forever(self) -> int:
        """Run until SIGTERM/SIGINT; SIGHUP reloads the configuration.

        Scheduling only while this daemon holds the scheduler lock: when its connection dies
        (a database outage), scheduling pauses until the lock is taken again.
        """
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)
        started = False
        try:  # a second daemon on one SQLite file is refused by take(): nothing left behind
            while self.leadership.take(self._stop):
                try:
                    if not started:
                        self.start()
                        started = True
                        log.info("raqib daemon running: %d jobs", len(self.scheduler.get_jobs()))
                    else:
                        self.scheduler.resume()
                        log.info("scheduling again")
                except Exception as exc:  # the database went away again before the jobs were set
                    log.warning("database unreachable while starting (%s); waiting for it",
                                describe_db_error(exc))
                    self.leadership.release()
                    if self._stop.wait(STANDBY_POLL):
                        break
                    continue
                self._supervise()
                if self._stop.is_set():
                    break
                self.scheduler.pause()
                self.leadership.release()
                log.error("lost the scheduler lock (its database connection died): scheduling "
                          "paused until this daemon holds it again")
        finally:
            if not started:
                self.repository.close()
                self.snapshot.remove()
        if not started:
            return 0  # stopped while standing by or waiting for the database
        self.shutdown()
        return 0

    def _supervise(self) -> None:
        """Until stopped or the lock is lost: apply reloads, check the lock now and then."""
        checked = time.monotonic()
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if time.monotonic() - checked > LEADERSHIP_CHECK:
                checked = time.monotonic()
                if not self.leadership.held():
                    return

    def shutdown(self) -> None:
        """Stop scheduling, give running crawls the grace period, then stop them."""
        grace = parse_duration(self.config.settings.daemon.grace_period)
        log.info("stopping: no new jobs; %d crawl(s) running get %.0fs to finish",
                 len(self.children.running()), grace)
        self.scheduler.pause()
        deadline = time.monotonic() + grace
        while self.children.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.children.running():
            log.warning("stopping crawls still running: %s", ", ".join(self.children.running()))
            self.children.terminate_all(f"stopped with the daemon: still running after "
                                        f"daemon.grace_period ({grace:.0f}s)")
        self.scheduler.shutdown(wait=True)
        if not self.distributed:
            try:
                self.repository.runs.abandon_running("stopped with the daemon before it finished")
            except Exception as exc:  # the database is down: the next daemon start closes them
                log.warning("runs left open (database unreachable: %s)", describe_db_error(exc))
        self.leadership.release()
        self.repository.close()
        self.snapshot.remove()
        log.info("raqib daemon stopped")
