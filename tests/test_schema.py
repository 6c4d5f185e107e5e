"""When raqib creates, checks and refuses a database schema (storage.schema, the CLI's exit codes)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from storage import schema
from storage.db import make_engine
from tests.conftest import run_cli
from tests.fixture_web import write_config

SOURCE = {"id": "spa", "name": "وكالة الأنباء السعودية", "country": "SA", "language": "ar",
          "kind": "agency", "feeds": ["https://spa.example/rss.xml"]}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_read_only_commands_never_create_a_database_file(tmp_path):
    database = tmp_path / "data" / "raqib.db"
    config_dir = write_config(tmp_path / "config", [SOURCE], f"sqlite:///{database}")
    for command in (["items"], ["items", "--format", "jsonl"], ["sources", "list"],
                    ["rules", "test", "--stored"], ["digest", "send", "--dry-run"]):
        result = run_cli(*command, config_dir=config_dir)
        assert result.returncode == 0, (command, result.stderr)
        assert f"no database at {database}" in result.stderr, command
    assert not database.exists() and not database.parent.exists()
    listing = run_cli("sources", "list", config_dir=config_dir)
    assert "spa" in listing.stdout  # the catalogue is shown all the same


def test_a_new_sqlite_file_gets_the_schema_from_a_command_that_writes(tmp_path):
    database = tmp_path / "raqib.db"
    config_dir = write_config(tmp_path / "config", [SOURCE], f"sqlite:///{database}")
    result = run_cli("db", "upgrade", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert f"database at revision {schema.head_revision()}" in result.stdout
    assert {"articles", "seen_urls", "alembic_version"} <= _tables(f"sqlite:///{database}")


def test_an_older_schema_asks_for_db_upgrade_and_a_newer_one_is_refused(database_url, tmp_path):
    engine = make_engine(database_url)
    schema.upgrade(engine, "0001")
    config_dir = write_config(tmp_path / "config", [SOURCE], database_url)
    for command in (["items"], ["crawl", "spa"]):
        result = run_cli(*command, config_dir=config_dir)
        assert result.returncode == 2, (command, result.stderr)
        line = _one_line(result.stderr)
        assert "older than this raqib" in line and "run `raqib db upgrade`" in line
    assert schema.current_revision(engine) == "0001"  # nothing migrated behind the user's back

    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    for command in (["items"], ["sources", "list"], ["db", "upgrade"]):
        result = run_cli(*command, config_dir=config_dir)
        assert result.returncode == 2, (command, result.stderr)
        assert "revision 9999, newer than this raqib knows" in _one_line(result.stderr)
    engine.dispose()


@pytest.mark.postgres
def test_a_database_that_is_not_raqibs_is_never_changed(postgres_url, tmp_path):
    config_dir = write_config(tmp_path / "config", [SOURCE], postgres_url)
    # An empty server database (what `--db postgresql://…/postgres` usually is): reading it
    # says there is no raqib schema and creates nothing.
    result = run_cli("items", config_dir=config_dir)
    assert result.returncode == 2
    assert "has no raqib schema" in _one_line(result.stderr)
    assert _tables(postgres_url) == set()
    # Someone else's tables: refused by readers and writers alike.
    with create_engine(postgres_url).begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id integer PRIMARY KEY)"))
    for command in (["items"], ["sources", "list"], ["crawl", "spa"]):
        result = run_cli(*command, config_dir=config_dir)
        assert result.returncode == 2, (command, result.stderr)
        assert "has tables but no raqib schema" in _one_line(result.stderr)
    assert _tables(postgres_url) == {"invoices"}


@pytest.mark.postgres
def test_commands_opening_a_new_postgresql_database_at_once_all_find_the_schema(
        postgres_url, monkeypatch):
    """Each decides as the one migrator: none looks while another is migrating and then
    calls the database, which has tables by the time it looks again, someone else's."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    calls, guard, empty = [], threading.Lock(), schema.is_empty

    def slow_is_empty(engine):  # all but the first look take long: the first migrates meanwhile
        with guard:
            calls.append(engine)
        if len(calls) > 1:
            time.sleep(2)
        return empty(engine)

    monkeypatch.setattr(schema, "is_empty", slow_is_empty)
    engines = [make_engine(postgres_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            outcomes = list(pool.map(
                lambda engine: schema.check(engine, create=True), engines))
        assert outcomes == [None] * len(engines)
        assert schema.current_revision(engines[0]) == schema.head_revision()
    finally:
        for engine in engines:
            engine.dispose()
