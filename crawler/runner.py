"""Running a crawl: every selected source as one Scrapy crawler in one CrawlerProcess.

A Twisted reactor cannot be restarted, so one call of `run_crawl` is one process's crawl; the
daemon and the workers run each crawl in a child process (crawler.run).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from scrapy.crawler import CrawlerProcess

from crawler.extensions import INTERRUPTED_STAT, CrawlRunRecorder, source_crawled
from crawler.pipelines import EXTRACTION_POOL_SETTING, RULES_SETTING
from crawler.pool import ExtractionPool
from crawler.report import SourceReport
from crawler.settings import crawl_settings
from crawler.spider import NewsSpider
from crawler.store import STORE_SETTING, CrawlStore
from monitor.config import Config, Source
from monitor.logs import lowest_library_level

log = logging.getLogger(__name__)


def run_crawl(config: Config, sources: list[Source], store: CrawlStore, *,
              on_finish: Callable[[SourceReport], None] | None = None,
              on_interrupt: Callable[[int], None] | None = None) -> list[SourceReport]:
    """Crawl the given sources at once, record a crawl run for each, and report per source.

    A first SIGINT (Ctrl-C) lets the requests in flight finish (`on_interrupt` is told how many)
    and records the runs `interrupted`; a second stops at once, recording them all the same.
    SIGTERM stops as Scrapy does (the daemon's children).
    """
    rules = config.rule_set()
    workers = config.settings.crawl.extraction_workers
    pool = ExtractionPool(workers, rules) if workers else None  # restarted if a worker dies
    # Scrapy resets its loggers to DEBUG here; the CLI's handler filter keeps them quiet.
    process = CrawlerProcess({**crawl_settings(config), "LOG_INSTALL_ROOT_HANDLER": False})
    # …so Scrapy made a record of every page ("Crawled (200)", "Scraped from") only for the
    # filter to drop it: its loggers start where some output would show them.
    scrapy_logger = logging.getLogger("scrapy")
    scrapy_logger.setLevel(max(scrapy_logger.getEffectiveLevel(), lowest_library_level()))
    reports: dict[str, SourceReport] = {}

    def finished(report: SourceReport) -> None:
        reports[report.source] = report
        if on_finish:
            on_finish(report)

    crawlers = []
    interrupt = _Interrupt(process, crawlers, on_interrupt)
    try:
        for source in sources:
            crawler = process.create_crawler(NewsSpider)
            # Shared objects go on each crawler's own settings, after Scrapy copied them.
            crawler.settings.set(STORE_SETTING, store)
            crawler.settings.set(RULES_SETTING, rules)
            crawler.settings.set(EXTRACTION_POOL_SETTING, pool)
            crawler.signals.connect(finished, signal=source_crawled, weak=False)
            crawlers.append(crawler)
            process.crawl(crawler, source=source, retry_urls=store.urls_to_retry(source.id))
        with interrupt.installed():
            process.start(stop_after_crawl=True, install_signal_handlers=False)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    missing = SourceReport("", "interrupted", error="stopped before it started") \
        if interrupt.by_user else SourceReport("", "failed", error="did not run")
    return [reports.get(source.id) or SourceReport(source.id, missing.status, error=missing.error)
            for source in sources]



class _Interrupt:
    """SIGINT and SIGTERM during a crawl: the first stops it gently, the second at once."""

    def __init__(self, process: CrawlerProcess, crawlers: list,
                 on_interrupt: Callable[[int], None] | None) -> None:
        self.process, self.crawlers, self.on_interrupt = process, crawlers, on_interrupt
        self.received = 0
        self.by_user = False  # a SIGINT (Ctrl-C), not the SIGTERM of a daemon or a service

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only (a crawl in a test's thread)
            return
        before = {number: signal.signal(number, self._handle)
                  for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in before.items():
                signal.signal(number, handler)

    def _handle(self, number: int, _frame: object) -> None:
        from twisted.internet import reactor

        # Nothing is logged or printed here: the reactor's thread does it (a signal handler
        # may interrupt a write to the same stream).
        self.received += 1
        self.by_user = self.by_user or number == signal.SIGINT
        if self.received == 1:
            reactor.callFromThread(self._stop_gently, number)
        else:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            reactor.callFromThread(self._stop_now)

    def _stop_gently(self, number: int) -> None:
        if number == signal.SIGINT:
            # Read by CrawlRunRecorder: the run ended because someone asked, not by failing.
            for crawler in self.crawlers:
                crawler.stats.set_value(INTERRUPTED_STAT, True)
            if self.on_interrupt:
                self.on_interrupt(sum(len(crawler.engine.downloader.active)
                                      for crawler in self.crawlers if crawler.engine))
        log.info("received %s: finishing the requests in flight", signal.Signals(number).name)
        self.process.stop()

    def _stop_now(self) -> None:
        from twisted.internet import reactor

        for crawler in self.crawlers:
            if self.by_user:
                crawler.stats.set_value(INTERRUPTED_STAT, True)
            for extension in crawler.extensions.middlewares if crawler.extensions else ():
                if isinstance(extension, CrawlRunRecorder) and crawler.spider is not None:
                    extension.spider_closed(crawler.spider, "interrupted" if self.by_user
                                            else "shutdown")
        log.info("received a second signal: stopping now")
        reactor.crash()  # no waiting for the requests in flight, or for Scrapy's shutdown
        reactor.getThreadPool().stop()  # its threads would keep the process from exiting
