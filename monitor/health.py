"""Source health: when a source counts as failing or quiet, and when that is news.

Pure functions of a source's run history and the time, so they are tested without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import HealthSettings, Schedule, parse_duration
from storage.records import RunSummary


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
        return "failing", (f"{summary.consecutive_failures} crawls in a row failed"
                           + (f" (last: {summary.last_error})" if summary.last_error else ""))
    quiet_for = timedelta(seconds=parse_duration(settings.quiet_after))
    since = summary.last_new_article_at or summary.first_run_at
    if since is not None and summary.last_run_at is not None and now - since >= quiet_for:
        last = summary.last_new_article_at
        return "quiet", ("no new article since " + last.strftime("%Y-%m-%d %H:%M UTC") if last
                         else f"no article at all since its first crawl {since:%Y-%m-%d %H:%M UTC}")
    return "ok", None


def transition(source: str, previous: str | None, state: str,
               problem: str | None) -> HealthChange | None:
    """The change worth telling the operators about, or None (same state, or a first `ok`)."""
    previous = previous or "ok"
    if previous == state:
        return None
    return HealthChange(source, previous, state, problem)


def first_run_delay(schedule: Schedule, last_started: datetime | None, now: datetime) -> float:
    """Seconds until a source's first crawl after a (re)start of the daemon.

    An interval source crawled recently waits out the rest of its interval, so that restarting
    the daemon neither crawls everything at once nor crawls a source twice in one interval.
    Cron schedules keep their own times (0 here means: let the trigger decide).
    """
    if schedule.seconds is None or last_started is None:
        return 0.0
    return max(0.0, (last_started - now).total_seconds() + schedule.seconds)
