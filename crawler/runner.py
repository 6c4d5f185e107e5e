"""Running a crawl: every selected source as one Scrapy crawler in one CrawlerProcess.

A Twisted reactor cannot be restarted, so one call of `run_crawl` is one process's crawl; the
daemon and the workers run each crawl in a child process (crawler.run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from scrapy.crawler import CrawlerProcess

from crawler.extensions import source_crawled
from crawler.pipelines import EXTRACTION_POOL_SETTING, RULES_SETTING
from crawler.pool import ExtractionPool
from crawler.report import SourceReport
from crawler.settings import crawl_settings
from crawler.spider import NewsSpider
from crawler.store import STORE_SETTING, CrawlStore
from monitor.config import Config, Source

log = logging.getLogger(__name__)


def run_crawl(config: Config, sources: list[Source], store: CrawlStore, *,
              on_finish: Callable[[SourceReport], None] | None = None) -> list[SourceReport]:
    """Crawl the given sources at once, record a crawl run for each, and report per source."""
    rules = config.rule_set()
    workers = config.settings.crawl.extraction_workers
    pool = ExtractionPool(workers, rules) if workers else None  # restarted if a worker dies
    # Scrapy resets its loggers to DEBUG here; the CLI's handler filter keeps them quiet.
    process = CrawlerProcess({**crawl_settings(config), "LOG_INSTALL_ROOT_HANDLER": False})
    reports: dict[str, SourceReport] = {}

    def finished(report: SourceReport) -> None:
        reports[report.source] = report
        if on_finish:
            on_finish(report)

    try:
        for source in sources:
            crawler = process.create_crawler(NewsSpider)
            # Shared objects go on each crawler's own settings, after Scrapy copied them.
            crawler.settings.set(STORE_SETTING, store)
            crawler.settings.set(RULES_SETTING, rules)
            crawler.settings.set(EXTRACTION_POOL_SETTING, pool)
            crawler.signals.connect(finished, signal=source_crawled, weak=False)
            process.crawl(crawler, source=source, retry_urls=store.urls_to_retry(source.id))
        process.start(stop_after_crawl=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return [reports.get(source.id) or SourceReport(source.id, "failed", error="did not run")
            for source in sources]

