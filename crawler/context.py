"""What a crawl run shares with its spiders and pipelines."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from monitor.config import Settings, Source
from storage.repository import Repository


@dataclass
class CrawlContext:
    """The run's repository, compiled rules, near-duplicate index and extraction pool.

    Handed to each spider as an argument (not through Scrapy settings, which are copied),
    and read by the pipelines from `crawler.spider.context`.
    """

    repository: Repository
    settings: Settings
    sources: dict[str, Source]
    rules: Any = None
    story_index: Any = None
    extraction_pool: Executor | None = None
