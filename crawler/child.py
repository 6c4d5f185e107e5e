"""A crawl child: one crawl in a process of its own, started by a parent (the daemon, a worker,
the demo), with a typed result.

    python -m crawler.child --config-dir DIR --result-fd N [SOURCE_ID...]

A Twisted reactor runs once per process, so every crawl gets a fresh one. The protocol, both
sides of it, lives here:
- the database URL (and its password) comes in the environment, RAQIB_DATABASE_URL, never on
  the command line, where every user of the machine can read it (/proc/PID/cmdline, ps);
- the result is one JSON object written to file descriptor N when the crawl ends,
  `{"reports": [SourceReport...], "error": null | "one line"}`, read back as a `ChildResult`;
- the exit status is 0 (every source ran), 1 (a source failed) or 2 (the configuration or the
  database cannot be used: `error` says why). Standard error carries the log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawler.report import SourceReport

DATABASE_ENV = "RAQIB_DATABASE_URL"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ChildResult:
    """What a crawl child handed back: a report per source, or why it could not crawl."""

    reports: list[SourceReport] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps({"reports": [report.to_dict() for report in self.reports],
                           "error": self.error}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ChildResult:
        """The result a child wrote; ValueError when it is not one."""
        try:
            data = json.loads(text)
            return cls([SourceReport.from_dict(r) for r in data["reports"]], data.get("error"))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a crawl child's result: {exc!r}") from exc


def child_command(source_ids: Sequence[str], *, config_dir: str | Path, result_fd: int) -> list[str]:
    """The command line of a crawl child (nothing secret in it)."""
    return [sys.executable, "-m", "crawler.child", "--config-dir", str(config_dir),
            "--result-fd", str(result_fd), *source_ids]


def child_environment(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a crawl child: the parent's, the database URL, and this very raqib
    first on the import path (also when it runs from a source checkout)."""
    path = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **(extra or {}), DATABASE_ENV: database_url, "PYTHONPATH": path}


class CrawlChild:
    """A started crawl child, from its parent's side: `wait` for its result and its log.

    `new_session`: a process group of its own, so that the parent can stop the crawl and its
    extraction workers together (os.killpg).
    """

    def __init__(self, source_ids: Sequence[str], *, config_dir: str | Path, database_url: str,
                 extra_env: dict[str, str] | None = None, new_session: bool = True) -> None:
        result_read, result_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                child_command(source_ids, config_dir=config_dir, result_fd=result_write),
                env=child_environment(database_url, extra_env), pass_fds=(result_write,),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, start_new_session=new_session)
        except BaseException:
            os.close(result_read)
            raise
        finally:
            os.close(result_write)
        self._written: list[bytes] = []
        # Read as it comes, in a thread: a full pipe would block the child.
        self._reader = threading.Thread(target=self._read, args=(result_read,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as channel:
            while chunk := channel.read(65536):
                self._written.append(chunk)

    def wait(self, timeout: float | None = None) -> tuple[ChildResult | None, str]:
        """The child's result (None when it wrote none: it crashed or was killed) and its log.

        subprocess.TimeoutExpired when it is still running after `timeout` seconds.
        """
        _, log_text = self.process.communicate(timeout=timeout)
        self._reader.join(10)
        try:
            result = ChildResult.from_json(b"".join(self._written).decode("utf-8", "replace"))
        except ValueError:
            result = None
        return result, log_text or ""


def _crawl(config_dir: str, source_ids: list[str]) -> tuple[int, ChildResult]:
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.runner import run_crawl
    from crawler.store import SchemaError, open_crawl_store
    from monitor.config import ConfigError, load_config

    try:
        config = load_config(config_dir)  # the database URL: DATABASE_ENV
        sources = config.select_sources(source_ids)
        store = open_crawl_store(config)
    except (ConfigError, SchemaError) as exc:
        return 2, ChildResult(error=str(exc))
    except SQLAlchemyError as exc:  # the database cannot be reached: say why, in one line
        return 2, ChildResult(error=f"database error: {str(exc).splitlines()[0]}")
    try:
        reports = run_crawl(config, sources, store)
    finally:
        store.close()
    return (1 if any(r.status == "failed" for r in reports) else 0), ChildResult(reports)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of a crawl child (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m crawler.child",
                                     description="One crawl for a parent process (not for users: "
                                                 "`raqib crawl` is).")
    parser.add_argument("--config-dir", required=True, metavar="DIR")
    parser.add_argument("--result-fd", required=True, type=int, metavar="N")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("source_ids", nargs="*", metavar="SOURCE_ID",
                        help="the sources to crawl (default: every enabled one)")
    args = parser.parse_args(argv)
    from monitor.logs import configure_logging

    configure_logging(args.verbose)
    if not os.environ.get(DATABASE_ENV):
        status, result = 2, ChildResult(error=f"{DATABASE_ENV} is not set")
    else:
        status, result = _crawl(args.config_dir, args.source_ids)
    with os.fdopen(args.result_fd, "w", encoding="utf-8") as channel:
        channel.write(result.to_json())
    if result.error:
        print(f"raqib crawl child: error: {result.error}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
