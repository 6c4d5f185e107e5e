"""The hostile web and one `raqib crawl` of all its attack sites, measured (time, peak RSS)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.repository import Repository
from tests.conftest import ROOT
from tests.fixture_web import write_config
from tests.hostile import sites
from tests.hostile.web import HostileWeb

# The crawl's settings: short timeouts so that slow attacks end soon, no retries so that
# every hit count is exact, and a 2 MB page limit that every bomb exceeds 500 times over.
CRAWL = {"allow_private_addresses": False, "download_timeout": 5, "retry_times": 0,
         "max_page_size": "2MB"}


@dataclass
class Measured:
    """A child process's exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


def run_measured(*args: str, env: dict, timeout: float = 180) -> Measured:
    """Run `raqib ARGS` in a child and measure it with wait4 (its own and its children's RSS)."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"raqib-hostile-{os.getpid()}-{time.time_ns()}"
    started = time.monotonic()
    with open(f"{out_path}.out", "w+") as out, open(f"{out_path}.err", "w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "monitor.cli", *args], stdout=out,
                                 stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT), **env})
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        result = Measured(child.returncode, out.read(), err.read(), seconds,
                          usage.ru_maxrss / 1024)
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return result


@dataclass
class HostileCrawl:
    """What one crawl of the hostile web did: its output, measures, counts, stored data."""

    web: HostileWeb
    attacks: dict
    run: Measured
    config_dir: Path
    database_url: str
    counts: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str | None] = field(default_factory=dict)
    articles: list = field(default_factory=list)
    seen: list = field(default_factory=list)
    hit_counts: dict = field(default_factory=dict)  # the server's hits when the crawl ended

    def stored(self, source: str) -> list:
        return [a for a in self.articles if a.source == source]

    def stored_paths(self, source: str) -> set[str]:
        return {a.url.split(f":{self.web.port}", 1)[-1] for a in self.stored(source)}

    def count(self, source: str, key: str) -> int:
        return self.counts.get(source, {}).get(key, 0)

    def hits(self, host: str, path: str) -> int:
        return self.hit_counts.get((host, path), 0)


@pytest.fixture(scope="session")
def hostile_web():
    web = HostileWeb().start()
    web.attacks = sites.build(web)
    yield web
    web.stop()


@pytest.fixture(scope="session")
def hostile_config(hostile_web, tmp_path_factory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("hostile")
    database_url = f"sqlite:///{directory}/raqib.db"
    config_dir = write_config(directory / "config", sites.sources_yaml(hostile_web.attacks),
                              database_url, **CRAWL)
    return config_dir, database_url


@pytest.fixture(scope="session")
def hostile_crawl(hostile_web, hostile_config) -> HostileCrawl:
    """`raqib -v crawl` of every attack site at once, as an operator runs it."""
    config_dir, database_url = hostile_config
    run = run_measured("--config-dir", str(config_dir), "-v", "crawl",
                       env=hostile_web.environment())
    crawl = HostileCrawl(hostile_web, hostile_web.attacks, run, config_dir, database_url,
                         hit_counts=dict(hostile_web.hits))
    repository = Repository(database_url)
    try:
        for source in hostile_web.attacks:
            runs = repository.runs.recent(source, limit=1)
            if runs:
                crawl.counts[source] = dict(runs[0].counts or {})
                crawl.errors[source] = runs[0].error
        crawl.articles = repository.articles.find(limit=None)
        crawl.seen = repository.crawl.seen_urls()
    finally:
        repository.close()
    return crawl
