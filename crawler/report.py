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
    status: str = "ok"  # ok | failed
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
