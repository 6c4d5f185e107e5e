"""Source health: when a source counts as failing or quiet, and when that is news.

`assess` and `transition` are pure functions of a source's run history and the time, tested
without a clock; `check_health` is the daemon's health job built on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import Config, HealthSettings, parse_duration
from storage.records import RunSummary
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthChange:
    """A source's health moved from one state to another: an alert or a recovery notice."""

    source: str
    old_state: str
    new_state: str
    problem: str | None

    @property
    def is_recovery(self) -> bool:
        return self.new_state == "ok"

    def subject(self, source_name: str) -> str:
        if self.is_recovery:
            return f"[raqib] recovered: {source_name} ({self.source})"
        return f"[raqib] source {self.new_state}: {source_name} ({self.source})"

    def text(self, source_name: str) -> str:
        if self.is_recovery:
            return (f"The source {source_name} ({self.source}) is healthy again after being "
                    f"{self.old_state}.\n")
        return (f"The source {source_name} ({self.source}) is {self.new_state}: {self.problem}.\n\n"
                f"raqib keeps crawling it on schedule; this alert is sent once, and a notice "
                f"follows when it recovers. `raqib sources list` and `raqib sources check "
                f"{self.source}` show more.\n")


def assess(summary: RunSummary, settings: HealthSettings, now: datetime) -> tuple[str, str | None]:
    """The state of a source (`ok`, `failing`, `quiet`) and the problem in words."""
    if summary.consecutive_failures >= settings.failures_in_a_row:
        return "failing", (f"{summary.consecutive_failures} crawls in a row {_how(summary)}"
                           + (f" (last: {summary.last_error})" if summary.last_error else ""))
    quiet_for = timedelta(seconds=parse_duration(settings.quiet_after))
    since = summary.last_new_article_at or summary.first_run_at
    if since is not None and summary.last_run_at is not None and now - since >= quiet_for:
        last = summary.last_new_article_at
        return "quiet", ("no new article since " + last.strftime("%Y-%m-%d %H:%M UTC") if last
                         else f"no article at all since its first crawl {since:%Y-%m-%d %H:%M UTC}")
    return "ok", None


def how_ended(failures: int, warnings: int) -> str:
    """How unhealthy crawls in a row ended: `failed`, `warnings` (all with warnings) or
    `mixed` (the web view words it by this key)."""
    return "failed" if not warnings else "warnings" if warnings == failures else "mixed"


_ENDED = {"failed": "failed", "warnings": "ended with warnings",
          "mixed": "failed or ended with warnings"}


def _how(summary: RunSummary) -> str:
    return _ENDED[how_ended(summary.consecutive_failures, summary.consecutive_warnings)]


def transition(source: str, previous: str | None, state: str,
               problem: str | None) -> HealthChange | None:
    """The change worth telling the operators about, or None (same state, or a first `ok`)."""
    previous = previous or "ok"
    if previous == state:
        return None
    return HealthChange(source, previous, state, problem)


def check_health(config: Config, repository: Repository, now: datetime) -> list[HealthChange]:
    """Alert the operators once when a source fails or goes quiet, and when it recovers.

    A change of state and its alerts (to `health.operators` and `health.channels`) are written
    in one transaction to the outbox, which sends them: a server that is down delays an alert,
    it never loses it.
    """
    from monitor.digest.alerts import operator_messages

    changes = []
    for source in config.sources:
        if not source.enabled:
            continue
        state, problem = assess(repository.runs.summary(source.id), config.settings.health, now)
        previous = repository.runs.health_state(source.id)
        change = transition(source.id, previous.state if previous else None, state, problem)
        if change is None:
            continue
        alerts = operator_messages(config, change.subject(source.name), change.text(source.name))
        repository.outbox.add(alerts, created_at=now, source_health=(source.id, state, problem))
        (log.info if change.is_recovery else log.warning)("%s", change.subject(source.name))
        changes.append(change)
    return changes
