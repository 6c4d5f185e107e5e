"""One crawl of one source in a child process, bounded in time, behind the poll gate.

A Twisted reactor cannot be restarted in a process, and a long-lived process that crawls
for months must not accumulate what a crawl leaves behind. So the daemon and the workers run
each crawl as a fresh child (crawler.child, with a typed result on a pipe): its memory is
returned to the system when it exits, and a crawl that hangs is killed without touching the
others. Before starting one, `run_crawl_child` asks the poll gate (crawler.pollgate) whether
the source has anything new; a quiet poll is recorded `unchanged` and starts nothing. A child
that was killed or died cannot finish its own run record: `run_crawl_child` does it for it,
with what the database holds of that crawl and why it ended.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from crawler.child import CrawlChild
from crawler.pollgate import PollGate
from monitor.config import Config, Source, parse_duration
from storage.repository import Repository

log = logging.getLogger(__name__)


UNCHANGED = "unchanged"  # the run status of a quiet poll: nothing new, no crawl started
INTERRUPTED = "interrupted"  # a crawl the daemon stopped when it stopped (not the source's fault)


@dataclass
class CrawlOutcome:
    """How a crawl ended: `ok`, `failed` or `timeout` (a child's), or `unchanged` (the poll gate
    found nothing new and no child was started), with its counts."""

    source: str
    status: str
    counts: dict = field(default_factory=dict)
    error: str | None = None
    returncode: int | None = None

    def describe(self) -> str:
        """The daemon's log line: how it ended, why, and what it did (flagged included)."""
        why = f" — {self.error}" if self.error else ""
        did = ", ".join(f"{self.counts.get(key, 0)} {key}"
                        for key in ("fetched", "new", "failed", "flagged"))
        return f"crawl {self.source}: {self.status}{why}; {did}"


class CrawlChildren:
    """The crawl children running now, so that shutdown can wait for or stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen] = {}
        self._stopped: dict[int, str] = {}  # pid → why the daemon stopped that child

    def add(self, source: str, process: subprocess.Popen) -> None:
        with self._lock:
            self._running[source] = process

    def remove(self, source: str) -> None:
        with self._lock:
            self._running.pop(source, None)

    def running(self) -> dict[str, subprocess.Popen]:
        with self._lock:
            return dict(self._running)

    def terminate_all(self, why: str = "stopped with the daemon") -> None:
        for process in self.running().values():
            with self._lock:
                self._stopped[process.pid] = why
            _terminate(process)

    def stopped(self, process: subprocess.Popen) -> str | None:
        """Why the daemon stopped this child (None: it was not stopped by the daemon)."""
        with self._lock:
            return self._stopped.pop(process.pid, None)


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
    """Crawl one source in a child process (crawler.child) and wait at most `time_limit`.

    The database URL goes to the child in its environment, never on its command line.
    """
    child = CrawlChild([source_id], config_dir=config_dir, database_url=database_url,
                       extra_env=extra_env)
    if children is not None:
        children.add(source_id, child.process)
    try:
        result, log_text = child.wait(time_limit)
    except subprocess.TimeoutExpired:
        _terminate(child.process)
        child.wait()
        return CrawlOutcome(source_id, "timeout",
                            error=f"stopped: still running after daemon.crawl_time_limit "
                                  f"({time_limit:.0f}s)", returncode=child.process.returncode)
    finally:
        if children is not None:
            children.remove(source_id)
    returncode = child.process.returncode
    stopped = children.stopped(child.process) if children is not None else None
    report = next((r for r in result.reports if r.source == source_id), None) if result else None
    if stopped and (report is None or report.status != "ok"):
        return CrawlOutcome(source_id, INTERRUPTED, error=stopped, returncode=returncode)
    if report is None:
        if result and result.error:
            error = result.error
        elif returncode is not None and returncode < 0:
            error = f"crawl process died ({_signal_name(-returncode)})"
        else:
            lines = [line for line in log_text.strip().splitlines()
                     if line.strip() and not line.startswith("(Background on this error")]
            last = (lines or [f"exit code {returncode}"])[-1]
            error = f"crawl process failed (exit code {returncode}): {last[:400]}"
        return CrawlOutcome(source_id, "failed", error=error, returncode=returncode)
    return CrawlOutcome(source_id, report.status, dict(report.counts), report.error, returncode)


def _signal_name(number: int) -> str:
    try:
        return f"killed by {signal.Signals(number).name}"
    except ValueError:
        return f"killed by signal {number}"


class ConfigSnapshot:
    """A private copy of the configuration files the daemon validated, for its crawl children.

    Children read their configuration from files; reading the live directory would let an edit
    that the daemon has not accepted (or has refused on SIGHUP) reach the next crawl.
    """

    FILES = ("sources.yaml", "rules.yaml", "settings.yaml")

    PREFIX = "raqib-config-"

    def __init__(self, config: Config) -> None:
        self._remove_stale()
        self.directory = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-"))
        self.take(config)

    @classmethod
    def _remove_stale(cls) -> None:
        """The snapshots of daemons that died without removing theirs (kill -9, a crash)."""
        for directory in Path(tempfile.gettempdir()).glob(f"{cls.PREFIX}*-*"):
            pid = directory.name.removeprefix(cls.PREFIX).split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(directory, ignore_errors=True)

    def take(self, config: Config) -> None:
        """Copy the files (all written before any replaces the old: a copy that fails, e.g. on
        a full disk, leaves the previous snapshot whole)."""
        copies = []
        try:
            for name in self.FILES:
                source = config.directory / name
                if source.exists():
                    partial = self.directory / f".{name}.partial"
                    shutil.copyfile(source, partial)
                    copies.append((partial, self.directory / name))
                else:
                    copies.append((None, self.directory / name))
        except BaseException:
            for partial, _ in copies:
                if partial is not None:
                    partial.unlink(missing_ok=True)
            raise
        # Renamed: a crawl starting meanwhile reads the old file or the new one.
        for partial, target in copies:
            if partial is None:
                target.unlink(missing_ok=True)
            else:
                partial.replace(target)

    def contents(self) -> dict[str, bytes | None]:
        """The files as they are now (to put back with `restore`)."""
        return {name: (self.directory / name).read_bytes() if (self.directory / name).exists()
                else None for name in self.FILES}

    def restore(self, contents: dict[str, bytes | None]) -> None:
        for name, data in contents.items():
            if data is None:
                (self.directory / name).unlink(missing_ok=True)
            else:
                partial = self.directory / f".{name}.partial"
                partial.write_bytes(data)
                partial.replace(self.directory / name)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def crawl_session_name(source_id: str) -> str:
    """The PostgreSQL application_name of a source's crawl child (at most 63 characters)."""
    return f"raqib-crawl:{source_id}"[:63]


