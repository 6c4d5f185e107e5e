"""The address policy, the resolver's filtering and the middlewares, without a network.

(The same machinery against a live loopback web: test_crawl_attacks.py.)
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Request
from twisted.internet.address import IPv4Address, IPv6Address

from crawler import netguard
from crawler.netguard import (
    AddressGuardMiddleware,
    AddressPolicy,
    GuardedResolver,
    RefusedAddressMiddleware,
    ScriptedLookups,
    parse_ipv4_spelling,
)

NOT_PUBLIC = [
    "100.100.100.200", "100.64.0.1", "100.127.255.254",       # carrier-grade NAT, cloud metadata
    "169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.255.255.254",
    "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
    "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:100.100.100.200",
    "::127.0.0.1", "::a9fe:a9fe",                               # IPv4-compatible (deprecated)
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:6464:64c8::",  # 6to4 of internal addresses
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::6464:64c8",  # NAT64 of internal ones
    "64:ff9b:1::a9fe:a9fe",                                     # local-use NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1",         # Teredo
    "2001:db8::1", "fe80::1", "fc00::1", "fd00:ec2::254", "fec0::1", "ff02::1", "ff0e::1",
    "100::1", "3fff::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "185.199.108.153", "2606:4700::1111", "2a00:1450:4001::1",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_every_address_that_is_not_globally_routable_is_refused(address):
    assert not AddressPolicy().allows(address)
    assert AddressPolicy(allow_private=True).allows(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert AddressPolicy().allows(address)


@pytest.mark.parametrize(("spelling", "address"), [
    ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("017700000001", "127.0.0.1"),
    ("0x7f.0.0.0x1", "127.0.0.1"), ("127.0.0.1.", "127.0.0.1"), ("0", "0.0.0.0"),
    ("169.254.43518", "169.254.169.254"), ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("1681915904", "100.64.0.0"), ("8.8.8.8", "8.8.8.8"),
])
def test_odd_ipv4_spellings_are_read_as_the_address_they_reach(spelling, address):
    assert parse_ipv4_spelling(spelling) == ipaddress.IPv4Address(address)
    if not spelling.endswith("."):  # the C library agrees (it is what getaddrinfo uses)
        assert socket.inet_aton(spelling) == ipaddress.IPv4Address(address).packed


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "08.0.0.1", "0x100000000",
                                  "example.1", "1.2.3.256"])
def test_numeric_hosts_that_are_no_address_are_refused(host):
    with pytest.raises(ValueError):
        parse_ipv4_spelling(host)
    assert AddressPolicy().refuses_host(host)


@pytest.mark.parametrize("host", ["example.sa", "1.example", "spa.gov.sa", "xn--mgbh0fb.sa"])
def test_names_are_left_to_the_resolver(host):
    assert parse_ipv4_spelling(host) is None
    assert AddressPolicy().refuses_host(host) is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "foo.localhost", "printer.local",
                                  "metadata.google.internal", "router.home.arpa",
                                  "ip6-localhost", "::1", "[::ffff:127.0.0.1]", "127.1",
                                  "2130706433", "[fe80::1%25eth0]", ""])
def test_local_names_and_literal_internal_hosts_are_refused_before_any_lookup(host):
    assert AddressPolicy().refuses_host(host)
    assert AddressPolicy(allow_private=True).refuses_host(host) is None


def test_the_test_hook_makes_only_loopback_addresses_public(monkeypatch):
    monkeypatch.setenv(netguard.TEST_PUBLIC_ENV, "127.0.0.2, ::1, 10.0.0.1, 100.100.100.200, x")
    policy = AddressPolicy.from_environment()
    assert policy.allows("127.0.0.2") and policy.allows("::1")
    assert not policy.allows("127.0.0.1")
    assert not policy.allows("10.0.0.1") and not policy.allows("100.100.100.200")
    monkeypatch.delenv(netguard.TEST_PUBLIC_ENV)
    assert not AddressPolicy.from_environment().allows("127.0.0.2")


# --- the resolver ---------------------------------------------------------------------------


class _Receiver:
    def __init__(self):
        self.began = self.complete = False
        self.addresses = []

    def resolutionBegan(self, resolution):  # noqa: N802
        self.began = True

    def addressResolved(self, address):  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self):  # noqa: N802
        self.complete = True


class _Answers:
    """A wrapped resolver that answers each lookup with the next list of addresses."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def resolveHostName(self, receiver, name, port=0, types=None, semantics="TCP"):  # noqa: N802
        receiver.resolutionBegan(object())
        for address in self.answers.pop(0):
            kind = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(kind("TCP", address, port))
        receiver.resolutionComplete()


def _guard(*answers, policy=None) -> GuardedResolver:
    guard = GuardedResolver(reactor=None, policy=policy or AddressPolicy())
    guard._wrapped = _Answers(*answers)
    return guard


def _resolve(guard, name="news.example.sa") -> _Receiver:
    receiver = _Receiver()
    guard.resolveHostName(receiver, name, 443)
    assert receiver.began and receiver.complete
    return receiver


