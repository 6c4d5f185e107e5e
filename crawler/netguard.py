"""Which network addresses raqib may connect to, decided on the address actually connected to.

A feed, a redirect or a DNS answer must not turn raqib into a probe of its own network (cloud
metadata at 169.254.169.254 or 100.100.100.200, a database on 127.0.0.1, an admin page on
10.x). Two parts enforce `AddressPolicy`:

* `GuardedResolver`, installed as Scrapy's `TWISTED_DNS_RESOLVER`, wraps the reactor's own
  name resolver (getaddrinfo in Twisted's thread pool, never on the reactor thread) and hands
  the connecting endpoint only the addresses the policy allows. Every connection, the first
  request's and every redirect's, is resolved and checked here, so the address checked is
  the address connected to: a failed lookup, a TTL-0 rebinding or an odd spelling of
  127.0.0.1 (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``) changes nothing. Nothing
  is cached here; a refusal is remembered only to explain the failed download.
* `AddressGuardMiddleware` refuses, before any lookup, what needs no DNS: non-http(s)
  schemes, literal addresses in any spelling and `localhost` names. `RefusedAddressMiddleware`
  turns the connection failure that a refused lookup causes into a counted, explained
  `IgnoreRequest` (not retried).

The policy itself and the test hooks (``RAQIB_TEST_PUBLIC_ADDRESSES``, ``RAQIB_TEST_HOSTS``)
are Scrapy-free, in crawler.addresses, shared with the daemon's poll gate (crawler.pollgate).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from crawler.addresses import (  # noqa: F401 (the policy's names, also read from here)
    TEST_HOSTS_ENV,
    TEST_PUBLIC_ENV,
    AddressPolicy,
    IPAddress,
    ScriptedLookups,
    host_key,
    literal_address,
    parse_ipv4_spelling,
)

log = logging.getLogger(__name__)


# --- the resolver -------------------------------------------------------------------------


@implementer(IResolutionReceiver)
class _VettingReceiver:
    """Passes on the addresses the policy allows; remembers a host whose all were refused."""

    def __init__(self, receiver: Any, host: str, guard: GuardedResolver) -> None:
        self.receiver, self.host, self.guard = receiver, host, guard
        self.allowed = 0
        self.refused: list[str] = []

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 (Twisted's interface)
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        if self.guard.policy.allows(address.host):
            self.allowed += 1
            self.receiver.addressResolved(address)
        else:
            self.refused.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.guard._settle(self.host, self.refused if not self.allowed else None)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver:
    """The reactor's name resolver, filtered by `AddressPolicy` (Scrapy's TWISTED_DNS_RESOLVER).

    A name whose every address is refused resolves to nothing, so the connection fails
    before it is made; `refusal(host)` then says which addresses were refused.
    """

    MAX_REMEMBERED = 4096

    def __init__(self, reactor: Any, policy: AddressPolicy,
                 scripted: ScriptedLookups | None = None) -> None:
        self.reactor = reactor
        self.policy = policy
        self.scripted = scripted
        self._wrapped: Any = None
        self._refusals: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        allow = crawler.settings.getbool("RAQIB_ALLOW_PRIVATE_ADDRESSES")
        return cls(reactor, AddressPolicy.from_environment(allow), ScriptedLookups.from_environment())

    def install_on_reactor(self) -> None:
        """Wrap the reactor's current name resolver (getaddrinfo in its thread pool)."""
        current = self.reactor.nameResolver
        if isinstance(current, GuardedResolver):
            current = current._wrapped
        if self.scripted is not None:
            from twisted.internet._resolver import GAIResolver

            current = GAIResolver(self.reactor, getaddrinfo=self.scripted.getaddrinfo)
        self._wrapped = current
        self.reactor.installNameResolver(self)

    def resolveHostName(self, resolutionReceiver: Any, hostName: str,  # noqa: N802, N803
                        portNumber: int = 0, addressTypes: Sequence[type] | None = None,  # noqa: N803
                        transportSemantics: str = "TCP") -> Any:  # noqa: N803
        """See IHostnameResolver: the wrapped resolver's answer, refused addresses left out."""
        receiver = _VettingReceiver(resolutionReceiver, host_key(hostName), self)
        return self._wrapped.resolveHostName(receiver, hostName, portNumber, addressTypes,
                                             transportSemantics)

    def refusal(self, host: str) -> tuple[str, ...] | None:
        """The refused addresses of the host's last lookup, if all were refused."""
        with self._lock:
            return self._refusals.get(host_key(host))

    def _settle(self, host: str, refused: list[str] | None) -> None:
        with self._lock:
            self._refusals.pop(host, None)
            if refused:
                self._refusals[host] = tuple(dict.fromkeys(refused))
                while len(self._refusals) > self.MAX_REMEMBERED:
                    self._refusals.popitem(last=False)
        if refused:
            log.warning("refused: %s resolves to %s, not a public address", host,
                        ", ".join(dict.fromkeys(refused)))


