"""A webhook receiver on 127.0.0.1 for chat-channel tests: Apprise's `json://` and `form://`
post to it (and `workflows://`, over TLS, for Teams' Adaptive Cards).

`webhook` is a started receiver collecting every request; tests can make it answer another
status (`receiver.status = 400`), stop it and start it again on the same port, or slow it down.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.conftest_smtp import free_port


@dataclass
class Received:
    """One request the receiver answered 2xx: path, headers and body (parsed when it can be)."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw)

    @property
    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.raw.decode()).items()}


class WebhookReceiver:
    """An HTTP(S) server on a fixed loopback port that can be stopped and started again."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self.status = 200
        self.delay = 0.0
        self.received: list[Received] = []
        self.refused: list[Received] = []  # requests answered with a non-2xx status
        self._server: ThreadingHTTPServer | None = None

    def url(self, scheme: str = "json", path: str = "/hook", query: str = "") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}{'?' + query if query else ''}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.path, dict(self.headers), self.rfile.read(length))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                (receiver.received if 200 <= status < 300 else receiver.refused).append(request)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A started receiver answering 200."""
    receiver = WebhookReceiver(free_port())
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def stopped_webhook() -> Iterator[WebhookReceiver]:
    """A receiver that is down until the test calls `start()`."""
    receiver = WebhookReceiver(free_port())
    yield receiver
    receiver.stop()


@pytest.fixture
def tls_webhook(certificate: tuple[Path, Path]) -> Iterator[WebhookReceiver]:
    """A receiver speaking HTTPS with the test certificate (Teams workflows are https only)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    receiver = WebhookReceiver(free_port(), tls=context)
    receiver.start()
    yield receiver
    receiver.stop()
