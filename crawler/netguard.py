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

Test-only hooks, read from the environment (never from settings.yaml), let the test suite
stand a loopback server in for a public site:

* ``RAQIB_TEST_PUBLIC_ADDRESSES=127.0.0.2,::1`` treats the listed loopback addresses as public;
  other addresses in the list are ignored.
* ``RAQIB_TEST_HOSTS='{"news.test": ["127.0.0.2"], "rebind.test": ["127.0.0.2", "127.0.0.1"]}'``
  answers lookups of names under ``.test`` (RFC 6761) with loopback addresses: the n-th lookup
  of a name gets the n-th answer, the last answer repeats, and ``null`` is a failed lookup.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TEST_PUBLIC_ENV = "RAQIB_TEST_PUBLIC_ADDRESSES"
TEST_HOSTS_ENV = "RAQIB_TEST_HOSTS"

# Beyond `is_global`: ranges that some Python versions still call global (multicast,
# 192.0.0.0/24, the documentation and benchmarking nets, deprecated 6to4 relays), and IPv6
# ranges no news site answers from. 6to4, NAT64 and IPv4-mapped addresses are judged by the
# IPv4 address they carry (see `AddressPolicy._public`), whatever this Python thinks of them.
_NOT_PUBLIC = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/8",            # unspecified, loopback, IPv4-compatible (::a.b.c.d), IPv4-mapped
    "64:ff9b:1::/48",  # local-use NAT64: what it translates to is not known here
    "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8",
))  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = re.compile(r"^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$"
                          r"|\.(localhost|local|internal|home\.arpa)$")
_NUMERIC_LABEL = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_announced: set[str] = set()  # test hooks already logged by this process


def _announce(message: str, level: int = logging.WARNING) -> None:
    """Log a test hook's use once per process, loudly: it must never be on in production."""
    if message not in _announced:
        _announced.add(message)
        log.log(level, message)


