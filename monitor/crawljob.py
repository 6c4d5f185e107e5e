"""One crawl of one source in a child process, bounded in time.

A Twisted reactor cannot be restarted in a process, and a long-lived process that crawls
for months must not accumulate what a crawl leaves behind. So the daemon and the workers run
each crawl as a fresh `raqib crawl SOURCE --json` child: its memory is returned to the system
when it exits, and a crawl that hangs is killed without touching the others.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class CrawlOutcome:
    """How a crawl child ended: `ok`, `failed` or `timeout`, with its counts."""

    source: str
    status: str
    counts: dict = field(default_factory=dict)
    error: str | None = None
    returncode: int | None = None


class CrawlChildren:
    """The crawl children running now, so that shutdown can wait for or stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen] = {}

    def add(self, source: str, process: subprocess.Popen) -> None:
        with self._lock:
            self._running[source] = process

    def remove(self, source: str) -> None:
        with self._lock:
            self._running.pop(source, None)

    def running(self) -> dict[str, subprocess.Popen]:
        with self._lock:
            return dict(self._running)

    def terminate_all(self) -> None:
        for process in self.running().values():
            _terminate(process)


def _terminate(process: subprocess.Popen, grace: float = 5.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def crawl_in_child(source_id: str, *, config_dir: str | Path, database_url: str,
                   time_limit: float, children: CrawlChildren | None = None,
                   extra_env: dict | None = None) -> CrawlOutcome:
    """Run `raqib crawl SOURCE_ID --json` in a child process and wait at most `time_limit`."""
    command = [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir),
               "--db", database_url, "crawl", "--json", source_id]
    env = {**os.environ, **(extra_env or {})}
    # A session of its own: a timeout kills the crawl and its extraction workers together.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, env=env,
                               start_new_session=True)
    if children is not None:
        children.add(source_id, process)
    try:
        stdout, stderr = process.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        _terminate(process)
        stdout, stderr = process.communicate()
        return CrawlOutcome(source_id, "timeout", error=f"killed after {time_limit:.0f}s",
                            returncode=process.returncode)
    finally:
        if children is not None:
            children.remove(source_id)
    return _outcome(source_id, process.returncode, stdout, stderr)


def _outcome(source_id: str, returncode: int, stdout: str, stderr: str) -> CrawlOutcome:
    try:
        report = json.loads(stdout.strip().splitlines()[-1])[0]
    except (IndexError, ValueError, KeyError, TypeError):
        last = (stderr.strip().splitlines() or [f"exit code {returncode}"])[-1]
        return CrawlOutcome(source_id, "failed", error=last[:500], returncode=returncode)
    counts = {key: value for key, value in report.items()
              if key not in ("source", "status", "error")}
    return CrawlOutcome(source_id, report["status"], counts, report.get("error"), returncode)
