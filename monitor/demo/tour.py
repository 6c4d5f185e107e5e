"""`raqib demo`: the whole pipeline on the bundled sample web, for a newcomer with no network.

Starts the sample sites on 127.0.0.1, writes a throw-away configuration for them (the shipped
watch rules, loopback allowed, fast timeouts, one digest), crawls them in a child process —
a Twisted reactor runs once per process, and the sample web keeps serving in this one — then
reads back what was flagged and renders the digest as an HTML preview.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crawler.child import CrawlChild
from crawler.report import SourceReport
from monitor.config import load_config, shipped_config_dir
from monitor.demo.sites import demo_sources, demo_web, populate
from storage.records import StoredArticle
from storage.repository import Repository

log = logging.getLogger(__name__)

DEMO_RULE = "gcc-egov-committee"
DEMO_DIGEST = "demo-egov"
CRAWL_TIME_LIMIT = 50.0  # seconds: the sample web crawls in a few; a hang must not look like work


class DemoError(Exception):
    """The demo could not run to the end (the message says which step failed)."""


@dataclass
class DemoResult:
    """What the demo did: the crawl's own report, the flagged articles, the digest preview."""

    database_url: str
    reports: list[SourceReport]  # the crawl's, one per sample site
    crawl_log: str
    articles: int
    flagged: list[StoredArticle] = field(default_factory=list)
    rule_names: dict[str, str] = field(default_factory=dict)
    preview: Path | None = None
    digest_subject: str | None = None
    seconds: float = 0.0


def write_demo_config(directory: Path, sources: list[dict], database_url: str) -> Path:
    """A configuration directory for the started sample web (rules: the shipped ones)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"sources": sources}, allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    (directory / "rules.yaml").write_text(
        (shipped_config_dir() / "rules.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    settings = {
        "database_url": database_url,
        # The sample web is on 127.0.0.1 and answers at once: loopback allowed, short limits.
        "crawl": {"allow_private_addresses": True, "autothrottle": False, "download_timeout": 5,
                  "retry_times": 0, "extraction_workers": 1, "source_time_limit": "40s"},
        "digests": [{"id": DEMO_DIGEST, "name": "أخبار لجان الحكومة الإلكترونية الخليجية",
                     "rules": [DEMO_RULE], "recipients": ["analyst@example.org"],
                     "schedule": "immediate", "timezone": "Asia/Riyadh", "language": "ar"}],
    }
    (directory / "settings.yaml").write_text(
        yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def run_demo(preview: Path, database_url: str | None = None) -> DemoResult:
    """Serve the sample web, crawl it, and collect the flagged articles and a digest preview."""
    from monitor.digest.run import run_digests

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="raqib-demo-") as scratch:
        directory = Path(scratch)
        database_url = database_url or f"sqlite:///{directory / 'demo.db'}"
        with demo_web() as web:
            populate(web)
            config_dir = write_demo_config(directory / "config", demo_sources(web), database_url)
            crawled, crawl_log = _crawl(config_dir, database_url)
        config = load_config(config_dir, database_url=database_url)
        repository = Repository(database_url)
        try:
            articles = repository.articles.count()
            flagged = repository.articles.find(flagged=True, limit=None)
            reports = run_digests(config, repository, digest_id=DEMO_DIGEST, only_due=False,
                                  preview=preview)
        finally:
            repository.close()
    written = next((r for r in reports if r.preview is not None), None)
    return DemoResult(database_url=database_url, reports=crawled,
                      crawl_log=crawl_log, articles=articles, flagged=flagged,
                      rule_names={rule.id: rule.name for rule in config.rules},
                      preview=written.preview if written else None,
                      digest_subject=written.subject if written else None,
                      seconds=time.monotonic() - started)


def _crawl(config_dir: Path, database_url: str) -> tuple[list[SourceReport], str]:
    """Crawl the demo configuration in a child process (crawler.child); its reports and log."""
    child = CrawlChild([], config_dir=config_dir, database_url=database_url, new_session=False)
    try:
        result, log_text = child.wait(CRAWL_TIME_LIMIT)
    except subprocess.TimeoutExpired as exc:
        child.process.kill()
        child.wait()
        raise DemoError(f"the crawl of the sample web took over {CRAWL_TIME_LIMIT:.0f}s") from exc
    if result is None:
        last = (log_text.strip().splitlines() or [f"exit code {child.process.returncode}"])[-1]
        raise DemoError(f"the crawl of the sample web failed: {last}")
    failed = [r for r in result.reports if r.status == "failed"]
    if result.error or failed:
        why = result.error or "; ".join(f"{r.source}: {r.error}" for r in failed)
        raise DemoError(f"the crawl of the sample web failed: {why}")
    return result.reports, log_text
