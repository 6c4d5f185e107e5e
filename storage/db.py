"""Engines and sessions: SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from monitor.faults import fault_point


class SchemaError(Exception):
    """The database's schema is not one this raqib can use (the message says what to do)."""


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10,
                pool_timeout: float = 30, connect_timeout: float = 10) -> Engine:
    """An engine for a database URL; a SQLite file's directory is created on first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            # One connection for the whole engine, or every connection gets its own empty database.
            engine = create_engine(url, poolclass=StaticPool,
                                   connect_args={"check_same_thread": False})
        else:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": max(1, round(connect_timeout))} if "postgresql" in url else {}
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                         pool_timeout=pool_timeout, pool_pre_ping=True,
                         connect_args=connect_args)


def engine_from_settings(url: str, database: Any) -> Engine:
    """An engine with settings.yaml's `database:` pool settings (pool size, overflow, timeouts)."""
    return make_engine(url, pool_size=database.pool_size, max_overflow=database.max_overflow,
                       pool_timeout=database.pool_timeout, connect_timeout=database.connect_timeout)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def display_url(engine_or_url: Engine | str) -> str:
    """A database URL as it may be shown: without its password; a SQLite file as its full path."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    path = sqlite_file(url.render_as_string(hide_password=False))
    if path is not None:
        return str(path.resolve())
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (raqib items) work while a crawl writes; busy_timeout rides out
    # the short write locks of concurrent writers instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """An engine and its transactions: what every room of the repository shares."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._sessions.begin() as session:
            yield session
            fault_point("db:before-commit")  # written, not committed: the kill tests' "during"

    def upsert(self, model: type, **values: Any) -> None:
        """Insert a row, or update the row with the same primary key (given among `values`)."""
        key = tuple(values[column.name] for column in model.__table__.primary_key.columns)
        with self.session() as session:
            row = session.get(model, key)
            if row is None:
                session.add(model(**values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
