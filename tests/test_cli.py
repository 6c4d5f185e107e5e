"""The command line as a newcomer meets it: pipes, database URLs, numbers, unknown ids, and the
database a read-only command looks for (issue 25, points 8–11; issue 20, point 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.records import NewArticle
from storage.repository import Repository
from tests.conftest import ROOT, run_cli
from tests.fixture_web import write_config

TITLES = [
    "اللجنة الوزارية للحكومة الإلكترونية الخليجية تعقد اجتماعها الـ١٢ في الرياض",
    "هيئة الحكومة الرقمية تطلق منصة موحّدة للخدمات",
    "ورشة عمل عن الأمن السيبراني في مسقط",
]


def _stored(tmp_path: Path, count: int = 400) -> tuple[Path, str]:
    """A config directory and a SQLite database holding `count` Arabic articles."""
    url = f"sqlite:///{tmp_path}/raqib.db"
    sources = [{"id": "spa", "name": "وكالة الأنباء السعودية", "country": "SA", "language": "ar",
                "kind": "agency", "timezone": "Asia/Riyadh",
                "feeds": ["http://127.0.0.1:9/rss.xml"]}]
    config = write_config(tmp_path / "config", sources, url)
    repository = Repository(url)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    for number in range(count):
        title = TITLES[number % len(TITLES)]
        repository.articles.save(NewArticle(
            source="spa", url=f"https://spa.example/news/{number}",
            fetched_url=f"https://spa.example/news/{number}", title=f"{title} ({number})",
            text=f"{title}. " * 40, language="ar", content_fingerprint=f"fp{number}",
            fetched_at=start + timedelta(minutes=number), published_at=start))
    repository.close()
    return config, url


def _piped_into_head(args: list[str], config: Path, cwd: Path | None = None
                     ) -> subprocess.CompletedProcess:
    """`raqib ARGS | head -1` through a shell, as a user types it; raqib's own exit status."""
    command = " ".join([sys.executable, "-m", "monitor.cli", "--config-dir", str(config), *args])
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command} | head -1"],
                          capture_output=True, text=True, timeout=120, cwd=cwd or ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("form", ["csv", "jsonl", "table"])
def test_items_into_a_closed_pipe_stops_quietly(tmp_path: Path, form: str) -> None:
    config, _ = _stored(tmp_path, count=1500 if form == "table" else 400)  # more than a pipe holds
    done = _piped_into_head(["items", "--limit", "0", "--format", form], config)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1
    if form == "jsonl":
        assert json.loads(done.stdout)["source"] == "spa"


@pytest.mark.parametrize(("url", "says"), [
    ("mysql://raqib:s3cret@db.example/raqib", "'mysql://…' is not a database raqib can use"),
    ("postgresql+psycopg2://raqib:s3cret@db.example/raqib", "driver 'psycopg2' is not installed"),
    ("not a url", "not a database URL"),
    ("postgresql+psycopg://raqib:s3cret@db.example", "no database name"),
])
def test_a_database_url_raqib_cannot_use_is_one_line_and_exit_2(tmp_path: Path, url: str,
                                                                  says: str) -> None:
    config, _ = _stored(tmp_path, count=1)
    for args, origin in ((["--db", url, "items"], "--db"), (["items", "--db", url], "--db")):
        result = run_cli(*args, config_dir=config)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"raqib: error: {origin}: ")
        assert says in result.stderr
        assert "sqlite:///" in result.stderr and "postgresql+psycopg://" in result.stderr
        assert "s3cret" not in result.stderr
    from_env = run_cli("items", config_dir=config, env={"RAQIB_DATABASE_URL": url})
    assert from_env.returncode == 2 and "RAQIB_DATABASE_URL" in from_env.stderr
    (config / "settings.yaml").write_text(f"database_url: '{url}'\n", encoding="utf-8")
    from_file = run_cli("items", config_dir=config)
    assert from_file.returncode == 2
    assert f"{config / 'settings.yaml'}: field 'database_url': " in from_file.stderr


