"""Crawl extensions: the record of each source's crawl run, hung on Scrapy's signals."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import CloseSpider
from twisted.python.failure import Failure

from crawler.discovery import describe_error
from crawler.report import COUNTS, SourceReport, warning_for
from crawler.store import CrawlStore, crawl_store, is_storage_error

log = logging.getLogger(__name__)

# Sent with `report=` (a SourceReport) once a source's crawl is recorded.
source_crawled = object()
# A stat the runner sets when the user stopped the crawl (Ctrl-C): the run is `interrupted`.
INTERRUPTED_STAT = "interrupted"


def note_storage_error(crawler: Any, error: BaseException) -> bool:
    """Count and log a database error met by any component (the source then fails);
    False when `error` is not the database's."""
    if not is_storage_error(error):
        return False
    reason = describe_error(error)
    crawler.stats.inc_value("raqib/storage_errors")
    crawler.stats.set_value("last_storage_error", reason)
    log.error("%s: storage error: %s", crawler.spider.name, reason)
    return True


class CrawlRunRecorder:
    """Records a crawl run per source: `running` when the spider opens, then how it ended.

    One crawl of a source at a time: the spider opens holding the source's lock
    (`CrawlStore.claim`); when another process crawls the source, this crawl of it does not
    start and its report says who crawls it. Holding the lock, runs of the source still
    `running` are a killed crawl's: they are closed as failed.

    A source fails when none of its feeds, sitemaps or listings answered, when the database
    refused a write (a full disk: `storage_errors`, the pages it lost unaccounted), or when
    the crawl ended for another reason than finishing or reaching its time limit.
    """

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        self.crawler = crawler
        self.store = store
        self.run_id: int | None = None
        self.started = 0.0
        self.reported = False
        self.lock: Any = None
        self.not_started: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlRunRecorder:
        extension = cls(crawler, crawl_store(crawler))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.failed, signal=signals.item_error)
        crawler.signals.connect(extension.failed, signal=signals.spider_error)
        return extension

    def spider_opened(self, spider: Any) -> None:
        self.started = time.monotonic()
        try:
            self.lock, holder = self.store.claim(spider.name)
            if self.lock is None:
                who = holder.describe() if holder else "another process"
                self.not_started = f"not crawled: another crawl of {spider.name} is running ({who})"
                log.warning("%s: %s", spider.name, self.not_started)
                raise CloseSpider("already being crawled")
            stale = self.store.close_stale_runs(spider.name)
            if stale:
                log.warning("%s: closed %d run(s) left running by a crawl that was killed",
                            spider.name, stale)
            self.run_id = self.store.start_run(spider.name)
        except CloseSpider:
            raise
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self.not_started = f"the database refused the crawl's run record: {describe_error(exc)}"
            log.error("%s: %s", spider.name, self.not_started)
            raise CloseSpider("database error") from exc

    def failed(self, failure: Failure, **_: Any) -> None:
        """An item or a spider callback that raised: a storage error fails the source."""
        note_storage_error(self.crawler, failure.value)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.reported:  # stopped at once by a second Ctrl-C, then closed by Scrapy
            return
        self.reported = True
        stats = self.crawler.stats.get_stats()
        counts = {key.removeprefix("raqib/"): value for key, value in stats.items()
                  if key.startswith("raqib/")}
        for key in COUNTS:
            counts.setdefault(key, 0)
        report = SourceReport(spider.name, counts=counts, seconds=time.monotonic() - self.started)
        if self.not_started:
            report.status, report.error = "failed", self.not_started
        elif counts.get("storage_errors"):
            report.status = "failed"
            report.error = (f"{counts['storage_errors']} storage error(s), pages not stored "
                            f"(last: {stats.get('last_storage_error') or 'unknown'})")
        elif counts.get("discovery_failed") and not counts.get("discovery_ok"):
            last = stats.get("last_discovery_error")
            report.status = "failed"
            report.error = "no feed, sitemap or listing answered" + (f" (last: {last})" if last else "")
        elif stats.get(INTERRUPTED_STAT) and reason in ("shutdown", "interrupted"):
            report.status, report.error = "interrupted", "stopped by Ctrl-C"
        elif reason not in ("finished", "closespider_timeout"):
            report.status, report.error = "failed", f"crawl ended: {reason}"
        elif reason == "closespider_timeout":
            report.error = "stopped at the source time limit"
        elif warning_for(counts):
            report.status, report.error = "warning", warning_for(counts)
        if self.run_id is not None:
            try:
                self.store.finish_run(self.run_id, report.status, counts, report.error)
            except Exception as exc:
                if not is_storage_error(exc):
                    raise
                report.status = "failed"
                report.error = (f"{report.error}; " if report.error else "") + \
                    f"the run could not be recorded: {describe_error(exc)}"
                log.error("%s: %s", spider.name, report.error)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.crawler.signals.send_catch_log(source_crawled, report=report)
