"""Downloader middlewares: refusing private addresses, and conditional requests."""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request

log = logging.getLogger(__name__)

DISCOVERY_KINDS = ("feed", "sitemap", "listing")


@lru_cache(maxsize=4096)
def _is_private_host(host: str) -> bool:
    """Whether a host is, or resolves to, a loopback, private, link-local or reserved address."""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        addresses = {ipaddress.ip_address(host.strip("[]"))}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False  # unresolvable: the download itself will fail and be counted
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return any(a.is_private or a.is_loopback or a.is_link_local or a.is_reserved
               or a.is_multicast or a.is_unspecified for a in addresses)


class PrivateAddressMiddleware:
    """Refuses requests to loopback/private/link-local hosts unless the settings allow them.

    A misconfigured or malicious feed must not turn raqib into a probe of its own network.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> PrivateAddressMiddleware:
        if crawler.settings.getbool("RAQIB_ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured("private addresses allowed")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if _is_private_host(host):
            self.crawler.stats.inc_value("raqib/refused_private")
            raise IgnoreRequest(f"refused: {host} is a private or loopback address "
                                "(crawl.allow_private_addresses is false)")


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
        validators = self.crawler.spider.context.repository.crawl.validators(request.url)
        if not validators:
            return
        etag, modified = validators.etag, validators.last_modified
        if etag:
            request.headers[b"If-None-Match"] = etag
        if modified:
            request.headers[b"If-Modified-Since"] = modified
        self.crawler.stats.inc_value("raqib/conditional_requests")
