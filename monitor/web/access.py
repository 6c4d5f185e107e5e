"""Who may open the web view: loopback only, unless a password is configured.

The password (or token) lives only in the environment variable that settings.yaml's
`web.password_env` names. A browser signs in once and keeps a signed cookie; a script sends
`Authorization: Bearer <password>`. A feed reader cannot do either, so each feed URL carries
its own token: an HMAC of the feed's address under `web.feed_secret_env` (else the password),
so changing that secret revokes every feed URL given out, and no token reveals the password.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time

SESSION_COOKIE = "raqib_session"
SESSION_SECONDS = 12 * 3600


class AccessError(Exception):
    """The web view cannot start with this address and configuration."""


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password: str | None, password_env: str | None) -> None:
    """Refuse to serve beyond this machine without a password (AccessError says what to set)."""
    if is_loopback(host) or password:
        return
    if not password_env:
        raise AccessError(
            f"refusing to serve on {host}: only loopback addresses are open without a password; "
            "set web.password_env in settings.yaml to the name of an environment variable "
            "holding one")
    raise AccessError(
        f"refusing to serve on {host}: only loopback addresses are open without a password; "
        f"set the environment variable {password_env} (named by web.password_env in "
        "settings.yaml) to a password or token")


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"raqib-web:{purpose}:{secret}".encode()).digest()


def session_cookie(password: str, now: float | None = None) -> str:
    """A signed session cookie value, valid for SESSION_SECONDS; a new password voids it."""
    issued = str(int(now if now is not None else time.time()))
    signature = hmac.new(_key(password, "session"), issued.encode(), "sha256").hexdigest()
    return f"{issued}.{signature}"


def valid_session(password: str, cookie: str | None, now: float | None = None) -> bool:
    """Whether a session cookie was signed with this password and has not expired."""
    if not cookie or "." not in cookie:
        return False
    issued, _, signature = cookie.partition(".")
    if not issued.isdigit():
        return False
    expected = hmac.new(_key(password, "session"), issued.encode(), "sha256").hexdigest()
    age = (now if now is not None else time.time()) - int(issued)
    return hmac.compare_digest(expected, signature) and 0 <= age <= SESSION_SECONDS


def valid_password(password: str, given: str | None) -> bool:
    """Compare a password in constant time."""
    return given is not None and hmac.compare_digest(password.encode(), given.encode())


def feed_token(secret: str, feed_path: str) -> str:
    """The token of one feed (e.g. `/feeds/rule/gcc-egov-committee.atom`)."""
    return hmac.new(_key(secret, "feed"), feed_path.encode(), "sha256").hexdigest()[:32]


def valid_feed_token(secret: str, feed_path: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(feed_token(secret, feed_path), given)
