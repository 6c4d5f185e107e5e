"""Volume alerts with a controlled clock: today against the mean of the 14 days before, in the
digest's time zone, once a day per rule, to the digest's channels and e-mail recipients."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import Config, VolumeAlertSettings
from monitor.digest.run import send_pending
from monitor.digest.volume import daily_stories, find_spikes, is_unusual, queue_volume_alerts
from storage.records import RuleHit
from storage.repository import Repository
from tests.test_channels import channel_config, outbox
from tests.test_digests import add

pytest_plugins = ["tests.conftest_smtp", "tests.conftest_webhook"]

RIYADH = ZoneInfo("Asia/Riyadh")
NOW = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)  # 15:00 in Riyadh
TODAY = date(2025, 5, 20)


@pytest.fixture
def config(tmp_path) -> Config:
    return channel_config(tmp_path)


@pytest.fixture
def repo(database_url: str) -> Repository:
    repository = Repository(database_url)
    yield repository
    repository.close()


def egov_only(config: Config, **volume) -> Config:
    digests = [d for d in config.settings.digests if d.id == "busy"]
    settings = config.settings.model_copy(update={
        "digests": digests,
        "volume_alerts": VolumeAlertSettings(**volume) if volume else VolumeAlertSettings()})
    return Config(config.directory, config.sources, config.rules, settings)


def meeting(repo: Repository, config: Config, number: int, published: datetime | None,
            source: str = "spa", cluster: int | None = None) -> int:
    return add(repo, config, source, f"اجتماع اللجنة الوزارية للحكومة الإلكترونية رقم {number}",
               f"عقدت اللجنة الوزارية للحكومة الإلكترونية اجتماعها رقم {number}.",
               published_at=published, url=f"https://{source}.example/news/{number}",
               cluster=cluster)


def test_a_story_counts_once_on_the_day_of_its_first_copy():
    at = datetime(2025, 5, 19, 22, 30, tzinfo=UTC)  # 01:30 on the 20th in Riyadh
    hits = [RuleHit(1, 1, at), RuleHit(2, 1, at + timedelta(days=1)),
            RuleHit(3, 3, datetime(2025, 5, 19, 20, 0, tzinfo=UTC))]
    assert daily_stories(hits, RIYADH) == {date(2025, 5, 20): {1}, date(2025, 5, 19): {3}}


@pytest.mark.parametrize(("today", "mean", "unusual"), [
    (5, 0.0, True),   # a rule that normally matches nothing suddenly matches five
    (4, 0.0, False),  # … but four is not enough
    (9, 3.0, True), (8, 3.0, False),  # three times the usual
    (30, 12.0, False),
])
def test_unusual_is_at_least_k_times_the_mean_and_at_least_m(today, mean, unusual):
    assert is_unusual(today, mean, VolumeAlertSettings(factor=3, min_stories=5)) is unusual


def test_a_quiet_rule_that_suddenly_matches_five_stories_alerts_once_a_day(
        config, repo, webhook, smtp_server, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hook"))
    config = egov_only(config)
    config = Config(config.directory, config.sources, config.rules,
                    config.settings.model_copy(update={"smtp": smtp_server.settings()}))
    for number in range(4):
        meeting(repo, config, number, NOW - timedelta(hours=number + 1))
    assert find_spikes(config, repo, NOW) == []  # four is not five
    fifth = meeting(repo, config, 4, NOW - timedelta(hours=6))
    copy = meeting(repo, config, 5, NOW - timedelta(hours=5), source="okaz", cluster=fifth)

    [spike] = find_spikes(config, repo, NOW)
    assert (spike.rule_id, spike.day, spike.stories, spike.mean) == (
        "gcc-egov-committee", TODAY, 5, 0.0)  # the copy is the same story
    queued = queue_volume_alerts(config, repo, NOW)
    assert sorted((m.recipient, m.kind) for m in queued) == [
        ("RAQIB_TEST_HOOK", "volume"), ("analyst@example.org", "volume")]
    assert queue_volume_alerts(config, repo, NOW + timedelta(hours=3)) == []  # once a day
    meeting(repo, config, 6, NOW + timedelta(hours=1))
    assert queue_volume_alerts(config, repo, NOW + timedelta(hours=2)) == []  # still today
    assert [r.status for r in send_pending(config, repo)] == ["sent", "sent"]

    [alert] = [r.json for r in webhook.received]
    assert alert["title"] == "نشاط غير معتاد: 5 أخبار اليوم عن «لجان الحكومة الإلكترونية الخليجية»"
    lines = alert["message"].splitlines()
    assert lines[0] == "المعدل في الأيام الـ14 السابقة: 0.0 في اليوم."
    assert lines[2].startswith("• اجتماع اللجنة الوزارية للحكومة الإلكترونية رقم 4 — واس")
    assert lines[3] == "https://spa.example/news/4"  # the most widely reported story first
    [mail] = smtp_server.messages
    assert mail["Subject"] == alert["title"] and "https://spa.example/news/4" in mail.get_content()
    assert copy  # stored as a copy of the fifth story

    # The next day in Riyadh (21:00 UTC is midnight there): a new day, a new count.
    tomorrow = datetime(2025, 5, 20, 21, 30, tzinfo=UTC)
    assert find_spikes(config, repo, tomorrow) == []


def test_today_must_be_k_times_the_usual_day(config, repo, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", "json://127.0.0.1:9/unused")
    config = egov_only(config, factor=3, min_stories=5)
    number = 0
    for days_ago in range(1, 15):  # two stories a day for the 14 days before
        for _ in range(2):
            meeting(repo, config, number, NOW - timedelta(days=days_ago))
            number += 1
    for hours in range(5):  # five today: not three times two
        meeting(repo, config, number, NOW - timedelta(hours=hours))
        number += 1
    assert find_spikes(config, repo, NOW) == []
    meeting(repo, config, number, NOW - timedelta(minutes=5))  # six: three times two
    [spike] = find_spikes(config, repo, NOW)
    assert (spike.stories, spike.mean) == (6, 2.0)


def test_old_news_found_today_is_not_todays_volume(config, repo):
    config = egov_only(config)
    for number in range(8):  # a new source's archive, crawled today
        meeting(repo, config, number, datetime(2024, 3, 1 + number, 9, 0, tzinfo=UTC))
    for number in range(8, 12):  # and undated pages: they count when flagged
        meeting(repo, config, number, None)
    assert find_spikes(config, repo, datetime.now(UTC)) == []


def test_the_outbox_job_queues_and_sends_volume_alerts(config, repo, webhook, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hook"))
    config = egov_only(config)
    config = Config(config.directory, config.sources, config.rules,
                    config.settings.model_copy(update={
                        "digests": [config.settings.digests[0].model_copy(
                            update={"recipients": []})]}))
    now = datetime.now(UTC)
    for number in range(6):
        meeting(repo, config, number, now - timedelta(minutes=number))
    reports = outbox(config, repo, now)
    assert sorted(r.subject.split(":")[0] for r in reports) == [
        "موجز الحكومة الإلكترونية", "نشاط غير معتاد"]  # the digest summary and the alert
    assert all(r.status == "sent" for r in reports)
    assert outbox(config, repo, now + timedelta(minutes=1)) == []
    assert len(webhook.received) == 2


def test_volume_alerts_can_be_switched_off(config, repo):
    config = egov_only(config, enabled=False)
    for number in range(6):
        meeting(repo, config, number, NOW - timedelta(minutes=number))
    assert find_spikes(config, repo, NOW) != []
    assert queue_volume_alerts(config, repo, NOW) == []
