"""What crawling one source did: the typed result a crawl hands back to whoever started it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The counts every report shows (the crawl summary's columns); a report may hold more.
COUNTS = ("fetched", "new", "duplicate", "not_article", "failed", "flagged")


@dataclass
class SourceReport:
    """One source's crawl: `ok` or `failed` (with why), its counts and how long it took."""

    source: str
    status: str = "ok"  # ok | warning (ran, but gave nothing to store) | failed | interrupted
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceReport:
        return cls(source=str(data["source"]), status=str(data["status"]),
                   counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
                   error=data.get("error"), seconds=float(data.get("seconds") or 0.0))


def warning_for(counts: dict[str, int]) -> str | None:
    """Why a crawl whose discovery pages answered still gave nothing to store, or None: no
    article link at all, or every article failed. Such a run is a `warning`, not `ok`."""
    looked_at = sum(counts.get(key, 0) for key in
                    ("fetched", "failed", "skipped_known", "over_budget", "ignored"))
    if counts.get("discovery_ok") and not counts.get("not_modified") and not looked_at:
        offsite = counts.get("offsite", 0)
        return ("its feeds, sitemaps and listings answered but gave no article link"
                + (f" ({offsite} link(s) to other sites)" if offsite else "")
                + ": check the addresses, the listing selectors and allow/deny")
    failed = counts.get("failed", 0)
    if failed and not any(counts.get(key) for key in ("new", "duplicate", "not_article")):
        return f"every article failed ({failed}): `raqib -v crawl` shows why"
    return None