def poll_is_quiet(config: Config, source: Source, repository: Repository,
                  gate: PollGate) -> bool:
    """Ask the poll gate whether the source has anything new; when not, record the run as
    `unchanged` and say so (True). Any doubt is False: the crawl child decides."""
    started = datetime.now(UTC)
    try:
        if repository.crawl.urls_to_retry(source.id, config.settings.crawl.max_failed_attempts):
            log.debug("crawl %s: failed downloads to retry, crawling", source.id)
            return False
        answer = gate.check(source.start_urls, repository.crawl.validators)
        if not answer.quiet:
            log.debug("crawl %s: %s, crawling", source.id, answer.reason)
            return False
        repository.runs.record(source.id, started, datetime.now(UTC), UNCHANGED,
                               {"not_modified": answer.pages})
        return True
    except Exception as exc:  # the gate is an optimisation: never a reason not to crawl
        log.warning("crawl %s: poll gate failed (%r), crawling", source.id, exc)
        return False


def run_crawl_child(config: Config, source: Source, repository: Repository, *,
                    config_dir: Path | None = None,
                    children: CrawlChildren | None = None,
                    gate: PollGate | None = None) -> CrawlOutcome:
    """The crawl of one source in a child process, and the run record a killed or crashed
    child could not write. `config_dir`: where the child reads its configuration (default:
    the configuration's own directory). With a `gate`, a source whose discovery pages all
    answer 304 is recorded `unchanged` and no child is started."""
    if gate is not None and poll_is_quiet(config, source, repository, gate):
        return CrawlOutcome(source.id, UNCHANGED, {"fetched": 0, "new": 0})
    started = datetime.now(UTC)
    database_url = make_url(config.settings.database_url)
    if database_url.get_backend_name() == "postgresql":
        # Named, so that a later job can see this crawl still running after its worker died.
        database_url = database_url.update_query_dict(
            {"application_name": crawl_session_name(source.id)})
    outcome = crawl_in_child(source.id, config_dir=config_dir or config.directory,
                             database_url=database_url.render_as_string(hide_password=False),
                             time_limit=parse_duration(config.settings.daemon.crawl_time_limit),
                             children=children)
    if outcome.status in ("ok", "failed") and outcome.returncode in (0, 1):
        return outcome  # the child recorded its own run
    # Stopped or dead: its run record still says `running` (or it never wrote one). What it
    # did is in the database, whatever stopped it (even SIGKILL): record that, and why.
    # An interrupted child may have closed its own run (as failed, "crawl ended: shutdown"):
    # that run is this crawl's too.
    status = INTERRUPTED if outcome.status == INTERRUPTED else "failed"
    reason = outcome.error or "crawl process died"
    outcome.counts = repository.runs.stored_since(source.id, started)
    closing = ("running", "failed") if status == INTERRUPTED else ("running",)
    if not repository.runs.close_running(source.id, started, status, outcome.counts, reason,
                                         closing=closing):
        repository.runs.record(source.id, started, datetime.now(UTC), status, outcome.counts,
                               reason)
    return outcome
