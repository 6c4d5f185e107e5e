"""robots.txt as RFC 9309 says: the pure decision, shared by the crawl (crawler.robots, inside
Scrapy) and the daemon's poll gate (crawler.pollgate).

* 2xx: the rules, of which the first 512 KiB are read (the RFC asks crawlers to read at least
  500 KiB), cut at the last whole line.
* 4xx (and a redirect not followed): no rules, the whole site may be crawled.
* 5xx, 429, or no answer at all: the site is fully disallowed (section 2.3.1.4).
* An answer may be kept for at most 24 hours (section 2.4).
"""

from __future__ import annotations

MAX_ROBOTS_BYTES = 512 * 1024
MAX_AGE = 24 * 3600.0  # seconds an answer may be reused

RULES, ALLOW_ALL, DISALLOW_ALL = "rules", "allow_all", "disallow_all"


def verdict(status: int) -> str:
    """What an HTTP status of robots.txt means: read its RULES, ALLOW_ALL or DISALLOW_ALL."""
    if status >= 500 or status == 429:
        return DISALLOW_ALL
    if 300 <= status < 500:
        return ALLOW_ALL
    if 200 <= status < 300:
        return RULES
    return DISALLOW_ALL  # 1xx: no answer worth the name


def truncate(body: bytes) -> tuple[bytes, bool]:
    """The part of a robots.txt that is obeyed (never half a rule), and whether it was cut."""
    if len(body) <= MAX_ROBOTS_BYTES:
        return body, False
    body = body[:MAX_ROBOTS_BYTES]
    return body[: body.rfind(b"\n") + 1] or body, True
