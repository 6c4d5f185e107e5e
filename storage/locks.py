"""Room `repo.locks`: named locks across processes (and machines, on PostgreSQL).

PostgreSQL: advisory locks, each held on a connection of its own for as long as the holder
keeps it; the server releases the lock when that connection closes, also when the holding
process dies. `hold` (many short-named locks of one process, e.g. one per source crawled)
shares one such connection per repository.

SQLite (one machine): a lock file per name in a directory beside the database
(`raqib.db-locks/`), locked with flock(2): the kernel releases it when the holding process
dies, kill -9 included. The file says who holds it (pid, host, since when, what), so that a
second daemon or crawl can name the first. In-memory SQLite has nobody to share with: its
lock is a stand-in that holds nothing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import socket
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from storage.db import Database, SchemaError, display_url, sqlite_file

log = logging.getLogger(__name__)


class DatabaseInUse(SchemaError):
    """Another process holds what this one needs alone (a second daemon on one SQLite file)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as far as the database can tell."""

    pid: int | None
    host: str | None
    since: str | None = None
    what: str | None = None

    def describe(self) -> str:
        """`pid 1234 on host h (since 2026-12-07 22:10:05 UTC: raqib run)`."""
        who = f"pid {self.pid if self.pid is not None else '?'} on host {self.host or '?'}"
        details = ", ".join(filter(None, [f"since {self.since}" if self.since else None,
                                          self.what]))
        return f"{who} ({details})" if details else who


class AdvisoryLocks:
    """Take named locks, say who holds one, and count the sessions of an application."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._shared: Connection | None = None
        self._shared_guard = threading.Lock()

    def try_lock(self, name: str) -> AdvisoryLock | None:
        """Take the named lock without waiting; None when another holder has it."""
        if self._db.dialect == "postgresql":
            return self._try_pg(name)
        return self._try_file(name)

    def hold(self, name: str) -> AdvisoryLock | None:
        """Like `try_lock`, for one of many locks a process holds at once: on PostgreSQL they
        share one connection (a crawl of 50 sources does not take 50 connections)."""
        if self._db.dialect != "postgresql":
            return self._try_file(name)
        with self._shared_guard:
            if self._shared is None or self._shared.closed:
                self._shared = self._db.engine.connect()
                self._shared.detach()
            connection = self._shared
            if not _pg_try(connection, name):
                return None

        def release() -> None:
            with self._shared_guard:
                if connection.closed:
                    return
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"),
                                       {"space": _LOCK_SPACE, "key": _lock_key(name)})
                    connection.commit()
                except Exception:
                    log.debug("releasing lock %s failed", name, exc_info=True)

        return AdvisoryLock(name, None, release=release, exclusive=True)

    def take_or_refuse(self, name: str, what: str) -> AdvisoryLock:
        """The named lock, or DatabaseInUse naming its holder (for a role that has no standby:
        a second daemon on one SQLite file)."""
        lock = self.try_lock(name)
        if lock is not None:
            return lock
        holder = self.holder(name)
        who = holder.describe() if holder else "another process"
        raise DatabaseInUse(f"{what} already runs on {display_url(self._db.engine)}: {who}")

    def holder(self, name: str) -> LockHolder | None:
        """Who holds the named lock now (None: nobody, or nobody the database can name)."""
        if self._db.dialect == "postgresql":
            with self._db.session() as session:
                row = session.execute(text(
                    "SELECT a.pid, host(a.client_addr), a.backend_start, a.application_name "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :space "
                    "AND l.objid = :key AND l.objsubid = 2 LIMIT 1"),
                    {"space": _LOCK_SPACE, "key": _lock_key(name) & 0xFFFFFFFF}).first()
            if row is None:
                return None
            since = row[2].strftime("%Y-%m-%d %H:%M:%S %Z") if row[2] else None
            mine = re.fullmatch(r"raqib (\d+)@(.+)", row[3] or "")
            if mine:
                return LockHolder(int(mine[1]), mine[2], since, f"database session {row[0]}")
            return LockHolder(None, row[1] or "local socket", since,
                              f"database session {row[0]}" + (f", {row[3]}" if row[3] else ""))
        path = self._lock_path(name)
        if path is None or not path.exists():
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # the file is there, its holder gone
        finally:
            os.close(fd)

    def live_sessions(self, application_name: str) -> int:
        """Open PostgreSQL sessions of this database under an application name (0 on SQLite)."""
        if self._db.dialect != "postgresql":
            return 0
        with self._db.session() as session:
            return session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name"), {"name": application_name}) or 0

    def close(self) -> None:
        """Release the locks held through `hold` on PostgreSQL (their shared connection)."""
        with self._shared_guard:
            if self._shared is not None:
                try:
                    self._shared.close()
                except Exception:
                    log.debug("closing the lock connection failed", exc_info=True)
                self._shared = None

    # --- PostgreSQL ------------------------------------------------------------------------

    def _try_pg(self, name: str) -> AdvisoryLock | None:
        connection = self._db.engine.connect()
        # Out of the pool: closing it must end the session (and the lock), not park it.
        connection.detach()
        try:
            taken = _pg_try(connection, name)
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return AdvisoryLock(name, connection)

    # --- SQLite: lock files --------------------------------------------------------------------

    def _lock_path(self, name: str) -> Path | None:
        database = sqlite_file(self._db.engine.url.render_as_string(hide_password=False))
        if database is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return database.parent / f"{database.name}-locks" / f"{safe}.lock"

    def _try_file(self, name: str) -> AdvisoryLock | None:
        path = self._lock_path(name)
        if path is None:
            return AdvisoryLock(name, None)  # in-memory: nobody else can open it
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  "what": _command_name()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)

        def release() -> None:
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # the flock goes with the last descriptor

        return AdvisoryLock(name, None, release=release, exclusive=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Wait for an exclusive flock on `path` (created if needed) for the length of a block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pg_try(connection: Connection, name: str) -> bool:
    taken = connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                               {"space": _LOCK_SPACE, "key": _lock_key(name)}).scalar()
    if taken:  # the session says whose it is, for `holder` (pg_stat_activity.application_name),
        # unless it has a name already (a crawl child's, which monitor.daemon.workers looks for)
        connection.execute(text(
            "SELECT set_config('application_name', :me, false) "
            "WHERE current_setting('application_name') = ''"),
            {"me": f"raqib {os.getpid()}@{socket.gethostname()}"[:63]})
    connection.commit()
    return bool(taken)


