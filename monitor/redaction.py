"""Secrets kept out of every log line and error: the chat channels' URLs and the tokens in them.

An Apprise URL is a credential (`tgram://BOT_TOKEN/CHAT`, a Teams workflow's signature, a
Slack webhook's path). raqib never writes one itself, but libraries do: Apprise names a URL
it cannot parse, urllib3 logs the path of each request at DEBUG, an exception carries the
address it failed on. So every URL read from the environment is registered here, and a log
record factory rewrites each record's message (and traceback) before any handler sees it;
`redact` does the same for error texts raqib stores or prints.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "[redacted]"
_MIN_PART = 5  # URL parts this long or longer are masked; shorter ones are words, ports…

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_previous_factory = None


def secret_parts(url: str) -> set[str]:
    """The URL and those parts of it that may be tokens (user, password, path, query…).

    A host name with a dot (hooks.slack.com, 127.0.0.1) is an address, not a secret; a "host"
    without one is a token (Telegram's `tgram://BOT_TOKEN/CHAT`).
    """
    parts = {url}
    rest = url.split("://", 1)[1] if "://" in url else url
    parts.add(rest)
    try:
        split = urlsplit(url)
        host = split.hostname if split.hostname and "." in split.hostname else None
        query = parse_qsl(split.query, keep_blank_values=False)
    except ValueError:
        return parts
    candidates = [split.username, split.password, split.path.strip("/"), split.query,
                  split.fragment, *re.split(r"[/@:?&#]", rest)]
    if host is None:
        candidates.append(split.netloc)
    for name, value in query:
        candidates += [value, f"{name}={value}"]
    for candidate in candidates:
        if not candidate or candidate == host or len(candidate) < _MIN_PART:
            continue
        parts |= {candidate, unquote(candidate), quote(candidate, safe="")}
    return {part for part in parts if len(part) >= _MIN_PART}


def register(url: str) -> None:
    """Keep `url` and its tokens out of every log record and redacted text from now on."""
    global _pattern
    parts = secret_parts(url)
    with _lock:
        if parts <= _secrets:
            return
        _secrets.update(parts)
        # Longest first, so that a whole URL is masked before its parts are.
        _pattern = re.compile("|".join(re.escape(part) for part in
                                       sorted(_secrets, key=len, reverse=True)))
    _install()


def redact(text: str) -> str:
    """`text` with every registered secret replaced by a mask."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def _install() -> None:
    """Put the redacting record factory in front of logging (once per process)."""
    global _previous_factory
    with _lock:
        if _previous_factory is not None:
            return
        _previous_factory = logging.getLogRecordFactory()
        previous = _previous_factory

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _pattern is None:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's to report, unredacted args aside
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