@pytest.mark.postgres
def test_postgres_scheme_is_postgresql_and_a_database_error_exits_2(tmp_path: Path,
                                                                     postgres_url: str) -> None:
    config, _ = _stored(tmp_path, count=1)
    other = postgres_url.replace("postgresql+psycopg://", "postgres://")
    upgraded = run_cli("--db", other, "db", "upgrade", config_dir=config)
    assert upgraded.returncode == 0, upgraded.stderr
    assert run_cli("--db", other, "items", config_dir=config).returncode == 0
    missing = postgres_url.rsplit("/", 1)[0] + "/raqib_no_such_database"
    result = run_cli("--db", missing, "items", config_dir=config)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("raqib: database error (postgresql+psycopg://postgres@")
    assert 'database "raqib_no_such_database" does not exist' in result.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["--since", "99999999d"], "reaches back before the year 1"),
    (["--since", "yesterday"], "invalid date"),
    (["--limit", "99999999999999999999"], "too large"),
    (["--limit", "-1"], "negative"),
    (["--limit", "ten"], "not a whole number"),
])
def test_numbers_out_of_range_are_refused_in_one_line(tmp_path: Path, args: list[str],
                                                      says: str) -> None:
    config, _ = _stored(tmp_path, count=1)
    result = run_cli("items", *args, config_dir=config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"argument {args[0]}: " in result.stderr and says in result.stderr


def test_rules_test_refuses_an_impossible_article_id_and_limit(tmp_path: Path) -> None:
    config, _ = _stored(tmp_path, count=1)
    huge = run_cli("rules", "test", "--article", "99999999999999999999", config_dir=config)
    assert huge.returncode == 2 and "not an article id" in huge.stderr
    negative = run_cli("rules", "test", "--stored", "--limit", "-5", config_dir=config)
    assert negative.returncode == 2 and "negative" in negative.stderr


def test_limit_zero_lists_everything_and_n_lists_n(tmp_path: Path) -> None:
    config, _ = _stored(tmp_path, count=60)
    every = run_cli("items", "--limit", "0", "--format", "jsonl", config_dir=config)
    assert len(every.stdout.splitlines()) == 60
    some = run_cli("items", "--limit", "7", "--format", "jsonl", config_dir=config)
    assert len(some.stdout.splitlines()) == 7


def test_a_database_newer_than_raqib_is_one_line(tmp_path: Path) -> None:
    config, url = _stored(tmp_path, count=1)
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    for args in (["items"], ["crawl"], ["db", "upgrade"], ["sources", "list"], ["run"],
                 ["worker"], ["web", "--port", "1"], ["rules", "apply"]):
        result = run_cli(*args, config_dir=config, timeout=60,
                         env={"RAQIB_BROKER_URL": "redis://127.0.0.1:9/0"})
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().endswith(
            "is at schema revision 9999_from_the_future, newer than this raqib knows "
            f"(its newest is {_head()}): upgrade raqib"), result.stderr


def _head() -> str:
    from storage.schema import head_revision

    return head_revision()


def _rabbitmq_available() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _rabbitmq_available(), reason="RabbitMQ on 127.0.0.1:5672 not reachable")
def test_worker_exits_non_zero_when_the_broker_refuses_it(tmp_path: Path) -> None:
    config, _ = _stored(tmp_path, count=1)
    result = run_cli("worker", config_dir=config, timeout=90,
                     env={"RAQIB_BROKER_URL": "amqp://guest:not-the-password@127.0.0.1:5672//"})
    assert result.returncode == 1
    assert "ACCESS_REFUSED" in result.stderr
    assert "not-the-password" not in result.stderr


def _raqib_in(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`raqib ARGS` run from `cwd` with only the environment given (no RAQIB_* of the caller)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("RAQIB_") and k not in ("HOME", "XDG_DATA_HOME")}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, stdin=subprocess.DEVNULL,
                          env={**clean, "PYTHONPATH": str(ROOT), **env})


