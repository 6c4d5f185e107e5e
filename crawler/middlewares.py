"""Downloader middlewares: conditional requests (address refusal lives in crawler.netguard)."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.http import Request

log = logging.getLogger(__name__)

DISCOVERY_KINDS = ("feed", "sitemap", "listing")


class ConditionalRequestMiddleware:
    """Adds If-None-Match / If-Modified-Since to feed, sitemap and listing requests."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("raqib_kind") not in DISCOVERY_KINDS:
            return
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return
        validators = self.crawler.spider.context.repository.validators(request.url)
        if not validators:
            return
        etag, modified = validators
        if etag:
            request.headers[b"If-None-Match"] = etag
        if modified:
            request.headers[b"If-Modified-Since"] = modified
        self.crawler.stats.inc_value("raqib/conditional_requests")
