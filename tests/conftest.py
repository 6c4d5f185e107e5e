"""Shared fixtures: the local test web, config directories, databases, and the CLI as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixture_web import build_test_web

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("RAQIB_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, config_dir: Path | None = None, timeout: float = 120,
            env: dict | None = None) -> CliResult:
    """Run `raqib` in a child process, as a user does (a Twisted reactor runs once per process)."""
    command = [sys.executable, "-m", "monitor.cli"]
    if config_dir is not None:
        command += ["--config-dir", str(config_dir)]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=ROOT, stdin=subprocess.DEVNULL)
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def test_web():
    """The local web of sample and faulty sites, on 127.0.0.1, for one test module."""
    web, by_site = build_test_web()
    web.articles = by_site
    yield web
    web.stop()


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh empty database: SQLite in a temp dir, and a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/raqib.db"
        return
    yield from _postgres_database()


def _postgres_database():
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    import psycopg

    name = f"raqib_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL database (skipped when the server is not reachable outside CI)."""
    yield from _postgres_database()
