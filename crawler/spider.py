"""NewsSpider: one data-driven spider that discovers and fetches a source's articles.

It only discovers (feeds, sitemaps, listing pages) and fetches. What is already stored, the
budget of a run and what came of each download are the middlewares' (crawler.middlewares);
the run's record is an extension's (crawler.extensions); extraction, duplicates, rules and
storage happen in the item pipelines (crawler.pipelines).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.discovery import (
    MAX_CHILD_SITEMAPS,
    MAX_SITEMAP_DEPTH,
    MAX_SITEMAPS_PER_CRAWL,
    DocumentTooLarge,
    LinkPolicy,
    describe_failure,
    read_listing,
    read_xml,
)
from crawler.store import MAX_URL_LENGTH
from crawler.urls import canonical_url
from monitor.config import Source
from monitor.faults import fault_point

log = logging.getLogger(__name__)

# What a request is for, in its meta["raqib_kind"]: one of these discovery pages, or an article.
DISCOVERY_KINDS = ("feed", "sitemap", "listing")
ARTICLE = "article"


# Sent with `request=` and `failure=` when an article request ends in the spider's errback
# (crawler.middlewares.DownloadOutcomes records what it means).
article_download_failed = object()


def is_discovery(request: Request) -> bool:
    return request.meta.get("raqib_kind") in DISCOVERY_KINDS


def is_article(request: Request) -> bool:
    return request.meta.get("raqib_kind") == ARTICLE


class SkippedRequest(IgnoreRequest):
    """A request raqib's own middlewares left out on purpose (counted there, not a failure)."""


@dataclass
class PageItem:
    """A fetched article page on its way through the pipelines."""

    source: str
    url: str
    requested_url: str
    fetched_at: datetime
    html: str = field(repr=False)
    article: Any = field(default=None, repr=False)
    article_id: int | None = None