def installed_guard() -> GuardedResolver | None:
    """The GuardedResolver installed on the running reactor, if any."""
    from twisted.internet import reactor

    resolver = getattr(reactor, "nameResolver", None)
    return resolver if isinstance(resolver, GuardedResolver) else None


# --- downloader middlewares -----------------------------------------------------------------


def _refuse(crawler: Any, request: Request, why: str, key: str = "refused_private") -> None:
    crawler.stats.inc_value(f"raqib/{key}")
    log.warning("refused %s: %s", request.url, why)
    raise IgnoreRequest(f"refused: {why} (private addresses are not crawled; "
                        "crawl.allow_private_addresses is false)")


class AddressGuardMiddleware:
    """Refuses what needs no DNS lookup: other schemes than http(s), literal addresses that are
    not public (in any spelling), local host names; and, as a second line, a response whose
    peer address is not public. Host names are checked by `GuardedResolver` when connecting.
    """

    SCHEMES = ("http", "https")

    def __init__(self, crawler: Any, policy: AddressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self._guard_checked = False
        crawler.signals.connect(self._check_guard, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> AddressGuardMiddleware:
        if crawler.settings.getbool("RAQIB_ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured("private addresses allowed")
        return cls(crawler, AddressPolicy.from_environment())

    def _check_guard(self, spider: Any = None) -> None:
        self._guard_checked = installed_guard() is not None
        if not self._guard_checked:
            log.error("the address guard (crawler.netguard.GuardedResolver) is not installed: "
                      "every request is refused")

    def process_request(self, request: Request) -> None:
        if not self._guard_checked:  # fail closed: without the resolver, host names are unchecked
            _refuse(self.crawler, request, "the address guard is not installed")
        parts = urlsplit(request.url)
        if parts.scheme.lower() not in self.SCHEMES:
            _refuse(self.crawler, request, f"scheme {parts.scheme or '(none)'!r} is not http(s)")
        try:
            host = parts.hostname or ""
        except ValueError:
            host = ""
        why = self.policy.refuses_host(host)
        if why:
            _refuse(self.crawler, request, why)

    def process_response(self, request: Request, response: Response) -> Response:
        peer = getattr(response, "ip_address", None)
        if peer is not None and "proxy" not in request.meta and not self.policy.allows(peer):
            _refuse(self.crawler, request, f"connected to {peer}, not a public address",
                    key="refused_private_peer")
        return response


class RefusedAddressMiddleware:
    """Explains the connection failure of a host whose addresses the resolver refused, and
    keeps it from being retried. Placed before RetryMiddleware in the exception chain."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RefusedAddressMiddleware:
        if crawler.settings.getbool("RAQIB_ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured("private addresses allowed")
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not _is_lookup_failure(exception):
            return
        guard = installed_guard()
        host = urlsplit(request.url).hostname or ""
        refused = guard.refusal(host) if guard is not None else None
        if refused:
            _refuse(self.crawler, request, f"{host} resolves to {', '.join(refused)}, "
                                           "not a public address")


def _is_lookup_failure(exception: BaseException) -> bool:
    if isinstance(exception, DNSLookupError):
        return True
    # Scrapy 2.13+ wraps Twisted's DNSLookupError in its own CannotResolveHostError.
    return type(exception).__name__ == "CannotResolveHostError" or isinstance(
        exception.__cause__, DNSLookupError)
