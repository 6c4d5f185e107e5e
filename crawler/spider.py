"""NewsSpider: one data-driven spider that discovers and fetches a source's articles.

It only discovers (feeds, sitemaps, listing pages) and fetches; extraction, duplicate
detection and storage happen in the item pipelines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from lxml import etree
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.urls import canonical_url, site_of
from monitor.config import Source

log = logging.getLogger(__name__)

DISCOVERY_KINDS = ("feed", "sitemap", "listing")
MAX_CHILD_SITEMAPS = 10
_XML_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class PageItem:
    """A fetched article page on its way through the pipelines."""

    source: str
    url: str
    requested_url: str
    fetched_at: datetime
    html: str = field(repr=False)
    feed_date: str | None = None
    article: Any = field(default=None, repr=False)
    article_id: int | None = None


def _local(tag: Any) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    for child in element:
        if _local(child.tag) in names and (child.text or "").strip():
            return child.text.strip()
    return None


class NewsSpider(scrapy.Spider):
    """Crawls one configured `Source`: its feeds, sitemaps and listing pages, then articles."""

    name = "news"

    def __init__(self, source: Source, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.context = context
        self.hosts = {site_of(url) for url in source.start_urls} | {
            host.lower().removeprefix("www.") for host in source.domains}
        self.allowed_domains = sorted(self.hosts)
        self._allow = [re.compile(pattern) for pattern in source.allow]
        self._deny = [re.compile(pattern) for pattern in source.deny]
        self._queued: set[str] = set()
        self._validators: dict[str, tuple[str | None, str | None]] = {}
        self._article_budget = context.settings.crawl.max_articles_per_run

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # --- discovery -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.feeds:
            yield self._discovery_request(url, "feed")
        for url in self.source.sitemaps:
            yield self._discovery_request(url, "sitemap")
        for index, listing in enumerate(self.source.listings):
            yield self._discovery_request(listing.url, "listing", listing=index, page=1)
        retry = self.context.repository.urls_to_retry(
            self.source.id, self.context.settings.crawl.max_failed_attempts)
        for request in self._article_requests(retry, retrying=True):
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
            self._count("not_modified")
            return
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if etag or modified:
            self._validators[response.request.url] = (
                etag.decode("latin-1") if etag else None,
                modified.decode("latin-1") if modified else None)
        reader = self._read_listing if kind == "listing" else self._read_xml
        links, follow = reader(response)
        yield from follow
        if not links:
            log.info("%s: %s %s yielded no links", self.source.id, kind, response.url)
            self._count("empty_discovery")
        yield from self._article_requests(links)

    def _read_xml(self, response: Response) -> tuple[list, list[scrapy.Request]]:
        """(link, date) pairs of an RSS/Atom feed or sitemap, and child sitemaps to follow."""
        body = response.body.strip()
        root = etree.fromstring(body, _XML_PARSER) if body else None
        if root is None:
            self._count("discovery_unreadable")
            log.warning("%s: %s is not readable XML (feed or sitemap expected)",
                        self.source.id, response.url)
            return [], []
        name = _local(root.tag)
        links: list[tuple[str, str | None]] = []
        follow: list[scrapy.Request] = []
        if name in ("rss", "rdf"):
            for item in root.iter("{*}item", "item"):
                link = _child_text(item, "link")
                guid = item.find("guid")
                if not link and guid is not None and guid.get("isPermaLink", "true") == "true":
                    link = (guid.text or "").strip()
                if link:
                    links.append((link, _child_text(item, "pubdate", "date")))
        elif name == "feed":
            for entry in root.iter("{*}entry"):
                hrefs = [link.get("href") for link in entry.iter("{*}link")
                         if link.get("rel", "alternate") == "alternate" and link.get("href")]
                if hrefs:
                    links.append((hrefs[0], _child_text(entry, "published", "updated")))
        elif name == "urlset":
            for url in root.iter("{*}url"):
                loc = _child_text(url, "loc")
                news = url.find("{*}news")
                date = _child_text(news, "publication_date") if news is not None else None
                if loc:
                    links.append((loc, date or _child_text(url, "lastmod")))
        elif name == "sitemapindex":
            children = [(_child_text(s, "lastmod") or "", _child_text(s, "loc"))
                        for s in root.iter("{*}sitemap")]
            # Newest child sitemaps first: the news is there, the archive can wait.
            children.sort(key=lambda pair: pair[0], reverse=True)
            follow = [self._discovery_request(response.urljoin(loc), "sitemap")
                      for _, loc in children[:MAX_CHILD_SITEMAPS]
                      if loc and self._on_site(response.urljoin(loc))]
        else:
            self._count("discovery_unreadable")
            log.warning("%s: %s is neither a feed nor a sitemap (root <%s>)",
                        self.source.id, response.url, name)
        return links, follow

    def _read_listing(self, response: Response) -> tuple[list, list[scrapy.Request]]:
        """Article links of a listing page, and its next page while max_pages allows."""
        if not isinstance(response, TextResponse):
            self._count("discovery_unreadable")
            return [], []
        listing = self.source.listings[response.meta["listing"]]
        links = [response.urljoin(href.strip()) for href in response.css(listing.links).getall()]
        follow = []
        page = response.meta["page"]
        if listing.next and page < listing.max_pages:
            next_href = response.css(listing.next).get()
            if next_href:
                follow.append(self._discovery_request(
                    response.urljoin(next_href.strip()), "listing",
                    listing=response.meta["listing"], page=page + 1))
        return links, follow

    def _article_requests(self, links: Iterable, retrying: bool = False) -> Iterator[scrapy.Request]:
        """Requests for the links that are new, on site and allowed, within the run's budget."""
        candidates: dict[str, str | None] = {}
        for link in links:
            url, feed_date = link if isinstance(link, tuple) else (link, None)
            canonical = self._candidate(url)
            if canonical and canonical not in candidates:
                candidates[canonical] = feed_date
        if not retrying:
            settled = self.context.repository.settled_urls(
                candidates, self.context.settings.crawl.max_failed_attempts)
            self._count("skipped_known", len(settled))
            candidates = {url: date for url, date in candidates.items() if url not in settled}
        for url, feed_date in candidates.items():
            if self._article_budget <= 0:
                self._count("over_budget")
                continue
            self._article_budget -= 1
            self._queued.add(url)
            yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                                 meta={"raqib_kind": "article", "feed_date": feed_date})

    def _candidate(self, url: str) -> str | None:
        """The canonical URL of a link if it is a possible article of this source."""
        try:
            canonical = canonical_url(url)
        except ValueError:
            return None
        if not canonical.startswith(("http://", "https://")) or canonical in self._queued:
            return None
        if not self._on_site(canonical):
            self._count("offsite")
            return None
        if self._allow and not any(p.search(canonical) for p in self._allow):
            return None
        if any(p.search(canonical) for p in self._deny):
            return None
        return canonical

    def _on_site(self, url: str) -> bool:
        host = site_of(url)
        return any(host == allowed or host.endswith("." + allowed) for allowed in self.hosts)

    def discovery_failed(self, failure: Failure) -> None:
        self._count("discovery_failed")
        log.warning("%s: %s %s failed: %s", self.source.id, failure.request.meta["raqib_kind"],
                    failure.request.url, describe_failure(failure))

    # --- articles ------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        """Hand a fetched article page to the pipelines."""
        self._count("fetched")
        url = canonical_url(response.url)
        if not isinstance(response, TextResponse):
            self._count("not_article")
            self.context.repository.record_outcome(url, self.source.id, "not_article",
                                                   error="not a text page")
            return
        yield PageItem(source=self.source.id, url=url,
                       requested_url=canonical_url(response.request.url),
                       fetched_at=datetime.now(UTC), html=response.text,
                       feed_date=response.meta.get("feed_date"))

    def article_failed(self, failure: Failure) -> None:
        reason = describe_failure(failure)
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            self._count("ignored")
            log.info("%s: %s skipped: %s", self.source.id, failure.request.url, reason)
            return
        self._count("failed")
        if "maxsize" in reason or "larger than" in reason:
            self._count("too_large")
        gone = failure.check(HttpError) and failure.value.response.status in (404, 410)
        log.warning("%s: article %s failed: %s", self.source.id, failure.request.url, reason)
        # A dead link stays dead; anything else (5xx, timeout, too large) is tried again later.
        self.context.repository.record_outcome(canonical_url(failure.request.url),
                                               self.source.id, "gone" if gone else "failed",
                                               error=reason)

    # --- bookkeeping ---------------------------------------------------------------------------

    def _count(self, key: str, value: int = 1) -> None:
        if value:
            self.crawler.stats.inc_value(f"raqib/{key}", value)

    def _closed(self, spider: scrapy.Spider, reason: str) -> None:
        # Validators are kept only after a finished crawl: a crawl cut short must not
        # turn the next visit into a 304 that hides the links it never fetched.
        if spider is self and reason == "finished":
            for url, (etag, modified) in self._validators.items():
                self.context.repository.save_validators(url, etag, modified)


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    if failure.check(TwistedTimeoutError) or "timeout" in type(failure.value).__name__.lower():
        return "timed out"
    message = str(failure.value) or type(failure.value).__name__
    return message.splitlines()[0][:300]
