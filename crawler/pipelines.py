"""Item pipelines: extract the article, refuse duplicates, apply watch rules, store."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.exceptions import DropItem

from crawler.extraction import extract_article
from crawler.spider import PageItem
from storage.repository import NewArticle

log = logging.getLogger(__name__)


class NotAnArticle(DropItem):
    """The page has no article body (an index, a video page, an error page)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class DuplicateArticle(DropItem):
    """The article's URL or text is already stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level="DEBUG")


class _Component:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> _Component:
        return cls(crawler)

    @property
    def context(self):
        return self.crawler.spider.context

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"raqib/{key}")


class ExtractionPipeline(_Component):
    """Runs trafilatura and the date parser in the process pool, off the reactor thread."""

    async def process_item(self, item: PageItem) -> PageItem:
        source = self.context.sources[item.source]
        arguments = (item.html, item.url)
        options = {"timezone": source.timezone, "fetched_at": item.fetched_at,
                   "default_language": source.language}
        try:
            pool = self.context.extraction_pool
            if pool is None:
                article = extract_article(*arguments, **options)
            else:
                future = pool.submit(extract_article, *arguments, **options)
                article = await asyncio.wrap_future(future)
        except Exception as exc:  # a page that breaks the extractor must not break the crawl
            log.warning("%s: extraction of %s failed: %r", item.source, item.url, exc)
            self.count("failed")
            self.context.repository.record_outcome(item.url, item.source, "failed",
                                                   error=f"extraction failed: {exc!r}"[:300])
            raise DropItem(f"extraction failed: {exc!r}", log_level="DEBUG") from exc
        item.html = ""  # the page is no longer needed: free it before storage
        if article is None:
            self.count("not_article")
            for url in {item.url, item.requested_url}:
                self.context.repository.record_outcome(url, item.source, "not_article")
            raise NotAnArticle(f"no article body in {item.url}")
        item.article = article
        return item


class StoragePipeline(_Component):
    """Stores an article once, records duplicates, applies watch rules and clustering."""

    def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        repository = self.context.repository
        max_attempts = self.context.settings.crawl.max_failed_attempts
        if article.url != item.url and repository.is_settled(article.url, max_attempts):
            # rel=canonical names an address already stored: this URL is an alias of it.
            repository.record_outcome(item.url, item.source, "duplicate")
            self.count("duplicate")
            raise DuplicateArticle(f"{item.url} is canonically {article.url}, already stored")
        result = repository.save_article(NewArticle(
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
        if self.context.rules is not None:
            source = self.context.sources[item.source]
            matches = self.context.rules.evaluate(article.title or "", article.text,
                                                  article.language, source=source.id,
                                                  country=source.country, kind=source.kind)
            if matches:
                repository.save_rule_matches(result.article_id, [m.to_dict() for m in matches])
                self.count("flagged")
        if self.context.story_index is not None:
            cluster = self.context.story_index.add(
                result.article_id, article.title, article.text, article.published_at,
                item.fetched_at)
            if cluster is not None:
                self.count("clustered")
        return item
