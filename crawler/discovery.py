"""Reading discovery pages: the article links of feeds, sitemaps and listings, and which of
them may be articles of a source.

Pure functions of a page's bytes or text (no I/O); the crawl's spider and `raqib sources
check` both read pages through them.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.urls import canonical_url, site_of
from monitor.config import Listing, Source, is_xpath

MAX_CHILD_SITEMAPS = 10  # per sitemap index: the newest children
MAX_SITEMAP_DEPTH = 3  # levels of child sitemaps below a configured one
MAX_SITEMAPS_PER_CRAWL = 100  # child sitemaps followed in one crawl of a source
_XML_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    for child in element:
        if _local(child.tag) in names and (child.text or "").strip():
            return child.text.strip()
    return None


@dataclass
class XmlDiscovery:
    """What a feed or sitemap offers: article links and child sitemaps (newest first).

    `kind` is the document's root element (`rss`, `feed`, `urlset`, `sitemapindex`, …), or
    None when the body is not XML at all; `readable` says whether raqib understood it.
    """

    kind: str | None
    links: list[str] = field(default_factory=list)
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
                links.append(link)
    elif found.kind == "feed":
        for entry in root.iter("{*}entry"):
            hrefs = [link.get("href") for link in entry.iter("{*}link")
                     if link.get("rel", "alternate") == "alternate" and link.get("href")]
            if hrefs:
                links.append(hrefs[0])
    elif found.kind == "urlset":
        for url in root.iter("{*}url"):
            loc = _child_text(url, "loc")
            if loc:
                links.append(loc)
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


def describe_error(error: BaseException) -> str:
    """One readable line for a failed request's exception."""
    if isinstance(error, HttpError):
        return f"HTTP {error.response.status}"
    if isinstance(error, TwistedTimeoutError) or "timeout" in type(error).__name__.lower():
        return "timed out"
    message = str(error) or type(error).__name__
    return message.splitlines()[0][:300]


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request."""
    return describe_error(failure.value)
