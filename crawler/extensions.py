"""Crawl extensions: the record of each source's crawl run, hung on Scrapy's signals."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals

from crawler.report import COUNTS, SourceReport, warning_for
from crawler.store import CrawlStore, crawl_store

log = logging.getLogger(__name__)

# Sent with `report=` (a SourceReport) once a source's crawl is recorded.
source_crawled = object()
# A stat the runner sets when the user stopped the crawl (Ctrl-C): the run is `interrupted`.
INTERRUPTED_STAT = "interrupted"


class CrawlRunRecorder:
    """Records a crawl run per source: `running` when the spider opens, then how it ended.

    A source fails when none of its feeds, sitemaps or listings answered, or when the crawl
    ended for another reason than finishing or reaching its time limit.
    """

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        self.crawler = crawler
        self.store = store
        self.run_id: int | None = None
        self.started = 0.0
        self.reported = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlRunRecorder:
        extension = cls(crawler, crawl_store(crawler))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any) -> None:
        self.run_id = self.store.start_run(spider.name)
        self.started = time.monotonic()

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
        if counts.get("discovery_failed") and not counts.get("discovery_ok"):
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
            self.store.finish_run(self.run_id, report.status, counts, report.error)
        self.crawler.signals.send_catch_log(source_crawled, report=report)
