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


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of a URL: tracking parameters, fragment and default port dropped,
    host lower-cased, query sorted, path percent-encoding normalised."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        pass
    netloc = host
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%") or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(key)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), doseq=True), ""))


def site_of(url: str) -> str:
    """The host of a URL without a leading `www.`, for same-site checks."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def same_site(url: str, other: str) -> bool:
    """Whether two URLs belong to the same site (ignoring `www.`)."""
    return site_of(url) == site_of(other)
