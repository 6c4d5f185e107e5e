"""The crawl's middlewares: which requests go out, and what is remembered of their answers.

    KnownUrlFilter             spider: drops article links already settled, keeps the run's budget
                               (links over it are queued, and taken first by the next runs)
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
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.discovery import describe_error
from crawler.extensions import note_storage_error
from crawler.spider import SkippedRequest, article_download_failed, is_article, is_discovery
from crawler.store import CrawlStore, StoreComponent, Validators
from crawler.urls import canonical_url

log = logging.getLogger(__name__)


class KnownUrlFilter(StoreComponent):
    """Spider middleware: article requests for URLs already settled never leave the spider, and
    at most RAQIB_MAX_ARTICLES_PER_RUN new ones do, in the order discovery found them.

    Links over the budget are queued (repo.crawl.queue) and the next runs take them first,
    before anything their discovery finds: a link a feed shows once is still fetched after the
    feed moved on. A run that leaves links behind keeps no validators (ConditionalGet), so
    its discovery pages are read in full next time, never hidden behind a 304.

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
        # The backlog first, all of it before the first discovery request leaves: what earlier
        # runs' budgets left is taken before anything discovery finds this time.
        spider = self.crawler.spider
        backlog = self.store.backlog(spider.name)
        if backlog:
            self.count("backlog", len(backlog))
            for request in self._admit(list(spider.article_requests(backlog))):
                yield request
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
        left: list[str] = []
        for request in requests:
            if request.url in settled:
                continue
            if self.budget <= 0:
                left.append(request.url)
                continue
            self.budget -= 1
            yield request
        if left:
            self.count("over_budget", len(left))
            self.store.queue(left, self.crawler.spider.name)


class DownloadOutcomes(StoreComponent):
    """Downloader middleware: what came of each article download, recorded and counted.

    Placed below the retry and redirect middlewares, it sees each article's final answer: a
    dead link (404/410) is `gone` for good; any other error answer, a timeout or an oversized
    page is `failed`, tried again on later runs up to crawl.max_failed_attempts; a page that is
    not text is `not_article`. What extraction makes of a text page is the pipelines' to record.

    Failures that never reach it are recorded the same way from the spider's errback (signal
    `article_download_failed`): a page too large once decompressed (a compression bomb), a
    redirect chain over the limit; and a redirect loop, which Scrapy's duplicate filter drops
    without a word (signal `request_dropped`). A refusal by policy (robots.txt, an address
    refused) is no failure of the page: counted as `ignored`.
    """

    @classmethod
    def from_crawler(cls, crawler: Any) -> DownloadOutcomes:
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.article_failed, signal=article_download_failed)
        crawler.signals.connect(middleware.request_dropped, signal=signals.request_dropped)
        return middleware

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
        if note_storage_error(self.crawler, exception):
            return  # a component's database write failed, not the download
        if not is_article(request) or isinstance(exception, IgnoreRequest):
            return  # robots.txt, a private address, a known URL: not a failed download
        reason = describe_error(exception)
        self.count("failed")
        if "maxsize" in reason or "larger than" in reason:
            self.count("too_large")
        self.store.record_outcome(canonical_url(request.url), self.source(request), "failed",
                                  error=reason)

    def article_failed(self, request: Request, failure: Failure) -> None:
        """An article request that ended in the spider's errback."""
        spider = self.crawler.spider
        reason = describe_error(failure.value)
        if note_storage_error(self.crawler, failure.value):
            return
        if not failure.check(IgnoreRequest) or failure.check(HttpError):
            # an error answer or a download error: recorded above, as it happened
            log.warning("%s: article %s failed: %s", spider.name, request.url, reason)
            return
        why = _page_failure(reason)
        if why is None:
            self.count("ignored")
            self.store.unqueue(canonical_url(request.url))
            log.info("%s: %s skipped: %s", spider.name, request.url, reason)
            return
        self.count("failed")
        self.count(why[0])
        self.store.record_outcome(_first_url(request), spider.name, "failed", error=why[1])
        log.warning("%s: article %s failed: %s", spider.name, request.url, reason)

    def request_dropped(self, request: Request, spider: Any) -> None:
        """A redirect (or refresh) back to an address of its own chain: a loop, recorded."""
        if not is_article(request) or request.url not in request.meta.get("redirect_urls", ()):
            return
        self.count("failed")
        self.count("redirect_loop")
        self.store.record_outcome(_first_url(request), spider.name, "failed",
                                  error="redirect loop")
        log.warning("%s: article %s failed: redirect loop (back to %s)", spider.name,
                    _first_url(request), request.url)

    def source(self, request: Request) -> str:
        return self.crawler.spider.name


def _first_url(request: Request) -> str:
    """The link a (redirected) request was first made for, canonical."""
    return canonical_url(request.meta.get("redirect_urls", [request.url])[0])


def _page_failure(reason: str) -> tuple[str, str] | None:
    """(count, recorded error) when an IgnoreRequest is the page's fault, not a refusal."""
    if "DOWNLOAD_MAXSIZE" in reason and "decompression" in reason:
        return "too_large", "too large once decompressed"
    if reason == "max redirections reached":
        return "too_many_redirects", "too many redirects"
    return None


class ConditionalGet(StoreComponent):
    """Downloader middleware: conditional GET of feeds, sitemaps and listing pages.

    Sends the ETag/Last-Modified the page last answered with, and keeps the new ones — only
    when the crawl finished and took every link it found: a crawl cut short, one whose budget
    left links behind, or one that lost pages to database errors, must not turn the next visit
    into a 304 that hides the links it never stored. Such a run forgets the validators of every discovery page it asked for, so
    the next one reads them in full (and the daemon knows the source must be crawled).
    Validators longer than the schema keeps are not kept.
    """

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        self.answered: dict[str, Validators] = {}
        self.asked: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGet:
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if not is_discovery(request):
            return
        self.asked.add(request.url)
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
        # Links over the budget, or pages a database error kept from being stored: the next
        # crawl must read the discovery pages in full to find them again.
        stats = self.crawler.stats
        left_behind = stats.get_value("raqib/over_budget", 0) + \
            stats.get_value("raqib/storage_errors", 0)
        if reason != "finished" or left_behind:
            if left_behind:
                self._keep(self.store.forget_validators, self.asked)
            return
        for url, validators in self.answered.items():
            self._keep(self.store.save_validators, url, validators)

    def _keep(self, write: Any, *arguments: Any) -> None:
        # One page's validators failing to save must not lose the others', nor the run record.
        try:
            write(*arguments)
        except Exception as exc:
            if not note_storage_error(self.crawler, exc):
                raise
