"""Room `repo.locks`: named locks across processes and machines.

PostgreSQL advisory locks, each held on a connection of its own for as long as the holder
keeps it: the server releases the lock when that connection closes, also when the holding
process dies. SQLite has no such thing: raqib on SQLite is one machine, and the lock
returned there is a stand-in that holds nothing.
"""

from __future__ import annotations

import logging
import zlib

from sqlalchemy import Connection, text

from storage.db import Database

log = logging.getLogger(__name__)


class AdvisoryLocks:
    """Take named advisory locks, and count the sessions of an application."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def try_lock(self, name: str) -> AdvisoryLock | None:
        """Take the named lock without waiting; None when another connection holds it."""
        if self._db.dialect != "postgresql":
            return AdvisoryLock(name, None)
        connection = self._db.engine.connect()
        # Out of the pool: closing it must end the session (and the lock), not park it.
        connection.detach()
        try:
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                       {"space": _LOCK_SPACE, "key": _lock_key(name)}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return AdvisoryLock(name, connection)

    def live_sessions(self, application_name: str) -> int:
        """Open PostgreSQL sessions of this database under an application name (0 on SQLite)."""
        if self._db.dialect != "postgresql":
            return 0
        with self._db.session() as session:
            return session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name"), {"name": application_name}) or 0


_LOCK_SPACE = 727_002  # first key of raqib's two-key advisory locks (the migration lock is one-key)


def _lock_key(name: str) -> int:
    """A stable signed 32-bit key for a lock name (a collision only makes two names share a lock)."""
    key = zlib.crc32(name.encode("utf-8"))
    return key - (1 << 32) if key >= 1 << 31 else key


class AdvisoryLock:
    """A held advisory lock; `release()` (or leaving a `with` block) lets it go."""

    def __init__(self, name: str, connection: Connection | None) -> None:
        self.name = name
        self._connection = connection

    @property
    def exclusive(self) -> bool:
        """True when the database really holds it (PostgreSQL), False for SQLite's stand-in."""
        return self._connection is not None

    def alive(self) -> bool:
        """Whether the lock is still ours: its connection answers (a server restart loses it)."""
        if self._connection is None:
            return True
        try:
            self._connection.exec_driver_sql("SELECT 1").scalar()
            self._connection.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()  # the session ends, and the lock with it
            except Exception:
                log.debug("closing the connection of lock %s failed", self.name, exc_info=True)
            self._connection = None

    def __enter__(self) -> AdvisoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
