"""`raqib crawl` and `raqib run`: crawl once, or on schedule."""

from __future__ import annotations

import argparse
import json
import logging
from typing import TYPE_CHECKING

from monitor.commands import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    err,
    print_table,
)
from monitor.config import Config

if TYPE_CHECKING:
    from crawler.report import SourceReport


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    crawl = commands.add_parser(
        "crawl", help="crawl all enabled sources (or the named ones) once",
        description="Crawl every enabled source, or the named sources, once. Prints a line per "
                    "source as it finishes and a summary table. Exit 0 when every source ran, "
                    "1 when any source failed entirely, 2 on a configuration error, 130 when "
                    "stopped by Ctrl-C (the first lets the requests in flight finish, a second "
                    "stops at once; the runs are recorded as interrupted).")
    crawl.add_argument("source_ids", nargs="*", metavar="SOURCE_ID",
                       help="the sources to crawl (default: every enabled one; a disabled one "
                            "is crawled when named); `raqib sources list` shows the ids")
    crawl.add_argument("--json", action="store_true",
                       help="print the summary as one JSON list (for scripts) instead of a table")
    crawl.set_defaults(handler=cmd_crawl)

    run = commands.add_parser(
        "run", help="the daemon: crawl every source on its schedule, send digests",
        description="Run in the foreground until SIGINT/SIGTERM: one crawl job per enabled "
                    "source on its schedule (each crawl in a child process), the digest jobs and "
                    "a source-health check. SIGHUP reloads the configuration; a bad one is refused "
                    "and the running one kept.")
    run.add_argument("--check", action="store_true",
                     help="do not run: exit 0 when a daemon is scheduling on this PostgreSQL "
                          "database (it holds the scheduler lock), 1 when none is (a "
                          "container's health check)")
    run.set_defaults(handler=cmd_run)


def cmd_crawl(args: argparse.Namespace, config: Config) -> int:
    from crawler.report import COUNTS
    from crawler.runner import run_crawl
    from crawler.store import open_crawl_store

    sources = config.select_sources(args.source_ids)
    if not sources:
        raise UsageError("no enabled sources: enable one in sources.yaml or name it")
    for source in sources:
        if not source.enabled:
            err(f"note: source '{source.id}' is disabled in sources.yaml"
                + (f" ({source.disabled_reason})" if source.disabled_reason else "")
                + "; crawling it because it was named")
    store = open_crawl_store(config)
    total = len(sources)
    done: list[str] = []
    err(f"crawling {total} source{'s' if total != 1 else ''}: "
        + ", ".join(source.id for source in sources))

    def finished(report: SourceReport) -> None:
        done.append(report.source)
        line = ", ".join(f"{report[key]} {key.replace('_', ' ')}" for key in COUNTS)
        state = {"failed": "FAILED: " + (report.error or ""),
                 "warning": "WARNING: " + (report.error or "")}.get(report.status, report.status)
        err(f"[{len(done)}/{total}] {report.source}: {state} in {report.seconds:.1f}s — {line}")

    def interrupted(in_flight: int) -> None:
        err(f"stopping — finishing {in_flight} request{'s' if in_flight != 1 else ''} in flight "
            "(Ctrl-C again to stop now)")

    try:
        reports = run_crawl(config, sources, store, on_finish=finished, on_interrupt=interrupted)
    finally:
        store.close()
    if args.json:
        print(json.dumps([{"source": r.source, "status": r.status, "error": r.error,
                           **{k: r[k] for k in COUNTS}} for r in reports], ensure_ascii=False))
    else:
        print_crawl_summary(reports)
    for report in reports:
        if report.status == "warning":
            err(f"raqib: warning: source '{report.source}' gave nothing to store: {report.error}")
    failed = [r for r in reports if r.status == "failed"]
    for report in failed:
        err(f"raqib: source '{report.source}' failed: {report.error}")
    if any(r.status == "interrupted" for r in reports):
        err("raqib: interrupted: what was stored is kept; the next crawl takes up the rest")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def print_crawl_summary(reports: list[SourceReport]) -> None:
    """The per-source table of a crawl, with a total line."""
    from crawler.report import COUNTS

    headers = ["source", "status", *COUNTS]
    rows = [[r.source, r.status, *(str(r[k]) for k in COUNTS)] for r in reports]
    rows.append(["total", "", *(str(sum(r[k] for r in reports)) for k in COUNTS)])
    print_table([h.replace("_", "-") for h in headers], rows)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from monitor.daemon import Daemon

    if args.check:
        return _daemon_scheduling(config)

    if args.verbose == 0:  # a daemon's log says what it scheduled and what each run did
        logging.getLogger("monitor").setLevel(logging.INFO)
    return Daemon(args.config_dir, args.db).run_forever()


def _daemon_scheduling(config: Config) -> int:
    """`raqib run --check`: whether some daemon holds the scheduler lock of this database."""
    from monitor.commands import open_repository
    from monitor.daemon.leadership import SCHEDULER_LOCK

    repository = open_repository(config)
    try:
        if repository.dialect != "postgresql":
            raise UsageError("--check looks at the scheduler lock, which only PostgreSQL has")
        lock = repository.locks.try_lock(SCHEDULER_LOCK)
        if lock is not None:  # free: no daemon is scheduling
            lock.release()
            err("raqib: no daemon is scheduling on this database")
            return EXIT_FAILED
        print("a daemon is scheduling on this database")
        return EXIT_OK
    finally:
        repository.close()
