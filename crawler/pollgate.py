"""The poll gate: does a source have anything new? Asked before a crawl child is started.

Most polls of a monitor find nothing new. A crawl child (Scrapy, trafilatura, the database,
extraction processes) costs about two CPU-seconds to start, to receive one 304; this gate, in
the long-lived daemon or worker, costs what the conditional GETs themselves cost. It sends each
of a source's discovery pages (feeds, sitemaps, first listing pages) the ETag/Last-Modified
the last finished crawl stored for it. The poll is *quiet* only when every one of them answers
304 Not Modified; anything else — 200, a page without stored validators, a redirect, an
error, robots.txt saying no or not answering — is `changed`, and the caller starts the normal
crawl, which decides everything as it always did.

Kept as strict as the crawl (and sharing its decisions, not copying them):
- addresses: crawler.addresses.AddressPolicy, on the address connected to (one lookup, each
  address checked, the connection made to the address checked);
- robots.txt: crawler.robotstxt (RFC 9309), kept for at most 24 hours;
- time: crawl.download_timeout for the whole exchange; size: robots.txt read to 512 KiB, a
  page's body is never read (a 304 has none, anything else goes to the crawl);
- the crawl's user agent and request headers, so that servers answer both alike.

No Scrapy, no Twisted: a plain socket and http.client.
"""

from __future__ import annotations

import http.client
import importlib.util
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler import robotstxt
from crawler.addresses import AddressPolicy, ScriptedLookups, host_key

log = logging.getLogger(__name__)

QUIET, CHANGED = "quiet", "changed"


def _accept_encoding() -> str:
    # What Scrapy's HttpCompressionMiddleware offers: a server may keep one ETag per encoding.
    offered = ["gzip", "deflate"]
    if importlib.util.find_spec("brotli") or importlib.util.find_spec("brotlicffi"):
        offered.append("br")
    if importlib.util.find_spec("zstandard"):
        offered.append("zstd")
    return ", ".join(offered)


@dataclass(frozen=True)
class GateAnswer:
    """`quiet` (every discovery page answered 304) or `changed`, and why in a few words."""

    verdict: str
    reason: str
    pages: int = 0  # discovery pages asked

    @property
    def quiet(self) -> bool:
        return self.verdict == QUIET


class Refused(Exception):
    """The gate will not (or cannot) ask: the crawl decides and records it."""


@dataclass
class _Robots:
    parser: Any  # protego.Protego, or None: everything allowed
    expires: float


