"""The crawl's one door to storage: what a crawl reads and writes, and nothing more.

The runner builds a `CrawlStore` over the repository and hands it to the crawl's components
through the crawler's settings (RAQIB_CRAWL_STORE); they get it with `crawl_store(crawler)` in
their `from_crawler`. No other module under crawler/ imports storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Config
from monitor.faults import fault_point
from storage.db import SchemaError, engine_from_settings
from storage.locks import AdvisoryLock, LockHolder
from storage.records import MAX_URL_LENGTH, IndexEntry, NewArticle, SaveResult, Validators
from storage.repository import Repository

__all__ = ["MAX_URL_LENGTH", "STORE_SETTING", "CrawlStore", "IndexEntry", "NewArticle",
           "SaveResult", "SchemaError", "StoreComponent", "Validators", "crawl_store",
           "is_storage_error",
           "open_crawl_store"]

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

    # the budget's backlog: crawler.middlewares.KnownUrlFilter
    def queue(self, urls: Iterable[str], source: str) -> int:
        """Keep links over this run's budget for the next runs (taken first then)."""
        return self._repository.crawl.queue(urls, source)

    def backlog(self, source: str) -> list[str]:
        return self._repository.crawl.backlog(source)

    def unqueue(self, url: str) -> None:
        self._repository.crawl.unqueue(url)

    # conditional GET: crawler.middlewares.ConditionalGet
    def validators(self, url: str) -> Validators | None:
        return self._repository.crawl.validators(url)

    def save_validators(self, url: str, validators: Validators) -> None:
        self._repository.crawl.save_validators(url, validators)

    def forget_validators(self, urls: Iterable[str]) -> None:
        self._repository.crawl.forget_validators(urls)

    # crawl runs: crawler.extensions.CrawlRunRecorder
    def claim(self, source: str) -> tuple[AdvisoryLock | None, LockHolder | None]:
        """The lock of crawling `source` in this process, or None and who crawls it now."""
        name = f"crawling:{source}"
        lock = self._repository.locks.hold(name)
        if lock is not None:
            return lock, None
        return None, self._repository.locks.holder(name)

    def close_stale_runs(self, source: str) -> int:
        """Runs of `source` left `running` by a crawl that was killed (call holding its lock)."""
        return self._repository.runs.abandon_running(
            "the crawl was killed before it ended (closed by the next crawl)", source)

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
        result = self._repository.articles.save(new, matches=matches, terms=terms, index=index)
        fault_point("crawl:after-article-commit")  # stored with its matches, the crawl goes on
        return result

    def save_matches(self, article_id: int, matches: list[dict]) -> None:
        self._repository.articles.save_matches(article_id, matches)

    @property
    def signatures(self) -> Any:
        """The near-duplicate index (storage.signatures.SignatureIndex), for crawler.neardup."""
        return self._repository.signatures

    def close(self) -> None:
        self._repository.close()


def is_storage_error(error: BaseException) -> bool:
    """Whether an exception is the database's (full disk, lost connection, a refused value)."""
    return isinstance(error, SQLAlchemyError)


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


class StoreComponent:
    """A crawl component (middleware or pipeline) that needs the crawl store; it disappears
    (NotConfigured) without one. `count` adds to the crawl's raqib/* counts."""

    def __init__(self, crawler: Any, store: CrawlStore) -> None:
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls(crawler, crawl_store(crawler))

    def count(self, key: str, value: int = 1) -> None:
        if value:
            self.crawler.stats.inc_value(f"raqib/{key}", value)

