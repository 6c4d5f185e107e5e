"""When things run: a schedule's trigger, a source's first crawl after a restart, a cron's last
firing. Pure functions of a schedule and the time, tested without a clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Schedule

_CRON_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=32), timedelta(days=400))


def trigger_for(schedule: Schedule, timezone: str, jitter: float) -> BaseTrigger:
    """The APScheduler trigger of a schedule (`every` or five-field `cron`)."""
    if schedule.seconds is not None:
        return IntervalTrigger(seconds=schedule.seconds, jitter=jitter or None, timezone="UTC")
    return CronTrigger.from_crontab(schedule.cron, timezone=timezone)


def first_run_delay(schedule: Schedule, last_started: datetime | None, now: datetime) -> float:
    """Seconds until a source's first crawl after a (re)start of the daemon.

    An interval source crawled recently waits out the rest of its interval, so that restarting
    the daemon neither crawls everything at once nor crawls a source twice in one interval.
    Cron schedules keep their own times (0 here means: let the trigger decide).
    """
    if schedule.seconds is None or last_started is None:
        return 0.0
    return max(0.0, (last_started - now).total_seconds() + schedule.seconds)


def last_fire_time(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The most recent time at or before `now` when a five-field cron schedule fired."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
    for window in _CRON_LOOKBACK:
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        # Walk forward within the window; it is short enough for per-minute schedules.
        while True:
            following = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if following is None or following > now:
                return fire
            fire = following
    return None
