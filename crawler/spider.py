"""NewsSpider: one data-driven spider that discovers and fetches a source's articles.

It only discovers (feeds, sitemaps, listing pages) and fetches; extraction, duplicate
detection and storage happen in the item pipelines.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
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
from scrapy.utils.gz import gunzip
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.urls import canonical_url, site_of
from monitor.config import Listing, Source, is_xpath

log = logging.getLogger(__name__)

DISCOVERY_KINDS = ("feed", "sitemap", "listing")
MAX_CHILD_SITEMAPS = 10  # per sitemap index: the newest children
MAX_SITEMAP_DEPTH = 3  # levels of child sitemaps below a configured one
MAX_SITEMAPS_PER_CRAWL = 100  # child sitemaps followed in one crawl of a source
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


@dataclass
class XmlDiscovery:
    """What a feed or sitemap offers: (link, date) pairs and child sitemaps, newest first.

    `kind` is the document's root element (`rss`, `feed`, `urlset`, `sitemapindex`, …), or
    None when the body is not XML at all; `readable` says whether raqib understood it.
    """

    kind: str | None
    links: list[tuple[str, str | None]] = field(default_factory=list)
    child_sitemaps: list[str] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.kind in ("rss", "rdf", "feed", "urlset", "sitemapindex")


class DocumentTooLarge(ValueError):
    """A compressed feed or sitemap that decompresses beyond the page size limit."""


def xml_body(body: bytes, max_size: int = 0) -> bytes:
    """A feed or sitemap body, gunzipped when it is gzip data (`sitemap.xml.gz` served as a
    file, without Content-Encoding), within `max_size` bytes once decompressed."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return gunzip(body, max_size=max_size)
    except (OSError, EOFError, struct.error, zlib.error):
        return b""  # not gzip after all, or cut short before any data: unreadable
    except ValueError as exc:  # Scrapy's "decompressed beyond max_size"
        raise DocumentTooLarge(f"over {max_size} bytes once decompressed") from exc


def read_xml(body: bytes, max_size: int = 0) -> XmlDiscovery:
    """The links of an RSS/Atom feed or sitemap, and the child sitemaps of a sitemap index.

    Gzip data is decompressed first; DocumentTooLarge when it grows past `max_size` bytes.
    """
    body = xml_body(body, max_size).strip()
    root = etree.fromstring(body, _XML_PARSER) if body else None
    if root is None:
        return XmlDiscovery(None)
    found = XmlDiscovery(_local(root.tag))
    links = found.links
    if found.kind in ("rss", "rdf"):
        for item in root.iter("{*}item", "item"):
            link = _child_text(item, "link")
            guid = item.find("guid")
            if not link and guid is not None and guid.get("isPermaLink", "true") == "true":
                link = (guid.text or "").strip()
            if link:
                links.append((link, _child_text(item, "pubdate", "date")))
    elif found.kind == "feed":
        for entry in root.iter("{*}entry"):
            hrefs = [link.get("href") for link in entry.iter("{*}link")
                     if link.get("rel", "alternate") == "alternate" and link.get("href")]
            if hrefs:
                links.append((hrefs[0], _child_text(entry, "published", "updated")))
    elif found.kind == "urlset":
        for url in root.iter("{*}url"):
            loc = _child_text(url, "loc")
            news = url.find("{*}news")
            date = _child_text(news, "publication_date") if news is not None else None
            if loc:
                links.append((loc, date or _child_text(url, "lastmod")))
    elif found.kind == "sitemapindex":
        children = [(_child_text(s, "lastmod") or "", _child_text(s, "loc"))
                    for s in root.iter("{*}sitemap")]
        # Newest child sitemaps first: the news is there, the archive can wait.
        children.sort(key=lambda pair: pair[0], reverse=True)
        found.child_sitemaps = [loc for _, loc in children if loc]
    return found


