"""Which network addresses raqib may connect to: the pure decision, without Scrapy or Twisted.

The crawl (crawler.netguard, inside Scrapy) and the daemon's poll gate (crawler.pollgate, a
plain socket client) both decide with `AddressPolicy`, on the address they actually connect
to, and both answer the test hooks below the same way.

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
from collections.abc import Iterable
from typing import Any

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
