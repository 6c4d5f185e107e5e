"""`raqib sources check`: a live look at whether each source still works, storing nothing.

For every source, each feed, sitemap and listing page is fetched once (a sitemap index with
its newest child sitemaps), its article links are counted after the same filtering a crawl
applies, and one sample article is downloaded and extracted. The requests go through Scrapy
with the crawl's own politeness: robots.txt, user agent, timeouts, and the crawl's address
guard (crawler.netguard), for the first request and every redirect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.discovery import (
    MAX_CHILD_SITEMAPS,
    DocumentTooLarge,
    LinkPolicy,
    XmlDiscovery,
    describe_failure,
    read_listing,
    read_xml,
)
from crawler.extraction import extract_article
from crawler.settings import scrapy_settings
from monitor.config import Config, Source

log = logging.getLogger(__name__)

SAMPLE_ATTEMPTS = 3  # a dead first link says little about a source: try a couple more


@dataclass
class EntryCheck:
    """One feed, sitemap or listing page: how it answered and how many article links it gave."""

    kind: str
    url: str
    answer: str = "no answer"
    ok: bool = False
    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SampleCheck:
    """The sample article: whether it was fetched and extracted, and what came out."""

    url: str | None = None
    outcome: str = "no link to try"
    extracted: bool = False
    title: str | None = None
    chars: int = 0
    published_at: datetime | None = None
    attempts: int = 0


@dataclass
class SourceCheck:
    """The result of checking one source."""

    source: str
    entries: list[EntryCheck] = field(default_factory=list)
    sample: SampleCheck = field(default_factory=SampleCheck)
    seconds: float = 0.0
    error: str | None = None

    @property
    def links(self) -> list[str]:
        """Distinct article links over all entries, in entry order."""
        return list(dict.fromkeys(link for entry in self.entries for link in entry.links))

    @property
    def healthy(self) -> bool:
        return self.error is None and bool(self.links) and self.sample.extracted

    @property
    def problem(self) -> str | None:
        """Why the source is not healthy, in a few words (None when it is)."""
        if self.error:
            return self.error
        if not any(entry.ok for entry in self.entries):
            return "no feed, sitemap or listing answered"
        if not self.links:
            return "no article links"
        if not self.sample.extracted:
            return f"sample article: {self.sample.outcome}"
        return None

    def to_dict(self) -> dict:
        """A JSON-ready record (for `raqib sources check --json`)."""
        sample = self.sample
        return {
            "source": self.source, "healthy": self.healthy, "problem": self.problem,
            "links": len(self.links), "seconds": round(self.seconds, 2),
            "entries": [{"kind": e.kind, "url": e.url, "answer": e.answer, "ok": e.ok,
                         "links": len(e.links), "notes": e.notes} for e in self.entries],
            "sample": {"url": sample.url, "outcome": sample.outcome,
                       "extracted": sample.extracted, "title": sample.title,
                       "chars": sample.chars, "attempts": sample.attempts,
                       "published_at": sample.published_at.isoformat()
                       if sample.published_at else None},
        }


class SourceCheckSpider(scrapy.Spider):
    """Fetches a source's discovery pages once and one sample article; yields no items."""

    name = "source-check"

    def __init__(self, source: Source, result: SourceCheck, **kwargs: Any) -> None:
        super().__init__(name=f"check-{source.id}", **kwargs)
        self.source = source
        self.result = result
        self.policy = LinkPolicy(source)
        self.allowed_domains = sorted(self.policy.hosts)
        self._pending = 0
        self._candidates: list[str] = []
        self.max_size = 0  # DOWNLOAD_MAXSIZE, for gzipped sitemaps

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        entries = [*(("feed", url, None) for url in self.source.feeds),
                   *(("sitemap", url, None) for url in self.source.sitemaps),
                   *(("listing", listing.url, index)
                     for index, listing in enumerate(self.source.listings))]
        if not entries:
            self.result.error = "no feeds, sitemaps or listings configured"
        for entry, (kind, url, listing) in enumerate(entries):
            self.result.entries.append(EntryCheck(kind, url))
            yield self._discovery(url, entry, top=True, listing=listing)

    def _discovery(self, url: str, entry: int, top: bool,
                   listing: int | None = None) -> scrapy.Request:
        self._pending += 1
        return scrapy.Request(url, callback=self.parse_discovery, errback=self.discovery_failed,
                              dont_filter=True,
                              meta={"entry": entry, "top": top, "listing": listing})

    def parse_discovery(self, response: Response) -> Iterator[scrapy.Request]:
        """Count the article links of a feed, sitemap or listing page."""
        entry = self.result.entries[response.meta["entry"]]
        top = response.meta["top"]
        follow: list[scrapy.Request] = []
        links: list[str] = []
        problem = None
        if entry.kind == "listing":
            if isinstance(response, TextResponse):
                listing = self.source.listings[response.meta["listing"]]
                links, next_url = read_listing(response, listing)
                if next_url and listing.max_pages > 1:
                    entry.notes.append("has a next page")
            else:
                problem = "not an HTML page"
        else:
            try:
                found = read_xml(response.body, self.max_size)
            except DocumentTooLarge as exc:
                found, problem = XmlDiscovery(None), f"refused: {exc}"
            if not found.readable and problem is None:
                problem = ("not XML" if found.kind is None
                           else f"not a feed or sitemap (<{found.kind}>)")
            links = found.links
            children = [response.urljoin(loc) for loc in found.child_sitemaps]
            children = [url for url in children if self.policy.on_site(url)]
            if children and top:
                entry.notes.append(f"sitemap index: {min(len(children), MAX_CHILD_SITEMAPS)} "
                                   f"of {len(children)} child sitemaps read")
                follow = [self._discovery(url, response.meta["entry"], top=False)
                          for url in children[:MAX_CHILD_SITEMAPS]]
        if top:
            entry.answer = f"HTTP {response.status}" + (f", {problem}" if problem else "")
            entry.ok = problem is None
        for link in links:
            canonical, _ = self.policy.judge(link)
            if canonical and canonical not in entry.links:
                entry.links.append(canonical)
        yield from follow
        yield from self._discovery_done()

    def discovery_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        """Record why a feed, sitemap or listing did not answer."""
        meta = failure.request.meta
        entry = self.result.entries[meta["entry"]]
        reason = _short_reason(failure)
        if meta["top"]:
            entry.answer = reason
        else:
            entry.notes.append(f"child sitemap {reason}")
        log.info("%s: %s %s failed: %s", self.source.id, entry.kind, failure.request.url, reason)
        yield from self._discovery_done()

    def _discovery_done(self) -> Iterator[scrapy.Request]:
        # The sample is chosen once every entry has answered, so that it is the first link
        # of the first entry (feeds before sitemaps before listings), as configured.
        self._pending -= 1
        if self._pending == 0:
            self._candidates = self.result.links[:SAMPLE_ATTEMPTS]
            yield from self._next_sample()

    def _next_sample(self) -> Iterator[scrapy.Request]:
        if not self._candidates:
            return
        url = self._candidates.pop(0)
        self.result.sample.url = url
        self.result.sample.attempts += 1
        yield scrapy.Request(url, callback=self.parse_sample, errback=self.sample_failed,
                             dont_filter=True)

    def parse_sample(self, response: Response) -> Iterator[scrapy.Request]:
        """Extract the sample article as a crawl would."""
        sample = self.result.sample
        article = None
        if isinstance(response, TextResponse):
            article = extract_article(response.text, response.url,
                                      timezone=self.source.timezone,
                                      fetched_at=datetime.now(UTC),
                                      default_language=self.source.language)
        if article is None:
            sample.outcome = f"HTTP {response.status}, no article body"
            yield from self._next_sample()
            return
        sample.extracted, sample.outcome = True, "extracted"
        sample.title, sample.chars = article.title, len(article.text)
        sample.published_at = article.published_at

    def sample_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        """Record why the sample article could not be fetched, and try the next link."""
        self.result.sample.outcome = _short_reason(failure)
        yield from self._next_sample()


