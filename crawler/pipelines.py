"""Item pipelines, one concern each, in the order of ITEM_PIPELINES (crawler.settings):

    ExtractionPipeline     page → article, its rule matches, near-duplicate sketch and index
                           terms (trafilatura, dates, rules, MinHash: in the process pool)
    DuplicatePipeline      a page whose rel=canonical names a URL already settled is a copy
    StoragePipeline        the article stored once (by canonical URL and by text), in one
                           transaction with its seen URLs, matches and near-duplicate cluster
    RulesPipeline          counts the flagged
    NearDuplicatePipeline  counts the clustered

Each is built with `from_crawler` and reaches the database only through the crawl store
(crawler.store). A page that goes no further is dropped with a DropItem subclass, so Scrapy's
stats count it. The reactor thread does only I/O and the database: every computation on the
text runs in the extraction worker (crawler.extraction.process_page).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.extraction import PRIMED, ProcessedPage, process_page
from crawler.neardup import index_entry
from crawler.pool import ExtractionPool
from crawler.spider import PageItem
from crawler.store import MAX_URL_LENGTH, CrawlStore, NewArticle, StoreComponent

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



class ExtractionPipeline(StoreComponent):
    """Runs, in the process pool off the reactor thread, everything that is a pure function of
    the page: trafilatura, the date, the watch rules, the near-duplicate sketch, index terms."""

    ATTEMPTS = 4  # submissions of one page when extraction processes keep dying under it

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        settings = crawler.settings
        self.pool: Executor | None = settings.get(EXTRACTION_POOL_SETTING)
        self.rules = settings.get(RULES_SETTING)
        self.max_text_chars = settings.getint("RAQIB_MAX_TEXT_CHARS", 0)

    async def process_item(self, item: PageItem) -> PageItem:
        source = self.crawler.spider.source
        options = {"timezone": source.timezone, "fetched_at": item.fetched_at,
                   "default_language": source.language, "source": source.id,
                   "country": source.country, "kind": source.kind,
                   "max_text_chars": self.max_text_chars}
        try:
            page = await self._process(item, options)
        except Exception as exc:  # a page that breaks the extractor must not break the crawl
            log.warning("%s: extraction of %s failed: %r", item.source, item.url, exc)
            self.count("failed")
            self.store.record_outcome(item.url, item.source, "failed",
                                      error=f"extraction failed: {exc!r}"[:300])
            raise ExtractionFailed(f"extraction failed: {exc!r}") from exc
        item.html = ""  # the page is no longer needed: free it before storage
        if page is None:
            self.count("not_article")
            for url in {item.url, item.requested_url}:
                self.store.record_outcome(url, item.source, "not_article")
            raise NotAnArticle(f"no article body in {item.url}")
        item.article, item.matches, item.sketch, item.terms = (
            page.article, page.matches, page.sketch, page.terms)
        return item

    async def _process(self, item: PageItem, options: dict) -> ProcessedPage | None:
        if self.pool is None:
            return process_page(item.html, item.url, rules=self.rules, **options)
        if not isinstance(self.pool, ExtractionPool):  # any executor: the rules go with each page
            return await asyncio.wrap_future(
                self.pool.submit(process_page, item.html, item.url, rules=self.rules, **options))
        rules = PRIMED if self.rules is not None else None
        for attempt in range(1, self.ATTEMPTS + 1):
            generation = self.pool.generation
            try:
                return await asyncio.wrap_future(
                    self.pool.submit(process_page, item.html, item.url, rules=rules, **options))
            except BrokenProcessPool:
                # A dead worker (OOM killer, kill -9) is not the page's fault: a new pool,
                # and the page again. A page that kills every worker it meets fails in the end.
                self.count("extraction_restarts")
                self.pool.restart(generation)
                if attempt == self.ATTEMPTS:
                    raise
        return None


class UrlTooLong(DropItem):
    """The page's address (or its rel=canonical) is longer than storage keeps."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class DuplicatePipeline(StoreComponent):
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


class StoragePipeline(StoreComponent):
    """Stores the article once, with its seen URLs, rule matches and near-duplicate entry and
    cluster, in one transaction; a known URL or an already stored text is a duplicate."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        settings = crawler.settings
        self.threshold = settings.getfloat("RAQIB_NEAR_DUPLICATE_THRESHOLD", 0.55)
        self.window = timedelta(seconds=settings.getfloat("RAQIB_NEAR_DUPLICATE_WINDOW",
                                                          7 * 86400))

    def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        sketch = getattr(item, "sketch", None)
        index = index_entry(sketch, article.published_at, item.fetched_at,
                            threshold=self.threshold, window=self.window) if sketch else None
        result = self.store.save_article(NewArticle(
            source=item.source, url=article.url, fetched_url=item.url, title=article.title,
            text=article.text, language=article.language,
            content_fingerprint=article.content_fingerprint, fetched_at=item.fetched_at,
            published_at=article.published_at, published_raw=article.published_raw,
            published_method=article.published_method),
            matches=getattr(item, "matches", None), terms=getattr(item, "terms", None),
            index=index)
        if result.status == "duplicate":
            self.count("duplicate")
            raise DuplicateArticle(f"{item.url} repeats article {result.duplicate_of}")
        self.count("new")
        item.article_id = result.article_id
        item.cluster_id = result.cluster_id
        return item


class RulesPipeline(StoreComponent):
    """Counts the articles that matched a watch rule (evaluated in the extraction worker,
    stored with the article)."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        super().__init__(crawler, store)
        if crawler.settings.get(RULES_SETTING) is None:
            raise NotConfigured("no watch rules")

    def process_item(self, item: PageItem) -> PageItem:
        if getattr(item, "matches", None):
            self.count("flagged")
        return item


class NearDuplicatePipeline(StoreComponent):
    """Counts the articles that joined the story of an earlier copy (decided and stored with
    the article, from the sketch the extraction worker made)."""

    def process_item(self, item: PageItem) -> PageItem:
        if getattr(item, "cluster_id", None) is not None:
            self.count("clustered")
        return item