class PollGate:
    """Conditional GETs of a source's discovery pages, outside Scrapy (thread-safe)."""

    def __init__(self, *, user_agent: str, timeout: float, allow_private: bool = False,
                 obey_robots: bool = True) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.obey_robots = obey_robots
        self.policy = AddressPolicy.from_environment(allow_private)
        self.scripted = ScriptedLookups.from_environment()
        self.headers = {"User-Agent": user_agent, "Accept-Encoding": _accept_encoding(),
                        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                        "Accept-Language": "en"}
        self._robots: dict[str, _Robots] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, crawl: Any) -> PollGate:
        """The gate for settings.yaml's `crawl` section (monitor.config.CrawlSettings)."""
        return cls(user_agent=crawl.user_agent, timeout=crawl.download_timeout,
                   allow_private=crawl.allow_private_addresses, obey_robots=crawl.obey_robots_txt)

    def same_settings(self, crawl: Any) -> bool:
        return (self.user_agent, self.timeout, self.policy.allow_private, self.obey_robots) == (
            crawl.user_agent, crawl.download_timeout, crawl.allow_private_addresses,
            crawl.obey_robots_txt)

    def check(self, urls: list[str], validators_of: Callable[[str], Any]) -> GateAnswer:
        """QUIET when every URL answers 304 to its stored validators; else CHANGED and why."""
        from w3lib.url import safe_url_string

        if not urls:
            return GateAnswer(CHANGED, "no discovery page")
        # The address as the crawl's Request spells it (and stores its validators under):
        # percent-encoded, IDNA host, a path of at least "/".
        for asked, url in enumerate((safe_url_string(url) for url in urls), 1):
            validators = validators_of(url)
            if validators is None or not (validators.etag or validators.last_modified):
                return GateAnswer(CHANGED, f"no validators stored for {url}", asked - 1)
            try:
                if not self._robots_allow(url):
                    return GateAnswer(CHANGED, f"robots.txt does not allow {url}", asked - 1)
            except Refused as exc:
                return GateAnswer(CHANGED, f"{url}: {exc}", asked - 1)
            try:
                status = self._conditional_get(url, validators)
            except (Refused, OSError, http.client.HTTPException, ValueError) as exc:
                return GateAnswer(CHANGED, f"{url}: {_describe(exc)}", asked)
            if status != 304:
                return GateAnswer(CHANGED, f"{url} answered HTTP {status}", asked)
        return GateAnswer(QUIET, "every discovery page answered 304", len(urls))

    # --- robots.txt ----------------------------------------------------------------------------

    def _robots_allow(self, url: str) -> bool:
        if not self.obey_robots:
            return True
        parts = urlsplit(url)
        key = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        now = time.monotonic()
        with self._lock:
            kept = self._robots.get(key)
        if kept is None or kept.expires <= now:
            kept = self._fetch_robots(key)  # Refused: no usable answer (not kept)
            with self._lock:
                self._robots[key] = kept
                for old in [k for k, v in self._robots.items() if v.expires <= now]:
                    del self._robots[old]
        return kept.parser is None or kept.parser.can_fetch(url, self.user_agent)

    def _fetch_robots(self, site: str) -> _Robots:
        """The rules of a site; Refused when there are none to go by (RFC 9309: disallow-all)."""
        try:
            status, body = self._get(f"{site}/robots.txt", {}, read=robotstxt.MAX_ROBOTS_BYTES + 1)
        except (Refused, OSError, http.client.HTTPException, ValueError) as exc:
            raise Refused(f"robots.txt did not answer ({_describe(exc)})") from exc
        decided = robotstxt.verdict(status)
        if decided == robotstxt.DISALLOW_ALL:
            raise Refused(f"robots.txt answered HTTP {status}")
        if 300 <= status < 400:  # the crawl follows robots.txt's redirects; the gate does not
            raise Refused(f"robots.txt answered HTTP {status} (a redirect)")
        expires = time.monotonic() + robotstxt.MAX_AGE
        if decided == robotstxt.ALLOW_ALL:
            return _Robots(None, expires)
        from protego import Protego

        body, _ = robotstxt.truncate(body)
        return _Robots(Protego.parse(body.decode("utf-8", "ignore")), expires)

    # --- HTTP ----------------------------------------------------------------------------------

    def _conditional_get(self, url: str, validators: Any) -> int:
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        status, _ = self._get(url, headers, read=0)
        return status

    def _get(self, url: str, headers: dict[str, str], *, read: int) -> tuple[int, bytes]:
        """One GET (no redirect followed): its status and at most `read` bytes of its body."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise Refused(f"scheme {scheme!r} is not http(s)")
        host = parts.hostname or ""
        why = self.policy.refuses_host(host)
        if why:
            raise Refused(why)
        port = parts.port or (443 if scheme == "https" else 80)
        deadline = time.monotonic() + self.timeout
        sock = self._connect(host, port, deadline)
        try:
            if scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            connection = _Connection(host, port, sock, 443 if scheme == "https" else 80)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            connection.request("GET", path, headers={**self.headers, **headers})
            _remaining(deadline, sock)
            response = connection.getresponse()
            body = b""
            if read:
                while len(body) < read:
                    _remaining(deadline, sock)
                    chunk = response.read1(min(65536, read - len(body)))
                    if not chunk:
                        break
                    body += chunk
            return response.status, body
        finally:
            sock.close()

    def _connect(self, host: str, port: int, deadline: float) -> socket.socket:
        """A connection to an address of `host` the policy allows: resolved once, each address
        checked, connected to the address checked."""
        lookup = self.scripted.getaddrinfo if self.scripted else socket.getaddrinfo
        literal = host.strip("[]")
        try:
            ipaddress.ip_address(literal)
            addresses = socket.getaddrinfo(literal, port, type=socket.SOCK_STREAM,
                                           flags=socket.AI_NUMERICHOST)
        except ValueError:
            addresses = lookup(host_key(host), port, 0, socket.SOCK_STREAM)
        allowed = [a for a in addresses if self.policy.allows(a[4][0])]
        if not allowed:
            refused = ", ".join(dict.fromkeys(a[4][0] for a in addresses))
            raise Refused(f"{host} resolves to {refused or 'nothing'}, not a public address")
        last: OSError | None = None
        for family, kind, proto, _, address in allowed:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"could not connect to {host}")


class _Connection(http.client.HTTPConnection):
    """An HTTP connection over a socket already connected (to the address that was checked)."""

    def __init__(self, host: str, port: int, sock: socket.socket, default_port: int) -> None:
        self.default_port = default_port  # the Host header names the port only when not this
        super().__init__(host, port)
        self.sock = sock

    def connect(self) -> None:  # never reconnects on its own
        raise http.client.HTTPException("connection closed")


def _remaining(deadline: float, sock: socket.socket) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer within crawl.download_timeout")
    sock.settimeout(left)


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return text or type(exc).__name__