def test_the_connection_only_ever_sees_public_addresses():
    guard = _guard(["8.8.8.8"], ["100.100.100.200"], ["8.8.4.4", "169.254.169.254"],
                   [], ["::ffff:127.0.0.1", "2606:4700::1111"])
    assert _resolve(guard).addresses == ["8.8.8.8"]
    assert guard.refusal("news.example.sa") is None
    # Rebinding: the same name, now inside: nothing to connect to, and the reason is known.
    assert _resolve(guard).addresses == []
    assert guard.refusal("NEWS.example.sa.") == ("100.100.100.200",)
    # Mixed answers: only the public one is handed on.
    assert _resolve(guard).addresses == ["8.8.4.4"]
    assert guard.refusal("news.example.sa") is None
    # A failed lookup is neither "public" nor "refused": it is a failed lookup.
    assert _resolve(guard).addresses == []
    assert guard.refusal("news.example.sa") is None
    assert _resolve(guard).addresses == ["2606:4700::1111"]


def test_allow_private_lets_every_address_through():
    guard = _guard(["127.0.0.1", "10.1.2.3"], policy=AddressPolicy(allow_private=True))
    assert _resolve(guard).addresses == ["127.0.0.1", "10.1.2.3"]


def test_install_wraps_the_reactors_resolver_once():
    class Reactor:
        nameResolver = "the reactor's getaddrinfo resolver"

        def installNameResolver(self, resolver):  # noqa: N802
            self.nameResolver = resolver

    reactor = Reactor()
    first = GuardedResolver(reactor, AddressPolicy())
    first.install_on_reactor()
    second = GuardedResolver(reactor, AddressPolicy())
    second.install_on_reactor()
    assert reactor.nameResolver is second
    assert second._wrapped == "the reactor's getaddrinfo resolver"


def test_scripted_lookups_answer_in_turn_and_only_for_test_names(monkeypatch):
    monkeypatch.setenv(netguard.TEST_HOSTS_ENV, '{"rebind.test": ["127.0.0.2", null, '
                                                '["127.0.0.1", "::1"]], "example.sa": ["127.0.0.1"]}')
    script = ScriptedLookups.from_environment()
    assert set(script.script) == {"rebind.test"}

    def lookup():
        return [info[4][0] for info in script.getaddrinfo("rebind.test", 80)]

    assert lookup() == ["127.0.0.2"]
    with pytest.raises(socket.gaierror):
        lookup()
    assert lookup() == ["127.0.0.1", "::1"]
    assert lookup() == ["127.0.0.1", "::1"]  # the last answer repeats
    # Only loopback answers: a scripted name never leads a test off this machine.
    monkeypatch.setenv(netguard.TEST_HOSTS_ENV, '{"evil.test": ["10.0.0.1"], "ok.test": ["::1"]}')
    assert set(ScriptedLookups.from_environment().script) == {"ok.test"}


# --- the middlewares --------------------------------------------------------------------------


class _Stats:
    def __init__(self):
        self.values = {}

    def inc_value(self, key, count=1):
        self.values[key] = self.values.get(key, 0) + count


class _Crawler:
    def __init__(self):
        self.stats = _Stats()
        self.signals = type("Signals", (), {"connect": lambda *args, **kwargs: None})()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.sa/x", "gopher://x/",
                                 "http://127.1/", "http://[::ffff:127.0.0.1]:8080/",
                                 "http://localhost./", "http://2130706433/",
                                 "http://100.100.100.200/latest/meta-data/"])
def test_the_middleware_refuses_what_needs_no_lookup(url):
    middleware = AddressGuardMiddleware(_Crawler(), AddressPolicy())
    middleware._guard_checked = True
    with pytest.raises(IgnoreRequest, match="private"):
        middleware.process_request(Request(url))
    assert middleware.crawler.stats.values == {"raqib/refused_private": 1}


def test_the_middleware_fails_closed_without_the_resolver(monkeypatch):
    monkeypatch.setattr(netguard, "installed_guard", lambda: None)  # Scrapy's own resolver
    middleware = AddressGuardMiddleware(_Crawler(), AddressPolicy())
    middleware._check_guard()
    with pytest.raises(IgnoreRequest, match="address guard is not installed"):
        middleware.process_request(Request("http://example.sa/"))
    middleware._guard_checked = True
    assert middleware.process_request(Request("http://example.sa/")) is None


def test_a_refused_lookup_becomes_an_explained_refusal_not_a_retry(monkeypatch):
    guard = _guard(["10.0.0.7"])
    _resolve(guard, "intranet.example.sa")
    monkeypatch.setattr(netguard, "installed_guard", lambda: guard)
    middleware = RefusedAddressMiddleware(_Crawler())
    request = Request("http://intranet.example.sa/news")
    with pytest.raises(IgnoreRequest, match="intranet.example.sa resolves to 10.0.0.7"):
        middleware.process_exception(request, CannotResolveHostError("no results"))
    # Any other failure, or a lookup that simply failed, is left to the retry middleware.
    assert middleware.process_exception(Request("http://other.example.sa/"),
                                        CannotResolveHostError("no results")) is None
    assert middleware.process_exception(request, TimeoutError()) is None
