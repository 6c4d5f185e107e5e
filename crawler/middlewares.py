"""The crawl's middlewares: which requests go out, and what is remembered of their answers.

    KnownUrlFilter             spider: drops article links already settled, keeps the run's budget
    DownloadOutcomes           downloader: records what came of each article download
    ConditionalGet             downloader: sends and keeps the ETag/Last-Modified of discovery pages

Each reads and writes its own part of the crawl's state through the crawl store
(crawler.store), as Scrapy's HttpCacheMiddleware owns its cache. Which addresses may be
fetched is crawler.netguard's; robots.txt is crawler.robots'.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse

from crawler.discovery import describe_error
from crawler.spider import SkippedRequest, is_article, is_discovery
from crawler.store import CrawlStore, Validators, crawl_store
from crawler.urls import canonical_url

log = logging.getLogger(__name__)


class _StoreComponent:
    """A component that needs the crawl store; it disappears (NotConfigured) without one."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls(crawler, crawl_store(crawler))

    def count(self, key: str, value: int = 1) -> None:
        if value:
            self.crawler.stats.inc_value(f"raqib/{key}", value)


class KnownUrlFilter(_StoreComponent):
    """Spider middleware: article requests for URLs already settled never leave the spider, and
    at most RAQIB_MAX_ARTICLES_PER_RUN new ones do, in the order discovery found them.

    A spider middleware rather than a downloader one: it sees a page's links together (one
    query for all of them) and in their order (feeds list the newest first), before the
    scheduler reorders them.
    """

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        self.budget = crawler.settings.getint("RAQIB_MAX_ARTICLES_PER_RUN")

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        articles = []
        for output in result:
            if isinstance(output, Request) and is_article(output):
                articles.append(output)
            else:
                yield output
        yield from self._admit(articles)

    async def process_spider_output_async(self, response: Response,
                                          result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        articles = []
        async for output in result:
            if isinstance(output, Request) and is_article(output):
                articles.append(output)
            else:
                yield output
        for request in self._admit(articles):
            yield request

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in start:  # the retried URLs of earlier runs, one at a time
            if isinstance(output, Request) and is_article(output):
                for request in self._admit([output]):
                    yield request
            else:
                yield output

    def _admit(self, requests: list[Request]) -> Iterator[Request]:
        if not requests:
            return
        settled = self.store.settled_urls(request.url for request in requests)
        self.count("skipped_known", sum(request.url in settled for request in requests))
        for request in requests:
            if request.url in settled:
                continue
            if self.budget <= 0:
                self.count("over_budget")
                continue
            self.budget -= 1
            yield request


class DownloadOutcomes(_StoreComponent):
    """Downloader middleware: what came of each article download, recorded and counted.

    Placed below the retry and redirect middlewares, it sees each article's final answer: a
    dead link (404/410) is `gone` for good; any other error answer, a timeout or an oversized
    page is `failed`, tried again on later runs up to crawl.max_failed_attempts; a page that is
    not text is `not_article`. What extraction makes of a text page is the pipelines' to record.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        if not is_article(request):
            return response
        url = canonical_url(request.url)
        if not 200 <= response.status < 300:
            gone = response.status in (404, 410)
            self.count("failed")
            self.store.record_outcome(url, self.source(request), "gone" if gone else "failed",
                                      error=f"HTTP {response.status}")
            return response  # HttpErrorMiddleware turns it into the spider's errback
        self.count("fetched")
        if not isinstance(response, TextResponse):
            self.count("not_article")
            self.store.record_outcome(url, self.source(request), "not_article",
                                      error="not a text page")
            raise SkippedRequest(f"{request.url} is not a text page")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not is_article(request) or isinstance(exception, IgnoreRequest):
            return  # robots.txt, a private address, a known URL: not a failed download
        reason = describe_error(exception)
        self.count("failed")
        if "maxsize" in reason or "larger than" in reason:
            self.count("too_large")
        self.store.record_outcome(canonical_url(request.url), self.source(request), "failed",
                                  error=reason)

    def source(self, request: Request) -> str:
        return self.crawler.spider.name


class ConditionalGet(_StoreComponent):
    """Downloader middleware: conditional GET of feeds, sitemaps and listing pages.

    Sends the ETag/Last-Modified the page last answered with, and keeps the new ones — only
    when the crawl finished: a crawl cut short must not turn the next visit into a 304 that
    hides the links it never fetched.
    """

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        self.answered: dict[str, Validators] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGet:
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if not is_discovery(request):
            return
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return
        validators = self.store.validators(request.url)
        if not validators:
            return
        if validators.etag:
            request.headers[b"If-None-Match"] = validators.etag
        if validators.last_modified:
            request.headers[b"If-Modified-Since"] = validators.last_modified
        self.count("conditional_requests")

    def process_response(self, request: Request, response: Response) -> Response:
        if not is_discovery(request):
            return response
        if response.status == 304:
            self.count("not_modified")
        if not (200 <= response.status < 300 or response.status == 304):
            return response
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if etag or modified:
            self.answered[request.url] = Validators(
                etag.decode("latin-1") if etag else None,
                modified.decode("latin-1") if modified else None)
        return response

    def spider_closed(self, spider: Any, reason: str) -> None:
        if reason == "finished":
            for url, validators in self.answered.items():
                self.store.save_validators(url, validators)
