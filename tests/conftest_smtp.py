"""A real SMTP server on 127.0.0.1 for mail tests (aiosmtpd), importable by test modules.

`smtp_server` is a started server collecting every accepted message; tests can make it
refuse (`server.reply = "554 ..."`), stop it and start it again on the same port, or ask for
authentication and TLS.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import SmtpSettings

USER, PASSWORD = "raqib", "s3cret-Riyadh/2025"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector:
    """The aiosmtpd handler: keeps accepted messages, or answers `reply` to DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        self.delay = 0.0  # seconds before answering DATA, so that concurrent senders overlap

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                policy=policy.default))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class SmtpServer:
    """One SMTP server on a fixed port that can be stopped and started again."""

    def __init__(self, port: int, **controller_options: Any) -> None:
        self.port = port
        self.handler = Collector()
        self.options = controller_options
        self.controller: Controller | None = None
        self.credentials = (USER, PASSWORD)  # what an authenticating server accepts

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def reply(self) -> str | None:
        return self.handler.reply

    @reply.setter
    def reply(self, value: str | None) -> None:
        self.handler.reply = value

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "starttls": False,
                                  "ssl": False, "username": None, "timeout": 5,
                                  "from": "رقيب <raqib@example.org>"}
        values.update(overrides)
        return SmtpSettings.model_validate(values)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A started plain SMTP server collecting messages."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server() -> Iterator[SmtpServer]:
    """A server that is down until the test calls `start()`."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def auth_smtp_server() -> Iterator[SmtpServer]:
    """A server that demands AUTH LOGIN/PLAIN with USER/PASSWORD (over plain text, for tests)."""
    server = SmtpServer(free_port(), authenticator=_authenticate, auth_require_tls=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that verifies the server against the test certificate."""
    return ssl.create_default_context(cafile=str(certificate[0]))


def _server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def starttls_smtp_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """A server that refuses mail until the client has said STARTTLS."""
    server = SmtpServer(free_port(), tls_context=_server_tls(certificate), require_starttls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ssl_smtp_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """A server speaking TLS from the first byte (port-465 style)."""
    server = SmtpServer(free_port(), ssl_context=_server_tls(certificate))
    server.start()
    yield server
    server.stop()
