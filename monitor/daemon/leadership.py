"""Who schedules: one `raqib run` at a time holds the scheduler lock; others stand by.

On PostgreSQL the lock is an advisory lock on a connection of its own: the server drops it
when that daemon dies, and a standby takes over within STANDBY_POLL seconds. On SQLite (one
machine) it is a lock file beside the database: a second daemon on the same file refuses to
start, naming the first (storage.locks.DatabaseInUse, one line, exit 2).
"""

from __future__ import annotations

import logging
import threading

from storage.locks import AdvisoryLock
from storage.repository import Repository

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "scheduler"  # the advisory lock of the one active `raqib run`
STANDBY_POLL = 2.0  # seconds between a standby daemon's attempts to take over


class Leadership:
    """The scheduler lock of one daemon: taken (after standing by), checked, released."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.lock: AdvisoryLock | None = None

    def take(self, stop: threading.Event) -> bool:
        """Take the lock, standing by while another daemon holds it; False when stopped first.
        On SQLite there is no standing by: DatabaseInUse names the daemon that runs."""
        if self.repository.dialect != "postgresql":
            self.lock = self.repository.locks.take_or_refuse(SCHEDULER_LOCK, "a raqib run")
            return True
        self.lock = self.repository.locks.try_lock(SCHEDULER_LOCK)
        if self.lock is None:
            log.info("standby: another raqib run holds the scheduler lock; taking over when it stops")
        while self.lock is None:
            if stop.wait(STANDBY_POLL):
                return False
            self.lock = self.repository.locks.try_lock(SCHEDULER_LOCK)
            if self.lock is not None:
                log.info("took over the scheduler lock: this daemon schedules now")
        return True

    def held(self) -> bool:
        """Whether the lock is still ours (its connection answers; a server restart loses it)."""
        return self.lock is not None and self.lock.alive()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