class NewsSpider(scrapy.Spider):
    """Crawls one configured `Source`: its feeds, sitemaps and listing pages, then articles.

    `retry_urls`: article URLs whose earlier downloads failed, fetched again this run.
    """

    name = "news"

    def __init__(self, source: Source, retry_urls: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.retry_urls = list(retry_urls)
        self.links = LinkPolicy(source)
        self.allowed_domains = sorted(self.links.hosts)
        self._queued: set[str] = set()
        self._sitemaps_seen: set[str] = set()
        self._sitemaps_followed = 0

    # --- discovery -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.feeds:
            yield self._discovery_request(url, "feed")
        for url in self.source.sitemaps:
            self._sitemaps_seen.add(_sitemap_key(url))
            yield self._discovery_request(url, "sitemap", sitemap_depth=0)
        for index, listing in enumerate(self.source.listings):
            yield self._discovery_request(listing.url, "listing", listing=index, page=1)
        for request in self.article_requests(self.retry_urls):
            yield request

    def _discovery_request(self, url: str, kind: str, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_discovery, errback=self.discovery_failed, priority=10,
            dont_filter=True,
            meta={"raqib_kind": kind, "handle_httpstatus_list": [304], **meta})

    def parse_discovery(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links (and further discovery pages) from a feed, sitemap or listing."""
        kind = response.meta["raqib_kind"]
        self._count("discovery_ok")
        if response.status == 304:
            return  # not modified since the last crawl (crawler.middlewares.ConditionalGet)
        reader = self._read_listing if kind == "listing" else self._read_xml
        links, follow = reader(response)
        fault_point("crawl:mid-discovery")  # a page read, its links not yet taken
        yield from follow
        if not links:
            log.info("%s: %s %s yielded no links", self.source.id, kind, response.url)
            self._count("empty_discovery")
        yield from self.article_requests(links)

    def _read_xml(self, response: Response) -> tuple[list[str], list[scrapy.Request]]:
        """Article links of an RSS/Atom feed or sitemap, and child sitemaps to follow."""
        try:
            found = read_xml(response.body, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        except DocumentTooLarge as exc:
            self._count("discovery_too_large")
            log.warning("%s: %s refused: %s", self.source.id, response.url, exc)
            return [], []
        if found.kind is None:
            self._count("discovery_unreadable")
            log.warning("%s: %s is not readable XML (feed or sitemap expected)",
                        self.source.id, response.url)
        elif not found.readable:
            self._count("discovery_unreadable")
            log.warning("%s: %s is neither a feed nor a sitemap (root <%s>)",
                        self.source.id, response.url, found.kind)
        depth = response.meta.get("sitemap_depth", 0) + 1
        children = dict.fromkeys(response.urljoin(loc) for loc in found.child_sitemaps)
        follow = [self._discovery_request(url, "sitemap", sitemap_depth=depth)
                  for url in list(children)[:MAX_CHILD_SITEMAPS]
                  if self.links.on_site(url) and self._fits(url)
                  and self._may_follow_sitemap(url, depth, response.url)]
        return found.links, follow

    def _may_follow_sitemap(self, url: str, depth: int, parent: str) -> bool:
        """Whether a child sitemap is new to this crawl and within the depth and count limits:
        an index that lists itself, a cycle of indexes or an endless chain stops here."""
        key = _sitemap_key(url)
        if key in self._sitemaps_seen:
            refused, why = "sitemap_repeated", "already read in this crawl"
        elif depth > MAX_SITEMAP_DEPTH:
            refused, why = "sitemap_too_deep", f"deeper than {MAX_SITEMAP_DEPTH} sitemap indexes"
        elif self._sitemaps_followed >= MAX_SITEMAPS_PER_CRAWL:
            refused, why = "sitemap_over_limit", f"over {MAX_SITEMAPS_PER_CRAWL} child sitemaps"
        else:
            self._sitemaps_seen.add(key)
            self._sitemaps_followed += 1
            return True
        self._count(refused)
        log.warning("%s: child sitemap %s of %s not followed: %s", self.source.id, url, parent, why)
        return False

    def _read_listing(self, response: Response) -> tuple[list[str], list[scrapy.Request]]:
        """Article links of a listing page, and its next page while max_pages allows."""
        if not isinstance(response, TextResponse):
            self._count("discovery_unreadable")
            return [], []
        listing = self.source.listings[response.meta["listing"]]
        links, next_url = read_listing(response, listing)
        follow = []
        page = response.meta["page"]
        if next_url and page < listing.max_pages and self._fits(next_url):
            follow.append(self._discovery_request(
                next_url, "listing", listing=response.meta["listing"], page=page + 1))
        return links, follow

    def article_requests(self, links: Iterable[str]) -> Iterator[scrapy.Request]:
        """A request for each link that may be an article of this source, once per run."""
        for link in links:
            canonical, reason = self.links.judge(link)
            if reason == "offsite":
                self._count("offsite")
            if canonical is None or canonical in self._queued:
                continue
            self._queued.add(canonical)
            if not self._fits(canonical):
                continue
            yield scrapy.Request(canonical, callback=self.parse_article,
                                 errback=self.article_failed, meta={"raqib_kind": ARTICLE})

    def _fits(self, url: str) -> bool:
        """Whether a URL is short enough to be stored; a longer one is refused and counted."""
        if len(url) <= MAX_URL_LENGTH:
            return True
        self._count("url_too_long")
        log.warning("%s: a link of %d characters refused (URL too long, over %d): %s…",
                    self.source.id, len(url), MAX_URL_LENGTH, url[:120])
        return False

    def discovery_failed(self, failure: Failure) -> None:
        reason = describe_failure(failure)
        self._count("discovery_failed")
        self.crawler.stats.set_value("last_discovery_error", reason)
        log.warning("%s: %s %s failed: %s", self.source.id, failure.request.meta["raqib_kind"],
                    failure.request.url, reason)

    # --- articles ------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        """Hand a fetched article page to the pipelines."""
        if not isinstance(response, TextResponse):
            return  # recorded and counted by crawler.middlewares.DownloadOutcomes
        yield PageItem(source=self.source.id, url=canonical_url(response.url),
                       requested_url=canonical_url(response.request.url),
                       fetched_at=datetime.now(UTC), html=response.text)

    def article_failed(self, failure: Failure) -> None:
        if failure.check(SkippedRequest):
            return
        # What the failure means (a refusal, a failed page) is recorded and logged there.
        self.crawler.signals.send_catch_log(article_download_failed, request=failure.request,
                                            failure=failure)

    def _count(self, key: str, value: int = 1) -> None:
        if value:
            self.crawler.stats.inc_value(f"raqib/{key}", value)


def _sitemap_key(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url