def _read_holder(fd: int) -> LockHolder:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(data.get("pid"), data.get("host"), data.get("since"), data.get("what"))


_COMMANDS = ("run", "crawl", "worker", "demo", "digest", "db", "items", "web", "sources", "rules")


def _command_name() -> str:
    """What this process is, for the holder's note: `raqib run`, `raqib crawl`, …"""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    command = next((word for word in sys.argv[1:] if word in _COMMANDS), None)
    if program in ("raqib", "cli.py", "__main__.py") and command:
        return f"raqib {command}"
    if "crawler" in sys.argv[0] and program == "child.py":
        return "raqib crawl child"
    return program


_LOCK_SPACE = 727_002  # first key of raqib's two-key advisory locks (the migration lock is one-key)


def _lock_key(name: str) -> int:
    """A stable signed 32-bit key for a lock name (a collision only makes two names share a lock)."""
    key = zlib.crc32(name.encode("utf-8"))
    return key - (1 << 32) if key >= 1 << 31 else key


class AdvisoryLock:
    """A held lock; `release()` (or leaving a `with` block) lets it go."""

    def __init__(self, name: str, connection: Connection | None, *, release=None,
                 exclusive: bool | None = None) -> None:
        self.name = name
        self._connection = connection
        self._release = release
        self._exclusive = connection is not None if exclusive is None else exclusive

    @property
    def exclusive(self) -> bool:
        """True when it really excludes others; False for in-memory SQLite's stand-in."""
        return self._exclusive

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
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def __enter__(self) -> AdvisoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
