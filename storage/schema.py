"""Which migration a database is at, and what raqib may do about it.

Migrations (Alembic) run when asked (`raqib db upgrade`) and by themselves only on a database
that is still empty — a new SQLite file, or a new empty PostgreSQL database — when a command
that writes opens it. A database with an older schema is never upgraded behind the user's
back, and a database with tables but no raqib schema (a server's admin database, someone
else's application) is never touched: both are a `SchemaError`, one line the CLI prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from storage.db import SchemaError, display_url, sqlite_file
from storage.locks import file_lock

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 727_001  # PostgreSQL advisory lock key: one migrator at a time


def alembic_config(engine: Engine | None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None))


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*["']?([^"'\s]+)["']?""",
                       re.MULTILINE)


@lru_cache(maxsize=1)
def quick_head() -> str | None:
    """The newest migration, read from the migration files' `revision`/`down_revision` lines
    without importing Alembic (a crawl checks the schema on every start); None when the
    files do not make one chain with one head (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def head_revision() -> str:
    """The newest migration this raqib knows."""
    head = _script().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's migration revision, or None when it has none (empty, or not raqib's)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def is_empty(engine: Engine) -> bool:
    """Whether the database (its default schema) has no tables at all."""
    with engine.connect() as connection:
        return not inspect(connection).get_table_names()


@contextmanager
def _migrator(engine: Engine) -> Iterator[None]:
    """Be the one migrator of a PostgreSQL database (an advisory lock, held on a connection of
    its own until the block ends)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()


def upgrade(engine: Engine, revision: str = "head", *, locked: bool = False) -> None:
    """Apply the migrations up to `revision` (one migrator at a time on PostgreSQL; `locked`:
    the caller is that migrator already)."""
    from alembic import command

    if engine.dialect.name != "postgresql" or locked:
        command.upgrade(alembic_config(engine), revision)
        return
    with _migrator(engine):
        command.upgrade(alembic_config(engine), revision)


def upgrade_to_head(engine: Engine) -> str:
    """`raqib db upgrade`: apply every migration this raqib has; the revision reached."""
    revision = current_revision(engine)
    if revision is not None and revision not in _known_revisions():
        raise SchemaError(f"database {display_url(engine)} is at schema revision {revision}, "
                          f"newer than this raqib knows (its newest is {head_revision()}): "
                          "upgrade raqib")
    upgrade(engine)
    return head_revision()


def _known_revisions() -> set[str]:
    return {script.revision for script in _script().walk_revisions()}


def check(engine: Engine, *, create: bool) -> None:
    """Make sure the database has this raqib's schema, or raise SchemaError.

    `create`: an empty database gets the schema (migrated from the first revision). Nothing
    else is ever changed here.
    """
    if current_revision(engine) == (quick_head() or head_revision()):
        return  # up to date: decided without loading Alembic where the files tell
    if engine.dialect.name == "postgresql":
        # PostgreSQL: decided as the one migrator, so that a second command opening a new
        # database at once does not look while the first is half way through the migrations
        # (tables there, no revision yet: "not raqib's database").
        with _migrator(engine):
            _check(engine, create=create, locked=True)
        return
    database = sqlite_file(engine.url.render_as_string(hide_password=False))
    if database is None:  # in memory
        _check(engine, create=create)
        return
    # Two commands opening one new SQLite file at once: the second waits for the first to
    # give it the schema, then finds it there (instead of "table articles already exists",
    # or tables half made taken for someone else's).
    with file_lock(database.parent / f"{database.name}-locks" / "schema.lock"):
        _check(engine, create=create)


def _check(engine: Engine, *, create: bool, locked: bool = False) -> None:
    revision = current_revision(engine)
    if revision is not None and revision == quick_head():
        return  # up to date: decided without loading Alembic and every migration
    head = head_revision()
    if revision == head:
        return
    where = display_url(engine)
    if revision is None:
        if not is_empty(engine):
            raise SchemaError(f"database {where} has tables but no raqib schema: not raqib's "
                              "database? (check --db; `raqib db upgrade` adds raqib's tables)")
        if not create:
            raise SchemaError(f"database {where} has no raqib schema (is --db right? "
                              "`raqib db upgrade` or a crawl creates it there)")
        upgrade(engine, locked=locked)
        return
    if revision not in _known_revisions():
        raise SchemaError(f"database {where} is at schema revision {revision}, newer than this "
                          f"raqib knows (its newest is {head}): upgrade raqib")
    raise SchemaError(f"database {where} is at schema revision {revision}, older than this "
                      f"raqib ({head}): run `raqib db upgrade`")
