"""The crawl's one door to storage: what a crawl reads and writes, and nothing more.

The runner builds a `CrawlStore` over the repository and hands it to the crawl's components
through the crawler's settings (RAQIB_CRAWL_STORE); they get it with `crawl_store(crawler)` in
their `from_crawler`. No other module under crawler/ imports storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.exceptions import NotConfigured

from monitor.config import Config
from storage.db import SchemaError, engine_from_settings
from storage.records import IndexEntry, NewArticle, SaveResult, Validators
from storage.repository import Repository

__all__ = ["STORE_SETTING", "CrawlStore", "IndexEntry", "NewArticle", "SaveResult", "SchemaError", "Validators",
           "crawl_store", "open_crawl_store"]

STORE_SETTING = "RAQIB_CRAWL_STORE"


class CrawlStore:
    """Seen URLs, validators, runs, articles, matches and the near-duplicate index of a crawl."""

    def __init__(self, repository: Repository, *, max_failed_attempts: int) -> None:
        self._repository = repository
        self.max_failed_attempts = max_failed_attempts

    # seen URLs: crawler.middlewares.KnownUrlFilter, DownloadOutcomes; the pipelines
    def settled_urls(self, urls: Iterable[str]) -> set[str]:
        """The URLs among `urls` that need no new download."""
        return self._repository.crawl.settled_urls(urls, self.max_failed_attempts)

    def is_settled(self, url: str) -> bool:
        return self._repository.crawl.is_settled(url, self.max_failed_attempts)

    def urls_to_retry(self, source: str) -> list[str]:
        """Article URLs of a source whose downloads failed fewer than the allowed times."""
        return self._repository.crawl.urls_to_retry(source, self.max_failed_attempts)

    def record_outcome(self, url: str, source: str, outcome: str, *,
                       error: str | None = None) -> None:
        self._repository.crawl.record_outcome(url, source, outcome, error=error)

    # conditional GET: crawler.middlewares.ConditionalGet
    def validators(self, url: str) -> Validators | None:
        return self._repository.crawl.validators(url)

    def save_validators(self, url: str, validators: Validators) -> None:
        self._repository.crawl.save_validators(url, validators)

    # crawl runs: crawler.extensions.CrawlRunRecorder
    def start_run(self, source: str) -> int:
        return self._repository.runs.start(source)

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None) -> None:
        self._repository.runs.finish(run_id, status, counts, error)

    # articles: crawler.pipelines
    def save_article(self, new: NewArticle, *, matches: list[dict] | None = None,
                     terms: list[str] | None = None,
                     index: IndexEntry | None = None) -> SaveResult:
        """Store an article with its seen URLs, rule matches, search terms and near-duplicate
        index entry and cluster, in one transaction (all or nothing)."""
        return self._repository.articles.save(new, matches=matches, terms=terms, index=index)

    def save_matches(self, article_id: int, matches: list[dict]) -> None:
        self._repository.articles.save_matches(article_id, matches)

    @property
    def signatures(self) -> Any:
        """The near-duplicate index (storage.signatures.SignatureIndex), for crawler.neardup."""
        return self._repository.signatures

    def close(self) -> None:
        self._repository.close()


def open_crawl_store(config: Config) -> CrawlStore:
    """The crawl store on the configured database; a new, empty database gets the schema.

    SchemaError when the database is older, newer or not raqib's.
    """
    settings = config.settings
    repository = Repository(engine_from_settings(settings.database_url, settings.database))
    return CrawlStore(repository, max_failed_attempts=settings.crawl.max_failed_attempts)


def crawl_store(crawler: Any) -> CrawlStore:
    """The crawl store handed to this crawler; NotConfigured (the component drops out) without one."""
    store = crawler.settings.get(STORE_SETTING)
    if store is None:
        raise NotConfigured(f"no {STORE_SETTING}")
    return store

