"""monitor.schedule: when jobs run, with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config import Schedule
from monitor.schedule import first_run_delay, last_fire_time

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_first_run_after_restart_waits_out_the_interval():
    every_15m = Schedule(every="15m")
    assert first_run_delay(every_15m, None, NOW) == 0
    assert first_run_delay(every_15m, NOW - timedelta(minutes=5), NOW) == 600
    assert first_run_delay(every_15m, NOW - timedelta(hours=3), NOW) == 0  # one run, not a storm
    assert first_run_delay(Schedule(cron="*/15 * * * *"), NOW, NOW) == 0


def test_last_fire_time_of_cron_schedules():
    riyadh_7am_utc = datetime(2025, 5, 18, 4, 0, tzinfo=UTC)
    assert last_fire_time("0 7 * * *", "Asia/Riyadh", riyadh_7am_utc) == riyadh_7am_utc
    assert last_fire_time("0 7 * * *", "Asia/Riyadh", riyadh_7am_utc - timedelta(seconds=1)) \
        == riyadh_7am_utc - timedelta(days=1)
    assert last_fire_time("*/15 * * * *", "Asia/Riyadh",
                          datetime(2025, 5, 18, 10, 7, tzinfo=UTC)) \
        == datetime(2025, 5, 18, 10, 0, tzinfo=UTC)
    assert last_fire_time("0 7 1 * *", "Asia/Riyadh", riyadh_7am_utc) \
        == datetime(2025, 5, 1, 4, 0, tzinfo=UTC)
