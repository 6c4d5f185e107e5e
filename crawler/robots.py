"""robots.txt as RFC 9309 says, on top of Scrapy's RobotsTxtMiddleware (the decision itself:
crawler.robotstxt, shared with the daemon's poll gate).

* 2xx: the rules, of which the first 512 KiB are read (the RFC asks crawlers to read at least
  500 KiB; the download stops there, so a huge robots.txt costs neither memory nor time).
* 4xx: no rules, the whole site may be crawled.
* 5xx, 429, or no answer at all (timeout, refused connection, failed lookup): the site is
  fully disallowed for the rest of this crawl; the next crawl asks again. (RFC 9309 section
  2.3.1.4; 429 counts as a server error, as major crawlers treat it.)

Each refusal is counted in the crawl's stats (`raqib/robots_unreachable`: sites,
`raqib/robots_disallowed_unreachable`: requests refused because of it, `raqib/robots_truncated`).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.robotstxt import DISALLOW_ALL, MAX_ROBOTS_BYTES, RULES, truncate, verdict

log = logging.getLogger(__name__)

ROBOTS_META = "raqib_robots"


class Unreachable:
    """The parser of a robots.txt that did not answer: nothing is allowed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's answers to errors and a size bound."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    async def robot_parser(self, request: Request) -> Any:
        """The rules of the request's site: fetched once per crawl, then shared."""
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots = Request(f"{url.scheme}://{netloc}/robots.txt", callback=NO_CALLBACK,
                             priority=self.DOWNLOAD_PRIORITY,
                             meta={"dont_obey_robotstxt": True, ROBOTS_META: True})
            self._stats.inc_value("robotstxt/request_count")
            try:
                response = await self.crawler.engine.download_async(robots)
            except IgnoreRequest:
                # Refused by raqib itself (an address that is not public, an off-site
                # redirect): the site's own requests meet the same refusal.
                self._settle(netloc, None)
            except Exception as exc:
                reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                self._unreachable(netloc, reason)
            else:
                try:
                    await self._parse_robots(response, netloc, request)
                except Exception as exc:  # an unparsable file: as if it had not answered
                    log.warning("robots.txt of %s could not be read: %r", netloc, exc)
                    self._unreachable(netloc, "unreadable")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        if not request.meta.get(ROBOTS_META):
            return
        received = request.meta.get("raqib_robots_bytes", 0) + len(data)
        request.meta["raqib_robots_bytes"] = received
        if received >= MAX_ROBOTS_BYTES:
            raise StopDownload(fail=False)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if verdict(status) == DISALLOW_ALL:
            self._unreachable(netloc, f"HTTP {status}")
            return
        if verdict(status) != RULES:
            # 4xx: no robots.txt. An unfollowed 3xx (a loop or too many redirects) is
            # "unavailable" in RFC 9309 terms too.
            self._settle(netloc, None)
            return
        body, cut = truncate(response.body)
        if cut or "download_stopped" in response.flags:
            if not cut:  # stopped at MAX_ROBOTS_BYTES while downloading
                body = body[: body.rfind(b"\n") + 1] or body
            self._stats.inc_value("raqib/robots_truncated")
            log.warning("robots.txt of %s is over %d KiB: its first %d KiB are obeyed",
                        netloc, MAX_ROBOTS_BYTES // 1024, MAX_ROBOTS_BYTES // 1024)
        await super()._parse_robots(response.replace(body=body), netloc, request)

    def _unreachable(self, netloc: str, reason: str) -> None:
        self._stats.inc_value("raqib/robots_unreachable")
        log.warning("robots.txt of %s did not answer (%s): the site is not crawled until it "
                    "does (RFC 9309)", netloc, reason)
        self._settle(netloc, Unreachable(reason))

    def _settle(self, netloc: str, parser: Any) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred) and not waiting.called:
            waiting.callback(parser)

    def process_request_2(self, rp: Any, request: Request) -> None:
        if isinstance(rp, Unreachable):
            self._stats.inc_value("raqib/robots_disallowed_unreachable")
            raise IgnoreRequest(f"robots.txt unreachable ({rp.reason}): the site is not "
                                "crawled until it answers")
        super().process_request_2(rp, request)