def parse_ipv4_spelling(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host names in any spelling inet_aton and browsers accept
    (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``), or None when it is a name.

    Raises ValueError for a host that is numeric but no valid address (``256.1.1.1``):
    browsers refuse those, and so does raqib.
    """
    labels = host.rstrip(".").split(".")
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None  # WHATWG: a host is an IPv4 address when its last label is a number
    if len(labels) > 4 or not all(_NUMERIC_LABEL.match(label) for label in labels):
        raise ValueError(f"{host!r} is neither a host name nor an IPv4 address")
    numbers = []
    for label in labels:
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            numbers.append(int(label, 8) if set(label) <= set("01234567") else -1)
        else:
            numbers.append(int(label))
    *parts, last = numbers
    if any(not 0 <= part <= 255 for part in parts) or not 0 <= last < 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    value = last
    for index, part in enumerate(parts):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host spells literally (IPv4 in any spelling, IPv6 with or without
    brackets and zone), or None for a host name. ValueError for a malformed numeric host."""
    host = host.strip().strip("[]")
    if ":" in host:
        return ipaddress.IPv6Address(host.split("%", 1)[0])
    return parse_ipv4_spelling(host)


class AddressPolicy:
    """Whether raqib may connect to an address: only globally routable unicast ones.

    `allow_private` (crawl.allow_private_addresses) lifts the policy; `test_public` is the
    test suite's list of loopback addresses to treat as public.
    """

    def __init__(self, allow_private: bool = False,
                 test_public: Iterable[IPAddress] = ()) -> None:
        self.allow_private = allow_private
        self.test_public = frozenset(test_public)

    @classmethod
    def from_environment(cls, allow_private: bool = False) -> AddressPolicy:
        """The policy with the test hook `RAQIB_TEST_PUBLIC_ADDRESSES` applied, if set."""
        listed = [item.strip() for item in os.environ.get(TEST_PUBLIC_ENV, "").split(",")]
        test_public = []
        for item in filter(None, listed):
            try:
                address = ipaddress.ip_address(item)
            except ValueError:
                address = None
            if address is None or not address.is_loopback:
                _announce(f"{TEST_PUBLIC_ENV}: {item!r} ignored: only loopback addresses can "
                          "stand in for public ones", logging.ERROR)
                continue
            test_public.append(address)
        if test_public:
            _announce(f"test hook {TEST_PUBLIC_ENV}: treating "
                      f"{', '.join(map(str, test_public))} as public addresses")
        return cls(allow_private, test_public)

    def allows(self, address: IPAddress | str) -> bool:
        """Whether a connection to this address is allowed."""
        if self.allow_private:
            return True
        if isinstance(address, str):
            try:
                address = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                return False
        return self._public(address)

    def _public(self, address: IPAddress) -> bool:
        if address in self.test_public:
            return True
        if address.version == 6:
            if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d reaches a.b.c.d
                return self._public(address.ipv4_mapped)
            if address in _NAT64:  # 64:ff9b::a.b.c.d is a.b.c.d behind a NAT64 gateway
                return self._public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            if address.sixtofour is not None:  # 2002:a.b.c.d::/48 is relayed to a.b.c.d
                return self._public(address.sixtofour)
        if not address.is_global or address.is_multicast:
            return False
        return not any(address in network for network in _NOT_PUBLIC
                       if network.version == address.version)

    def refuses_host(self, host: str) -> str | None:
        """Why a URL host is refused without a DNS lookup (a literal address or a local
        name), or None when only its resolved addresses can tell."""
        if self.allow_private:
            return None
        name = host.strip().lower().rstrip(".")
        if not name:
            return "no host"
        try:
            address = literal_address(name)
        except ValueError as exc:
            return str(exc)
        if address is not None:
            return None if self._public(address) else f"{address} is not a public address"
        if _LOCAL_NAMES.search(name):
            return f"{name} is a local host name"
        return None


def host_key(host: str) -> str:
    """One spelling of a host name for bookkeeping (lower case, IDNA, no trailing dot)."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


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


class ScriptedLookups:
    """Test-only answers for names under `.test` (`RAQIB_TEST_HOSTS`); others use getaddrinfo."""

    def __init__(self, script: dict[str, list[list[str] | None]]) -> None:
        self.script = script
        self.lookups: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> ScriptedLookups | None:
        raw = os.environ.get(TEST_HOSTS_ENV)
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            log.error("%s is not JSON: ignored", TEST_HOSTS_ENV)
            return None
        script: dict[str, list[list[str] | None]] = {}
        for name, answers in (data.items() if isinstance(data, dict) else ()):
            key = host_key(name)
            try:
                if not key.endswith(".test") or not isinstance(answers, list) or not answers:
                    raise ValueError("only names under .test, each with a list of answers")
                script[key] = [cls._answer(answer) for answer in answers]
            except ValueError as exc:
                _announce(f"{TEST_HOSTS_ENV}: {name!r} ignored: {exc}", logging.ERROR)
        _announce(f"test hook {TEST_HOSTS_ENV}: scripted lookups for {', '.join(script)}")
        return cls(script)

    @staticmethod
    def _answer(answer: Any) -> list[str] | None:
        if answer is None:
            return None
        addresses = [answer] if isinstance(answer, str) else list(answer)
        if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise ValueError(f"only loopback addresses can be answers, not {addresses}")
        return addresses

    def getaddrinfo(self, host: str, port: int, family: int = 0, socktype: int = 0,
                    proto: int = 0, flags: int = 0) -> list:
        """socket.getaddrinfo, with the scripted answer for a scripted name."""
        key = host_key(host)
        if key not in self.script:
            return socket.getaddrinfo(host, port, family, socktype, proto, flags)
        with self._lock:
            count = self.lookups.get(key, 0)
            self.lookups[key] = count + 1
        answers = self.script[key]
        answer = answers[min(count, len(answers) - 1)]
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        results = []
        for address in answer:
            ip = ipaddress.ip_address(address)
            af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            if family not in (0, socket.AF_UNSPEC, af):
                continue
            sockaddr = (address, port, 0, 0) if ip.version == 6 else (address, port)
            results.append((af, socktype or socket.SOCK_STREAM, proto or socket.IPPROTO_TCP,
                            "", sockaddr))
        return results


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