def _files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_commands_that_only_read_create_no_database_and_say_where_they_looked(
        tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {"HOME": str(home)}
    expected = work / "data" / "raqib.db"
    for args in (["items"], ["items", "--flagged", "--format", "jsonl"], ["sources", "list"],
                 ["rules", "test", "--stored"], ["digest", "send", "--dry-run"],
                 ["digest", "send"], ["rules", "apply"], ["db", "reindex"]):
        result = _raqib_in(work, *args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert f"raqib: no database at {expected} yet: nothing is stored" in result.stderr, args
        assert _files_under(tmp_path) == [], args
    created = _raqib_in(work, "db", "upgrade", env=env)
    assert created.returncode == 0, created.stderr
    assert _files_under(tmp_path)[0] == expected and str(expected) in created.stdout
    listed = _raqib_in(work, "items", env=env)
    assert listed.returncode == 0 and "no database" not in listed.stderr
    assert f"no stored articles match in {expected}" in listed.stderr


def test_a_relative_sqlite_path_in_settings_is_under_the_directory_raqib_runs_in(
        tmp_path: Path, test_web) -> None:
    from tests.fixture_web import fixture_sources

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    sources = [s for s in fixture_sources(test_web) if s["id"] == "copycat"]
    config = write_config(tmp_path / "config", sources, "sqlite:///mine/raqib.db")
    env = {"HOME": str(tmp_path / "home")}
    crawled = _raqib_in(work, "--config-dir", str(config), "crawl", env=env)
    assert crawled.returncode == 0, crawled.stderr
    assert work / "mine" / "raqib.db" in _files_under(work)
    listed = _raqib_in(work, "--config-dir", str(config), "items", "--format", "jsonl", env=env)
    assert [json.loads(line)["source"] for line in listed.stdout.splitlines()] == ["copycat"]
    # Elsewhere, a command that only reads says which file it looked for and creates none.
    missing = _raqib_in(elsewhere, "--config-dir", str(config), "items", env=env)
    assert missing.returncode == 0, missing.stderr
    assert f"no database at {elsewhere / 'mine' / 'raqib.db'}" in missing.stderr
    assert _files_under(elsewhere) == []
    # --db is read as typed: a relative file is in the directory raqib runs in.
    here = _raqib_in(work, "--config-dir", str(config), "db", "upgrade", "--db",
                     "sqlite:///here.db", env=env)
    assert here.returncode == 0, here.stderr
    assert (work / "here.db").exists()


def test_demo_db_keeps_the_articles_and_unknown_ids_are_named(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    demo = _raqib_in(tmp_path, "demo", "--db", "sqlite:///kept.db", "--preview", "digest.html",
                     env=env)
    assert demo.returncode == 0, demo.stderr
    assert f"the articles went to {tmp_path / 'kept.db'}" in demo.stderr
    kept = ["--db", f"sqlite:///{tmp_path / 'kept.db'}"]
    # The demo's sources are not in the shipped catalogue, but their articles are stored.
    waha = _raqib_in(tmp_path, *kept, "items", "--source", "waha", "--format", "jsonl", env=env)
    assert waha.returncode == 0, waha.stderr
    assert {json.loads(line)["source"] for line in waha.stdout.splitlines()} == {"waha"}
    flagged = _raqib_in(tmp_path, *kept, "items", "--rule", "gcc-egov-committee", env=env)
    assert flagged.returncode == 0 and "gcc-egov-committee" in flagged.stdout
    for args, says in ((["items", "--source", "nosuch"], "no source 'nosuch' (known: spa, "),
                       (["items", "--rule", "nosuch"],
                        "no rule 'nosuch' (known: gcc-egov-committee, "),
                       (["rules", "test", "--stored", "--source", "nosuch"],
                        "no source 'nosuch' (known: spa, ")):
        result = _raqib_in(tmp_path, *kept, *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        assert says in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_sources_list_shows_the_last_error_and_with_all_why_a_source_is_disabled(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/raqib.db"
    base = {"country": "SA", "language": "ar", "kind": "agency", "timezone": "Asia/Riyadh"}
    config = write_config(tmp_path / "config", [
        {"id": "spa", "name": "واس", "feeds": ["http://127.0.0.1:9/rss.xml"], **base},
        {"id": "okaz", "name": "عكاظ", "feeds": ["http://127.0.0.1:9/okaz.xml"], **base},
        {"id": "sabq", "name": "سبق", "feeds": ["http://127.0.0.1:9/sabq.xml"], "enabled": False,
         "disabled_reason": "الموقع يحجب الزواحف منذ مارس", **base},
    ], url)
    repository = Repository(url)
    run = repository.runs.start("spa")
    repository.runs.finish(run, "failed", {"fetched": 0}, "no feed, sitemap or listing answered "
                           "(last: DNS lookup failed)")
    run = repository.runs.start("okaz")
    repository.runs.finish(run, "warning", {"fetched": 0}, "every article failed (3)")
    run = repository.runs.start("okaz")
    repository.runs.finish(run, "ok", {"fetched": 2, "new": 2})
    repository.close()

    listed = run_cli("sources", "list", config_dir=config)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[2:]}
    assert set(rows) == {"spa", "okaz"}
    assert "last error" in listed.stdout.splitlines()[0]
    assert rows["spa"].rstrip().endswith(
        "no feed, sitemap or listing answered (last: DNS lookup failed)")
    assert "every article failed" not in rows["okaz"]  # recovered since: no error to show
    assert "1 disabled source(s) not shown (--all shows them, with the reason)" in listed.stderr

    every = run_cli("sources", "list", "--all", config_dir=config)
    header = every.stdout.splitlines()[0]
    assert header.rstrip().endswith("why disabled")
    sabq = next(line for line in every.stdout.splitlines() if line.startswith("sabq"))
    assert sabq.rstrip().endswith("الموقع يحجب الزواحف منذ مارس")


def test_the_daemons_line_for_a_crawl_says_why_and_how_many_it_flagged(caplog) -> None:
    from monitor.daemon.crawls import CrawlOutcome

    failed = CrawlOutcome("deadsite", "failed", {"fetched": 0}, error="no feed, sitemap or "
                          "listing answered (last: DNS lookup failed)", returncode=1)
    assert failed.describe() == ("crawl deadsite: failed — no feed, sitemap or listing answered "
                                 "(last: DNS lookup failed); 0 fetched, 0 new, 0 failed, "
                                 "0 flagged")
    ok = CrawlOutcome("spa", "ok", {"fetched": 7, "new": 5, "failed": 1, "flagged": 2})
    assert ok.describe() == "crawl spa: ok; 7 fetched, 5 new, 1 failed, 2 flagged"


def test_run_check_needs_postgresql(tmp_path: Path) -> None:
    config, _ = _stored(tmp_path, count=1)
    result = run_cli("run", "--check", config_dir=config)
    assert result.returncode == 2
    assert "only PostgreSQL has" in result.stderr


@pytest.mark.postgres
def test_run_check_tells_whether_a_daemon_schedules(tmp_path: Path, postgres_url: str) -> None:
    from monitor.daemon.leadership import SCHEDULER_LOCK

    config, _ = _stored(tmp_path, count=1)
    assert run_cli("--db", postgres_url, "db", "upgrade", config_dir=config).returncode == 0
    nobody = run_cli("--db", postgres_url, "run", "--check", config_dir=config)
    assert nobody.returncode == 1 and "no daemon is scheduling" in nobody.stderr
    repository = Repository(postgres_url)
    lock = repository.locks.try_lock(SCHEDULER_LOCK)  # what the scheduling daemon holds
    try:
        held = run_cli("--db", postgres_url, "run", "--check", config_dir=config)
        assert held.returncode == 0, held.stderr
        assert repository.locks.try_lock(SCHEDULER_LOCK) is None  # still the daemon's
    finally:
        lock.release()
        repository.close()
