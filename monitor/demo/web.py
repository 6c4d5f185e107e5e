"""A small local web of news sites on 127.0.0.1, for `raqib demo` and for the tests.

Each site is its own HTTP server on a free port (so sites differ by origin), serving pages
from memory with ETag / Last-Modified and 304 answers, optional delays, and a count of the
requests each path received.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LAST_MODIFIED = "Mon, 03 Jun 2024 08:00:00 GMT"


@dataclass
class Page:
    """One response: body, type, status, and how slowly it is served."""

    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    validators: bool = True
    encoding: str = "utf-8"

    @property
    def data(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        # Characters a legacy charset lacks (e.g. ٪ in windows-1256) go as HTML references.
        return self.body.encode(self.encoding, errors="xmlcharrefreplace")


@dataclass
class Site:
    """A named site: its pages by path, and the requests it answered."""

    name: str
    pages: dict[str, Page] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    user_agents: Counter = field(default_factory=Counter)
    base_url: str = ""

    def add(self, path: str, page: Page | str | bytes, **options) -> None:
        self.pages[path] = page if isinstance(page, Page) else Page(page, **options)

    def url(self, path: str) -> str:
        return self.base_url + path


class _Handler(BaseHTTPRequestHandler):
    server_version = "raqib-fixture/1.0"
    site: Site
    stopping: threading.Event

    def log_message(self, *args) -> None:  # keep test and demo output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        self.site.hits[path] += 1
        self.site.user_agents[self.headers.get("User-Agent", "")] += 1
        page = self.site.pages.get(path)
        if page is None:
            self._send(404, b"<html><body><h1>404 - not found</h1></body></html>", "text/html")
            return
        if page.delay and self.stopping.wait(page.delay):
            return
        data = page.data
        headers = {}
        if page.validators and page.status == 200:
            etag = '"' + hashlib.md5(data).hexdigest() + '"'
            headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            if self.headers.get("If-None-Match") == etag or (
                    not self.headers.get("If-None-Match")
                    and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
                self._send(304, b"", None, headers)
                return
        self._send(page.status, data, page.content_type, headers)

    def _send(self, status: int, data: bytes, content_type: str | None,
              headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            view = memoryview(data)
            for start in range(0, len(data), 1 << 20):
                self.wfile.write(view[start:start + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler gave up on this response (size limit, timeout): fine


class LocalWeb:
    """Serves sites on 127.0.0.1, each on its own port; use as a context manager."""

    def __init__(self, sites: list[Site]) -> None:
        self.sites = {site.name: site for site in sites}
        self._servers: list[ThreadingHTTPServer] = []
        self._stopping = threading.Event()

    def __getitem__(self, name: str) -> Site:
        return self.sites[name]

    def start(self) -> LocalWeb:
        for site in self.sites.values():
            handler = type("Handler", (_Handler,), {"site": site, "stopping": self._stopping})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> LocalWeb:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll a condition until it holds or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
