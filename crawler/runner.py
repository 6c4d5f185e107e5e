"""Running a crawl: every selected source as one Scrapy crawler in one CrawlerProcess.

A Twisted reactor cannot be restarted, so one call of `run_crawl` is one process's crawl; the
daemon runs each crawl in a child process (see monitor.daemon).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.context import CrawlContext
from crawler.neardup import StoryIndex
from crawler.spider import NewsSpider
from monitor.config import Config, Source, parse_duration
from storage.repository import Repository

log = logging.getLogger(__name__)

COUNTS = ("fetched", "new", "duplicate", "not_article", "failed", "flagged")


@dataclass
class SourceReport:
    """What one source's crawl did."""

    source: str
    status: str = "ok"  # ok | failed
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)


def scrapy_settings(config: Config) -> dict[str, Any]:
    """Scrapy settings from raqib's settings.yaml (politeness, limits, components)."""
    crawl = config.settings.crawl
    return {
        "BOT_NAME": "raqib",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        "CONCURRENT_REQUESTS": crawl.total_concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_site,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": max(crawl.max_page_bytes // 2, 1),
        "RETRY_ENABLED": crawl.retry_times > 0,
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.autothrottle_start_delay,
        "AUTOTHROTTLE_MAX_DELAY": crawl.autothrottle_max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrency_per_site),
        "CLOSESPIDER_TIMEOUT": parse_duration(crawl.source_time_limit),
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": False,
        "RAQIB_ALLOW_PRIVATE_ADDRESSES": crawl.allow_private_addresses,
        # Every connection's address is vetted when it is resolved (crawler.netguard).
        "TWISTED_DNS_RESOLVER": "crawler.netguard.GuardedResolver",
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.netguard.AddressGuardMiddleware": 40,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots.RobotsPolicyMiddleware": 100,
            # Above RetryMiddleware (550) so that a refused address is not retried.
            "crawler.netguard.RefusedAddressMiddleware": 555,
            "crawler.middlewares.ConditionalRequestMiddleware": 560,
        },
        "ITEM_PIPELINES": {
            "crawler.pipelines.ExtractionPipeline": 100,
            "crawler.pipelines.StoragePipeline": 200,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }


def build_context(config: Config, repository: Repository) -> CrawlContext:
    """The repository, compiled rules and near-duplicate index that a crawl writes through."""
    near = config.settings.near_duplicates
    story_index = StoryIndex(repository, threshold=near.threshold,
                             window_seconds=near.window_seconds)
    return CrawlContext(repository=repository, settings=config.settings,
                        sources={source.id: source for source in config.sources},
                        rules=config.rule_set(), story_index=story_index)


def run_crawl(config: Config, sources: list[Source], repository: Repository, *,
              on_start: Callable[[Source], None] | None = None,
              on_finish: Callable[[SourceReport], None] | None = None) -> list[SourceReport]:
    """Crawl the given sources at once, record a crawl run for each, and report per source."""
    context = build_context(config, repository)
    workers = config.settings.crawl.extraction_workers
    if workers:
        context.extraction_pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"))
    # Scrapy resets its loggers to DEBUG here; the CLI's handler filter keeps them quiet.
    process = CrawlerProcess({**scrapy_settings(config), "LOG_INSTALL_ROOT_HANDLER": False})
    reports: dict[str, SourceReport] = {}
    try:
        for source in sources:
            _schedule(process, source, context, reports, on_start, on_finish)
        process.start(stop_after_crawl=True)
    finally:
        if context.extraction_pool is not None:
            context.extraction_pool.shutdown(cancel_futures=True)
    return [reports.get(source.id) or SourceReport(source.id, "failed", error="did not run")
            for source in sources]


def _schedule(process: CrawlerProcess, source: Source, context: CrawlContext,
              reports: dict[str, SourceReport], on_start, on_finish) -> None:
    crawler = process.create_crawler(NewsSpider)
    run_id = context.repository.start_run(source.id)
    started = time.monotonic()

    def opened(spider: Any) -> None:
        if on_start:
            on_start(source)

    def closed(spider: Any, reason: str) -> None:
        stats = crawler.stats.get_stats()
        counts = {key.removeprefix("raqib/"): value for key, value in stats.items()
                  if key.startswith("raqib/")}
        for key in COUNTS:
            counts.setdefault(key, 0)
        report = SourceReport(source.id, counts=counts, seconds=time.monotonic() - started)
        if counts.get("discovery_failed") and not counts.get("discovery_ok"):
            last = getattr(spider, "last_discovery_error", None)
            report.status = "failed"
            report.error = "no feed, sitemap or listing answered" + (f" (last: {last})" if last else "")
        elif reason not in ("finished", "closespider_timeout"):
            report.status, report.error = "failed", f"crawl ended: {reason}"
        elif reason == "closespider_timeout":
            report.error = "stopped at the source time limit"
        context.repository.finish_run(run_id, report.status, counts, report.error)
        reports[source.id] = report
        if on_finish:
            on_finish(report)

    # weak=False: these closures have no other owner and must outlive this function.
    crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, source=source, context=context)
