"""Item pipelines, one concern each, in the order of ITEM_PIPELINES (crawler.settings):

    ExtractionPipeline     page → article (trafilatura and dates, in the process pool)
    DuplicatePipeline      a page whose rel=canonical names a URL already settled is a copy
    StoragePipeline        the article stored once (by canonical URL and by text)
    RulesPipeline          the watch rules it matches, stored with why
    NearDuplicatePipeline  the near-duplicate cluster it joins

Each is built with `from_crawler` and reaches the database only through the crawl store
(crawler.store). A page that goes no further is dropped with a DropItem subclass, so Scrapy's
stats count it. ExtractionPipeline and the computing halves of RulesPipeline and
NearDuplicatePipeline are pure; only what they write goes through the store.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.extraction import extract_article
from crawler.neardup import StoryIndex
from crawler.spider import PageItem
from crawler.store import MAX_URL_LENGTH, CrawlStore, NewArticle, crawl_store

log = logging.getLogger(__name__)

RULES_SETTING = "RAQIB_RULES"  # the compiled RuleSet (monitor.rules), or None
EXTRACTION_POOL_SETTING = "RAQIB_EXTRACTION_POOL"  # an Executor, or None: extract in the reactor


class NotAnArticle(DropItem):
    """The page has no article body (an index, a video page, an error page)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class ExtractionFailed(DropItem):
    """The extractor raised on the page; the URL is recorded as failed and tried again later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class DuplicateArticle(DropItem):
    """The article's URL or text is already stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class _Pipeline:
    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls(crawler, crawl_store(crawler))

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"raqib/{key}")


class ExtractionPipeline(_Pipeline):
    """Runs trafilatura and the date parser in the process pool, off the reactor thread."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        self.pool: Executor | None = crawler.settings.get(EXTRACTION_POOL_SETTING)

    async def process_item(self, item: PageItem) -> PageItem:
        source = self.crawler.spider.source
        arguments = (item.html, item.url)
        options = {"timezone": source.timezone, "fetched_at": item.fetched_at,
                   "default_language": source.language}
        try:
            if self.pool is None:
                article = extract_article(*arguments, **options)
            else:
                article = await asyncio.wrap_future(
                    self.pool.submit(extract_article, *arguments, **options))
        except Exception as exc:  # a page that breaks the extractor must not break the crawl
            log.warning("%s: extraction of %s failed: %r", item.source, item.url, exc)
            self.count("failed")
            self.store.record_outcome(item.url, item.source, "failed",
                                      error=f"extraction failed: {exc!r}"[:300])
            raise ExtractionFailed(f"extraction failed: {exc!r}") from exc
        item.html = ""  # the page is no longer needed: free it before storage
        if article is None:
            self.count("not_article")
            for url in {item.url, item.requested_url}:
                self.store.record_outcome(url, item.source, "not_article")
            raise NotAnArticle(f"no article body in {item.url}")
        item.article = article
        return item


class UrlTooLong(DropItem):
    """The page's address (or its rel=canonical) is longer than storage keeps."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class DuplicatePipeline(_Pipeline):
    """A page whose rel=canonical names an address already settled is an alias of it; one whose
    address is too long to store is refused (counted, recorded as failed, not stored)."""

    def process_item(self, item: PageItem) -> PageItem:
        canonical = item.article.url
        if len(canonical) > MAX_URL_LENGTH:
            self.count("url_too_long")
            self.count("failed")
            self.store.record_outcome(item.url, item.source, "failed", error="URL too long")
            log.warning("%s: %s refused: its canonical address has %d characters (URL too long)",
                        item.source, item.url, len(canonical))
            raise UrlTooLong(f"{item.url}: its address ({len(canonical)} characters) is too long")
        if canonical != item.url and self.store.is_settled(canonical):
            self.store.record_outcome(item.url, item.source, "duplicate")
            self.count("duplicate")
            raise DuplicateArticle(f"{item.url} is canonically {canonical}, already stored")
        return item


class StoragePipeline(_Pipeline):
    """Stores the article once; a known URL or an already stored text is a duplicate."""

    def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        result = self.store.save_article(NewArticle(
            source=item.source, url=article.url, fetched_url=item.url, title=article.title,
            text=article.text, language=article.language,
            content_fingerprint=article.content_fingerprint, fetched_at=item.fetched_at,
            published_at=article.published_at, published_raw=article.published_raw,
            published_method=article.published_method))
        if result.status == "duplicate":
            self.count("duplicate")
            raise DuplicateArticle(f"{item.url} repeats article {result.duplicate_of}")
        self.count("new")
        item.article_id = result.article_id
        return item


class RulesPipeline(_Pipeline):
    """Stores the watch rules a new article matches, with their explanations."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        self.rules = crawler.settings.get(RULES_SETTING)
        if self.rules is None:
            raise NotConfigured("no watch rules")

    def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        source = self.crawler.spider.source
        matches = self.rules.evaluate(article.title or "", article.text, article.language,
                                      source=source.id, country=source.country, kind=source.kind)
        if matches:
            self.store.save_matches(item.article_id, [match.to_dict() for match in matches])
            self.count("flagged")
        return item


class NearDuplicatePipeline(_Pipeline):
    """Puts a new article into the cluster of the first-stored copy of its story."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        settings = crawler.settings
        self.index = StoryIndex(store.signatures,
                                threshold=settings.getfloat("RAQIB_NEAR_DUPLICATE_THRESHOLD"),
                                window_seconds=settings.getfloat("RAQIB_NEAR_DUPLICATE_WINDOW"))

    def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        if self.index.add(item.article_id, article.title, article.text, article.published_at,
                          item.fetched_at) is not None:
            self.count("clustered")
        return item
