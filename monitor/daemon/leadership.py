"""Who schedules: one `raqib run` at a time holds the scheduler lock; others stand by.

On PostgreSQL the lock is an advisory lock on a connection of its own: the server drops it
when that daemon dies, and a standby takes over within STANDBY_POLL seconds. On SQLite (one
machine) it is a lock file beside the database: a second daemon on the same file refuses to
start, naming the first (storage.locks.DatabaseInUse, one line, exit 2).

On PostgreSQL a database that does not answer is waited for, never a reason to exit: taking
the lock is tried again after a back-off (STANDBY_POLL doubling up to MAX_BACKOFF), each attempt
logged. An active daemon whose lock connection died (a server restart, an outage, a terminated
session) pauses its scheduling and takes the lock again like a standby: a standby that took
over meanwhile keeps it, and nothing is ever scheduled twice.
"""

from __future__ import annotations

import logging
import threading

from storage.locks import AdvisoryLock
from storage.repository import Repository

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "scheduler"  # the advisory lock of the one active `raqib run`
STANDBY_POLL = 2.0  # seconds between a standby daemon's attempts to take over
MAX_BACKOFF = 60.0  # the longest wait between two attempts to reach the database


class Leadership:
    """The scheduler lock of one daemon: taken (after standing by), checked, released."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.lock: AdvisoryLock | None = None

    def take(self, stop: threading.Event) -> bool:
        """Take the lock, standing by while another daemon holds it and waiting (with back-off)
        while the database does not answer; False when stopped first. On SQLite there is no
        standing by: DatabaseInUse names the daemon that runs."""
        if self.repository.dialect != "postgresql":
            self.lock = self.repository.locks.take_or_refuse(SCHEDULER_LOCK, "a raqib run")
            return True
        delay, standing_by, waited = STANDBY_POLL, False, False
        while not stop.is_set():
            try:
                self.lock = self.repository.locks.try_lock(SCHEDULER_LOCK)
            except Exception as exc:  # the database is down, restarting or refusing us
                log.warning("database unreachable (%s); trying again in %.0fs",
                            describe_db_error(exc), delay)
                waited = True
                if stop.wait(delay):
                    return False
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            delay = STANDBY_POLL
            if self.lock is not None:
                if standing_by or waited:
                    log.info("took over the scheduler lock: this daemon schedules now")
                return True
            if not standing_by:
                log.info("standby: another raqib run holds the scheduler lock; taking over when "
                         "it stops")
                standing_by = True
            if stop.wait(STANDBY_POLL):
                return False
        return False

    def held(self) -> bool:
        """Whether the lock is still ours (its connection answers; a server restart loses it)."""
        return self.lock is not None and self.lock.alive()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def describe_db_error(exc: BaseException) -> str:
    """A database error in one line (the driver's first line; no URL, so no password)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return (text[0][:200] if text else "") or type(original).__name__
