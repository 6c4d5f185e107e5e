"""URL canonicalisation: one spelling per article address, so that a URL is stored once."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that track the reader, never select the content.
_TRACKING = re.compile(
    r"^(utm_[a-z_]*|fbclid|gclid|dclid|gclsrc|msclkid|yclid|igshid|mc_cid|mc_eid|_ga|_gl|"
    r"ref_src|ref_url|cmpid|ocid|s_cid|at_medium|at_campaign)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A percent sign that stands for itself: "%25", or one not followed by two hex digits.
_BAD_HOST = re.compile(r"[\[\]@/\\?#\s\x00-\x1f\x7f]")
_LITERAL_PERCENT = re.compile(r"%(?:25|(?![0-9A-Fa-f]{2}))", re.IGNORECASE)


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of a URL: tracking parameters, fragment, credentials and default port
    dropped, host lower-cased, query sorted, path percent-encoding normalised.

    ValueError for what cannot be a URL (a bad port, an unclosed IPv6 bracket); canonical
    twice is canonical once."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        pass
    if _BAD_HOST.search(host):
        raise ValueError(f"invalid host in URL {url[:100]!r}")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{parts.port}"
    path = re.sub(r"/{2,}", "/", _normal_path(parts.path)) or "/"
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(key)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), doseq=True), ""))


def _normal_path(path: str) -> str:
    """The path with every escape decoded but a literal "%" (kept as "%25"), then re-encoded:
    one spelling per path, and the same spelling when normalised again."""
    decoded = "%25".join(unquote(piece) for piece in _LITERAL_PERCENT.split(path))
    return quote(decoded, safe="/:@!$&'()*+,;=-._~%")


def site_of(url: str) -> str:
    """The host of a URL without a leading `www.`, for same-site checks."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def same_site(url: str, other: str) -> bool:
    """Whether two URLs belong to the same site (ignoring `www.`)."""
    return site_of(url) == site_of(other)