def _short_reason(failure: Failure) -> str:
    """A failed request in a few words."""
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        if "robots.txt unreachable" in message:
            return "robots.txt unreachable: site not crawled"
        if "robots.txt" in message:
            return "forbidden by robots.txt"
        if "private" in message:
            return "refused: private address"
        if "Offsite" in message or "offsite" in message:
            return "off-site redirect"
    reason = describe_failure(failure)
    if "DNS lookup failed" in reason or "DNSLookupError" in reason:
        return "DNS lookup failed"
    if "Connection refused" in reason:
        return "connection refused"
    if "larger than" in reason or "maxsize" in reason:
        return "too large"
    return reason[:80]


def check_settings(config: Config) -> dict[str, Any]:
    """The crawl's politeness without its storing components (no pipelines, no conditional GET)."""
    settings = scrapy_settings(config)
    timeout = config.settings.crawl.download_timeout
    settings.update({
        # A check reports how a source answers now, within a bound: no retries, no slow start.
        "RETRY_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": False,
        # robots.txt, discovery, child sitemaps and up to SAMPLE_ATTEMPTS articles, each bounded.
        "CLOSESPIDER_TIMEOUT": timeout * (4 + SAMPLE_ATTEMPTS) + 5,
    })
    return settings


def check_sources(config: Config, sources: list[Source], *,
                  on_finish: Callable[[SourceCheck], None] | None = None) -> list[SourceCheck]:
    """Check the sources at once (one Scrapy crawler each) and return a result per source."""
    # Scrapy resets its loggers to DEBUG here; the CLI's handler filter keeps them quiet.
    process = CrawlerProcess({**check_settings(config), "LOG_INSTALL_ROOT_HANDLER": False})
    results = [SourceCheck(source.id) for source in sources]
    for source, result in zip(sources, results, strict=True):
        crawler = process.create_crawler(SourceCheckSpider)
        started = time.monotonic()

        def closed(spider: Any, reason: str, result: SourceCheck = result,
                   started: float = started) -> None:
            result.seconds = time.monotonic() - started
            if reason == "closespider_timeout" and result.error is None:
                result.error = "check took too long"
            elif reason not in ("finished", "closespider_timeout"):
                result.error = f"check ended: {reason}"
            if on_finish:
                on_finish(result)

        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
        process.crawl(crawler, source=source, result=result)
    process.start(stop_after_crawl=True)
    return results
