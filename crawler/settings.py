"""Scrapy settings from raqib's settings.yaml, and the components of a crawl in their order."""

from __future__ import annotations

from typing import Any

from monitor.config import Config, parse_duration

# Which addresses and pages may be fetched at all: shared by crawls and `sources check`.
_GUARDS = {
    "crawler.netguard.AddressGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsPolicyMiddleware": 100,
    # Above RetryMiddleware (550) so that a refused address is not retried.
    "crawler.netguard.RefusedAddressMiddleware": 555,
}


def _base_extensions() -> dict[str, int]:
    # Scrapy's own extensions but its remote control, which runs Python code sent to a local
    # HTTP port: never wanted in raqib. Left out of the base (not set to None) so that neither
    # it nor aiohttp is imported at all.
    from scrapy.settings import default_settings

    return {path: order for path, order in default_settings.EXTENSIONS_BASE.items()
            if not path.endswith("RemoteControl")}


def scrapy_settings(config: Config) -> dict[str, Any]:
    """Politeness and limits, shared by crawls and `raqib sources check`."""
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
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS_BASE": _base_extensions(),
        "LOG_ENABLED": False,
        "RAQIB_ALLOW_PRIVATE_ADDRESSES": crawl.allow_private_addresses,
        # Every connection's address is vetted when it is resolved (crawler.netguard).
        "TWISTED_DNS_RESOLVER": "crawler.netguard.GuardedResolver",
        "DOWNLOADER_MIDDLEWARES": _GUARDS,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }


def crawl_settings(config: Config) -> dict[str, Any]:
    """A crawl's settings: `scrapy_settings` plus the components that remember and store.

    The objects they share (the crawl store, the compiled rules, the extraction pool) are set
    on each crawler by crawler.runner.
    """
    crawl = config.settings.crawl
    near = config.settings.near_duplicates
    return {
        **scrapy_settings(config),
        "RAQIB_MAX_ARTICLES_PER_RUN": crawl.max_articles_per_run,
        # Items a response's output is worked through with at once. An article page yields one
        # item and a discovery page only requests (scheduled at once): Scrapy's 100 made 101
        # asyncio tasks for every response, ~100 a page, for nothing.
        "CONCURRENT_ITEMS": 1,
        "RAQIB_MAX_TEXT_CHARS": crawl.max_text_chars,
        "RAQIB_NEAR_DUPLICATE_THRESHOLD": near.threshold,
        "RAQIB_NEAR_DUPLICATE_WINDOW": near.window_seconds,
        "SPIDER_MIDDLEWARES": {"crawler.middlewares.KnownUrlFilter": 950},
        "DOWNLOADER_MIDDLEWARES": {
            **_GUARDS,
            # Below retries (550) and redirects (600): it sees each download's final answer.
            "crawler.middlewares.DownloadOutcomes": 540,
            "crawler.middlewares.ConditionalGet": 560,
        },
        "EXTENSIONS": {"crawler.extensions.CrawlRunRecorder": 100},
        "ITEM_PIPELINES": {
            "crawler.pipelines.ExtractionPipeline": 100,
            "crawler.pipelines.DuplicatePipeline": 200,
            "crawler.pipelines.StoragePipeline": 300,
            "crawler.pipelines.RulesPipeline": 400,
            "crawler.pipelines.NearDuplicatePipeline": 500,
        },
    }
