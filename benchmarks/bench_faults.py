"""Crawl fault probe: `raqib crawl` killed with SIGKILL at chosen points, two crawls at once,
an extraction worker killed, the database cut off (PostgreSQL) or full (SQLite) — each N times on
SQLite and PostgreSQL, then the crawl run again until it stores nothing more, and counted.

Each run: a fresh database and a local site of 40 distinct Arabic articles (tests/faults_web.py),
one watch rule. After the fault and the recovery crawls (at most three): *lost* counts articles
the site offers that were never stored; *duplicated* counts copies of an address or a text
beyond the first; *matches missing* counts stored articles the rule matches without a stored
match; *open* counts runs left `running`. Prints the README's "Reliability" table.

    python benchmarks/bench_faults.py --runs 3 [--only sqlite|postgresql] [--fault NAME]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.repository import Repository  # noqa: E402
from tests.faults_web import (  # noqa: E402
    RULES,
    NewsSite,
    OutageProxy,
    many_articles,
    tally,
)

ARTICLES = 40
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@dataclass
class Row:
    fault: str
    database: str
    runs: int = 0
    lost: int = 0
    duplicated: int = 0
    matches_missing: int = 0
    open_runs: int = 0
    notes: set = field(default_factory=set)


def _env() -> dict:
    return {**{k: v for k, v in os.environ.items() if k != "RAQIB_FAULT"},
            "PYTHONPATH": str(ROOT)}


class Crawl:
    """`raqib crawl` in a session of its own, its output in files: a crawl killed with SIGKILL
    leaves its extraction worker behind (it holds the output pipes open), so `wait` ends the
    whole session once the crawl itself has ended."""

    def __init__(self, config_dir: Path, fault: str | None = None, **options) -> None:
        env = _env()
        if fault:
            env["RAQIB_FAULT"] = fault
        self.out = tempfile.TemporaryFile("w+")
        self.err = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "crawl"],
            stdout=self.out, stderr=self.err, text=True, cwd=ROOT, env=env,
            start_new_session=True, **options)
        self.pid = self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        self.process.kill()

    def wait(self, timeout: float = 300) -> tuple[int, str]:
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            returncode = self.process.wait()
        # An extraction process checks every second whether its crawl is gone (crawler.extraction
        # .prime): what is still there after two seconds was left behind.
        time.sleep(2.0)
        left = _session_members(self.pid)
        if left:
            LEFT_BEHIND.append(len(left))
        try:
            os.killpg(self.pid, signal.SIGKILL)  # what a killed crawl left running
        except ProcessLookupError:
            pass
        self.err.seek(0)
        stderr = self.err.read()
        self.out.close()
        self.err.close()
        return returncode, stderr


def crawl(config_dir: Path, fault: str | None = None) -> tuple[int, str]:
    return Crawl(config_dir, fault).wait()


def _count(database_url: str) -> int:
    try:
        repository = Repository(database_url, create=False)
    except Exception:
        return 0  # no schema yet
    try:
        return repository.articles.count("waha")
    except Exception:
        return 0
    finally:
        repository.close()


def _wait_for_articles(database_url: str, at_least: int, process: Crawl,
                       timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if _count(database_url) >= at_least:
            return
        time.sleep(0.05)


LEFT_BEHIND: list[int] = []  # processes alive in a crawl's session after the crawl ended


def _session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z" and int(fields[3]) == session:
                members.append(int(entry.name))
    return members


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                found.append(int(entry.name))
                todo.append(int(entry.name))
    return found


# --- the faults: each gets (site, config_dir, database_url, rng) and leaves the recovery to run()

def kill_at(point: str, most: int) -> Callable:
    def fault(site, config_dir, database_url, rng) -> str:
        name = f"{point}:{rng.randint(1, most)}" if most > 1 else point
        returncode, _ = crawl(config_dir, fault=name)
        return "killed" if returncode == -signal.SIGKILL else "not reached"
    return fault


def kill_at_random(site, config_dir, database_url, rng) -> str:
    process = Crawl(config_dir)
    time.sleep(rng.uniform(2.0, 6.0))  # the CLI's start is ~2 s: from start-up to the end
    if process.poll() is None:
        process.kill()
    returncode, _ = process.wait()
    return "killed" if returncode == -signal.SIGKILL else "finished first"


def two_at_once(site, config_dir, database_url, rng) -> str:
    first, second = Crawl(config_dir), Crawl(config_dir)
    outcomes = []
    for process in (first, second):
        _, stderr = process.wait()
        if "already exists" in stderr or "Traceback" in stderr:
            outcomes.append("ERROR")
        outcomes.append("refused" if "another crawl of waha is running" in stderr else "ran")
    return "+".join(sorted(outcomes))


def kill_extraction_worker(site, config_dir, database_url, rng) -> str:
    process = Crawl(config_dir)
    _wait_for_articles(database_url, rng.randint(3, 15), process)
    workers = [pid for pid in _descendants(process.pid)
               if b"multiprocessing.spawn" in _cmdline(pid)]
    if workers:
        os.kill(workers[0], signal.SIGKILL)
    process.wait()
    return "worker killed" if workers else "no worker seen"


def outage(site, config_dir, database_url, rng) -> str:
    """PostgreSQL cut off for 2 s mid-crawl (a relay that drops every connection)."""
    proxy = OutageProxy()
    try:
        through = proxy.url(database_url)
        text = (config_dir / "settings.yaml").read_text().replace(database_url, through)
        (config_dir / "settings.yaml").write_text(text)
        process = Crawl(config_dir)
        _wait_for_articles(database_url, rng.randint(3, 15), process)
        proxy.down()
        time.sleep(2)
        proxy.up()
        _, stderr = process.wait()
        (config_dir / "settings.yaml").write_text(text.replace(through, database_url))
        return "failed loudly" if "FAILED" in stderr else "ok"
    finally:
        proxy.stop()


def disk_full(site, config_dir, database_url, rng) -> str:
    """SQLite on a disk with room for a few articles (RLIMIT_FSIZE), then room again."""
    path = Path(database_url.removeprefix("sqlite:///"))
    limit = path.stat().st_size + rng.randint(60_000, 200_000)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    _, stderr = Crawl(config_dir, preexec_fn=small_disk).wait()
    return "failed loudly" if "FAILED" in stderr else "ok"


FAULTS: dict[str, tuple[str, Callable]] = {
    "mid-discovery": ("kill -9 of `raqib crawl` mid-discovery (a feed read, its links not taken)",
                      kill_at("crawl:mid-discovery", 1)),
    "between-stores": ("kill -9 inside an article's transaction (the article written, its "
                       "matches not yet)", kill_at("store:after-article", ARTICLES - 5)),
    "after-article": ("kill -9 after an article's commit (the crawl goes on)",
                      kill_at("crawl:after-article-commit", ARTICLES - 5)),
    "during-commit": ("kill -9 during a commit (written, not committed)",
                      kill_at("db:before-commit", 25)),
    "random": ("kill -9 of `raqib crawl` at a random moment", kill_at_random),
    "two-at-once": ("two `raqib crawl` at once on a new database", two_at_once),
    "extraction-worker": ("kill -9 of the extraction worker mid-crawl", kill_extraction_worker),
    "outage": ("database cut off for 2 s mid-crawl, then back", outage),
    "disk-full": ("disk full mid-crawl, then room again", disk_full),
}
ONLY_ON = {"outage": "postgresql", "disk-full": "sqlite"}


def _database(kind: str, directory: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{directory}/raqib.db", lambda: None
    import psycopg

    name = f"raqib_faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def run(fault: str, kind: str, rng: random.Random, row: Row) -> None:
    site = NewsSite(many_articles(ARTICLES, seed=rng.randint(0, 10**6)))
    for article in site.articles:  # a crawl of a few seconds, for the faults to fall into
        site.site.pages[article.path].delay = 0.05
    with tempfile.TemporaryDirectory(prefix="raqib-faults-") as directory:
        database_url, drop = _database(kind, Path(directory))
        try:
            config_dir = site.config(Path(directory) / "config", database_url, rules=RULES,
                                     retry_times=0, concurrency_per_site=2)
            if fault in ("disk-full",):
                Repository(database_url).close()
            row.notes.add(FAULTS[fault][1](site, config_dir, database_url, rng))
            for _ in range(3):  # recovery: crawl again until it stores nothing more
                before = _count(database_url)
                returncode, _ = crawl(config_dir)
                if returncode not in (0, 1):
                    row.notes.add(f"recovery exit {returncode}")
                if _count(database_url) == before and before:
                    break
            counted = tally(database_url, site, config_dir)
        finally:
            site.stop()
            drop()
    row.runs += 1
    row.lost += counted.lost
    row.duplicated += counted.duplicated
    row.matches_missing += counted.matches_missing
    row.open_runs += counted.open_runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--fault", choices=sorted(FAULTS), action="append")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    rows = []
    started = time.monotonic()
    for fault in args.fault or FAULTS:
        for kind in kinds:
            if ONLY_ON.get(fault, kind) != kind:
                continue
            row = Row(FAULTS[fault][0], "SQLite" if kind == "sqlite" else "PostgreSQL")
            for _ in range(args.runs):
                before = len(LEFT_BEHIND)
                run(fault, kind, rng, row)
                if len(LEFT_BEHIND) > before:
                    row.notes.add(f"processes left behind by {len(LEFT_BEHIND) - before} crawl(s)")
            rows.append(row)
            print(f"  {fault} on {kind}: {row.runs} runs, lost {row.lost}, duplicated "
                  f"{row.duplicated}, matches missing {row.matches_missing}, open "
                  f"{row.open_runs} ({', '.join(sorted(row.notes))})", file=sys.stderr,
                  flush=True)
    print(f"\n{ARTICLES} articles a run; {time.monotonic() - started:.0f} s; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| fault | database | runs | lost | duplicated | matches missing | runs left open |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.fault} | {row.database} | {row.runs} | {row.lost} | {row.duplicated} | "
              f"{row.matches_missing} | {row.open_runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