def read_listing(response: TextResponse, listing: Listing) -> tuple[list[str], str | None]:
    """The article links of a listing page (absolute), and its next-page link if any."""
    links = [response.urljoin(href) for href in _hrefs(response, listing.links)]
    next_hrefs = _hrefs(response, listing.next) if listing.next else []
    return links, response.urljoin(next_hrefs[0]) if next_hrefs else None


def _hrefs(response: TextResponse, selector: str) -> list[str]:
    """What a listing selector selects, as link targets: an attribute or text value as it is;
    an element's `href`, or else the `href` of the first link inside it."""
    selected = response.xpath(selector) if is_xpath(selector) else response.css(selector)
    hrefs = []
    for item in selected:
        if isinstance(item.root, str):
            value = item.root
        else:
            value = item.attrib.get("href") or item.xpath("(.//a[@href])[1]/@href").get()
        if value and value.strip():
            hrefs.append(value.strip())
    return hrefs


class LinkPolicy:
    """Which links may be articles of a source: http(s), on its site, allowed, not denied."""

    def __init__(self, source: Source) -> None:
        self.hosts = {site_of(url) for url in source.start_urls} | {
            host.lower().removeprefix("www.") for host in source.domains}
        self._allow = [re.compile(pattern) for pattern in source.allow]
        self._deny = [re.compile(pattern) for pattern in source.deny]

    def on_site(self, url: str) -> bool:
        """Whether the URL is on one of the source's sites (or their subdomains)."""
        host = site_of(url)
        return any(host == allowed or host.endswith("." + allowed) for allowed in self.hosts)

    def judge(self, url: str) -> tuple[str | None, str | None]:
        """(canonical URL, None) for a possible article, else (None, why not)."""
        try:
            canonical = canonical_url(url)
        except ValueError:
            return None, "unreadable"
        if not canonical.startswith(("http://", "https://")):
            return None, "not http"
        if not self.on_site(canonical):
            return None, "offsite"
        if self._allow and not any(p.search(canonical) for p in self._allow):
            return None, "not allowed"
        if any(p.search(canonical) for p in self._deny):
            return None, "denied"
        return canonical, None


class NewsSpider(scrapy.Spider):
    """Crawls one configured `Source`: its feeds, sitemaps and listing pages, then articles."""

    name = "news"

    def __init__(self, source: Source, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.context = context
        self.links = LinkPolicy(source)
        self.hosts = self.links.hosts
        self.allowed_domains = sorted(self.hosts)
        self._queued: set[str] = set()
        self._sitemaps_seen: set[str] = set()
        self._sitemaps_followed = 0
        self.last_discovery_error: str | None = None
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
            self._sitemaps_seen.add(_sitemap_key(url))
            yield self._discovery_request(url, "sitemap", sitemap_depth=0)
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
        try:
            found = read_xml(response.body, self.context.settings.crawl.max_page_bytes)
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
                  if self._on_site(url) and self._may_follow_sitemap(url, depth, response.url)]
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

    def _read_listing(self, response: Response) -> tuple[list, list[scrapy.Request]]:
        """Article links of a listing page, and its next page while max_pages allows."""
        if not isinstance(response, TextResponse):
            self._count("discovery_unreadable")
            return [], []
        listing = self.source.listings[response.meta["listing"]]
        links, next_url = read_listing(response, listing)
        follow = []
        page = response.meta["page"]
        if next_url and page < listing.max_pages:
            follow.append(self._discovery_request(
                next_url, "listing", listing=response.meta["listing"], page=page + 1))
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
        canonical, reason = self.links.judge(url)
        if reason == "offsite":
            self._count("offsite")
        if canonical is None or canonical in self._queued:
            return None
        return canonical

    def _on_site(self, url: str) -> bool:
        return self.links.on_site(url)

    def discovery_failed(self, failure: Failure) -> None:
        self._count("discovery_failed")
        self.last_discovery_error = describe_failure(failure)
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


def _sitemap_key(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    if failure.check(TwistedTimeoutError) or "timeout" in type(failure.value).__name__.lower():
        return "timed out"
    message = str(failure.value) or type(failure.value).__name__
    return message.splitlines()[0][:300]
