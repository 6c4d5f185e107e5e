"""A hostile local web: one HTTP server on 127.0.0.2 serving many `.test` sites by Host header,
and a "secret" server on 127.0.0.1 (and ::1) on the same port that no crawl may ever reach.

127.0.0.2 stands in for a public address (`RAQIB_TEST_PUBLIC_ADDRESSES`); the `.test` names
resolve through the resolver's test hook (`RAQIB_TEST_HOSTS`), so the crawl's address guard
runs exactly as in production: a name that resolves to 127.0.0.1 is an internal host.
Responses are written byte by byte where an attack needs it (slow bodies, endless headers).
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PUBLIC = "127.0.0.2"
SECRET = "127.0.0.1"
MAX_ATTACK_SECONDS = 30.0  # a dribbling response gives up after this, whatever the client does


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: every request is a new lookup
    web: HostileWeb
    secret = False
    key: tuple[str, str] = ("", "")  # (host, path) of the request being answered

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if self.secret:
            self.web.secret_hits[(host, path)] += 1
            send(self, b"SECRET: internal service", content_type="text/plain")
            return
        self.key = (host, path)
        self.web.hits[self.key] += 1
        route = self.web.routes.get((host, path))
        try:
            if route is None:
                send(self, b"<html><body><h1>404</h1></body></html>", status=404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass  # the crawler gave up on this response: that is the point


Route = Callable[[_Handler], None]


def send(handler: _Handler, body: bytes | str, status: int = 200,
         content_type: str = "text/html; charset=utf-8", headers: dict | None = None) -> None:
    """A complete response with Content-Length."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    handler.web.sent[handler.key] += len(data)


def page(body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8",
         **headers: str) -> Route:
    return lambda h: send(h, body, status, content_type,
                          {k.replace("_", "-"): v for k, v in headers.items()})


def redirect(location: str, status: int = 301) -> Route:
    return lambda h: send(h, b"", status, headers={"Location": location})


def raw(data: bytes) -> Route:
    """Exactly these bytes on the wire, status line and headers included; `sent` counts what
    the client took before it hung up."""
    def route(h: _Handler) -> None:
        view = memoryview(data)
        for start in range(0, len(data), 65536):
            h.wfile.write(view[start:start + 65536])
            h.web.sent[h.key] += len(view[start:start + 65536])
    return route


def dribble(head: bytes, rest: bytes, interval: float) -> Route:
    """`head` at once, then `rest` one byte every `interval` seconds (slowloris)."""
    def route(h: _Handler) -> None:
        h.wfile.write(head)
        h.wfile.flush()
        deadline = time.monotonic() + MAX_ATTACK_SECONDS
        for index in range(len(rest)):
            if h.web.stopping.wait(interval) or time.monotonic() > deadline:
                return
            h.wfile.write(rest[index:index + 1])
            h.wfile.flush()
            h.web.sent[h.key] += 1
    return route


def endless(head: bytes, line: bytes, limit: int = 512 << 20) -> Route:
    """`head`, then `line` over and over until the client hangs up (or `limit` bytes)."""
    def route(h: _Handler) -> None:
        h.wfile.write(head)
        block = line * max(1, 65536 // len(line))
        deadline = time.monotonic() + MAX_ATTACK_SECONDS
        while h.web.sent[h.key] < limit and time.monotonic() < deadline \
                and not h.web.stopping.is_set():
            h.wfile.write(block)
            h.web.sent[h.key] += len(block)
            time.sleep(0.001)  # leave the other attacks' threads some of the GIL
    return route


def stall(seconds: float) -> Route:
    """Accept the request and answer nothing for a while."""
    return lambda h: h.web.stopping.wait(min(seconds, MAX_ATTACK_SECONDS))


class HostileWeb:
    """The public server on 127.0.0.2 and the secret one on 127.0.0.1 / ::1, one port."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: Counter = Counter()
        self.secret_hits: Counter = Counter()
        self.sent: Counter = Counter()
        self.stopping = threading.Event()
        self.lookups: dict[str, list] = {}
        self._servers: list[ThreadingHTTPServer] = []
        self.port = 0

    def add(self, host: str, path: str, route: Route) -> None:
        self.routes[(host, path)] = route

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def resolve(self, host: str, *answers) -> None:
        """Script the lookups of a `.test` name (default: always the public address)."""
        self.lookups[host] = list(answers)

    def environment(self) -> dict[str, str]:
        """The test hooks that make 127.0.0.2 public and resolve the `.test` names."""
        names = {host for host, _ in self.routes} | set(self.lookups)
        script = {name: self.lookups.get(name, [PUBLIC]) for name in sorted(names)}
        return {"RAQIB_TEST_PUBLIC_ADDRESSES": PUBLIC, "RAQIB_TEST_HOSTS": json.dumps(script)}

    def start(self) -> HostileWeb:
        for _ in range(20):
            public = self._serve(PUBLIC, 0, secret=False)
            self.port = public.server_address[1]
            try:
                secret = self._serve(SECRET, self.port, secret=True)
            except OSError:
                public.server_close()
                continue
            self._servers += [public, secret]
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.2 and 127.0.0.1")
        try:
            self._servers.append(self._serve("::1", self.port, secret=True, family=socket.AF_INET6))
        except OSError:
            pass  # no IPv6 loopback here: the [::1] cases are still refused, just not listened for
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def _serve(self, address: str, port: int, secret: bool,
               family: int = socket.AF_INET) -> ThreadingHTTPServer:
        handler = type("Handler", (_Handler,), {"web": self, "secret": secret})
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
        server = server_class((address, port), handler)
        server.daemon_threads = True
        return server

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()


# --- payloads ---------------------------------------------------------------------------------

_ZEROS = bytes(16 << 20)


def gzip_bomb(size: int = 1 << 30) -> bytes:
    """`size` bytes of zeros as a multi-member gzip stream (about 1 KB per MB)."""
    member = gzip.compress(_ZEROS, compresslevel=9, mtime=0)
    return member * (size // len(_ZEROS))


def deflate_bomb(size: int = 1 << 30) -> bytes:
    """`size` zero bytes as one zlib stream, built from repeated fully flushed blocks."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)
    first = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = size // len(_ZEROS)
    tail = compressor.flush()[:-4]
    checksum = 1
    for _ in range(count):
        checksum = zlib.adler32(_ZEROS, checksum)
    return first + block * (count - 1) + tail + checksum.to_bytes(4, "big")


def brotli_bomb(size: int = 1 << 30) -> bytes:
    import brotli

    compressor = brotli.Compressor(quality=1)
    chunk = _ZEROS[: 1 << 20]
    return b"".join(compressor.process(chunk) for _ in range(size // len(chunk))) + compressor.finish()


def zstd_bomb(size: int = 1 << 30) -> bytes:
    try:
        from compression import zstd
    except ImportError:
        from backports import zstd
    compressor = zstd.ZstdCompressor(level=3)
    return b"".join(compressor.compress(_ZEROS) for _ in range(size // len(_ZEROS))) \
        + compressor.flush()


def encoded(body: bytes, encoding: str, content_type: str = "text/html; charset=utf-8") -> Route:
    """A response whose body is sent with a Content-Encoding."""
    return page(body, content_type=content_type, Content_Encoding=encoding)
