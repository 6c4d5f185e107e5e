"""Volume alerts: a rule's day is unusual — "seven stories today where one a day is usual".

For each digest and each of its rules: the stories the rule matched today (in the digest's
time zone), against the daily mean of the `baseline_days` days before. Today is unusual when
it has at least `min_stories` stories and at least `factor` times the mean — so a rule that
normally matches nothing and suddenly matches five stories counts. One alert a day per rule and
recipient (the outbox's unique `alert_key`), to the digest's e-mail recipients and channels,
with the day's top stories (the most widely reported first).

A story is counted once, on the day of its earliest copy; an article's day is its publication
date, else the day raqib flagged it — so a backlog of old news found today does not count as
today's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config import Config, DigestSettings, VolumeAlertSettings
from monitor.digest.chat import ChatStyle, Span, chat_message, summary_lines
from monitor.digest.render import rule_display_names, story_count
from monitor.digest.send import new_message_id
from monitor.stories import Story, group_copies
from storage.records import NewMessage, OutboxEntry, RuleHit
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VolumeSpike:
    """A rule's unusual day in one digest's time zone."""

    digest_id: str
    rule_id: str
    day: date
    stories: int  # today
    mean: float  # a day, over the baseline days before
    story_ids: tuple[int, ...]  # today's stories (their first article's id)


def daily_stories(hits: Iterable[RuleHit], zone: ZoneInfo) -> dict[date, set[int]]:
    """Story ids by local day, each story on the day of its earliest copy."""
    first: dict[int, datetime] = {}
    for hit in hits:
        if hit.story not in first or hit.at < first[hit.story]:
            first[hit.story] = hit.at
    days: dict[date, set[int]] = {}
    for story, moment in first.items():
        days.setdefault(moment.astimezone(zone).date(), set()).add(story)
    return days


def is_unusual(today: int, mean: float, settings: VolumeAlertSettings) -> bool:
    """At least `min_stories` today, and at least `factor` times the daily mean."""
    return today >= settings.min_stories and today >= settings.factor * mean


def find_spikes(config: Config, repository: Repository, now: datetime) -> list[VolumeSpike]:
    """The digests' rules whose day, so far, is unusual."""
    settings = config.settings.volume_alerts
    spikes = []
    counted: dict[tuple[str, str], dict[date, set[int]]] = {}  # digests share rules and zones
    for digest in config.settings.digests:
        zone = ZoneInfo(digest.timezone)
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=settings.baseline_days)
        # A week more, so that a story's earlier copies (near duplicates) date it.
        since = datetime.combine(first_day - timedelta(days=7), time(), zone)
        for rule_id in digest.rules:
            if (rule_id, digest.timezone) not in counted:
                counted[rule_id, digest.timezone] = daily_stories(
                    repository.articles.rule_hits(rule_id, since), zone)
            days = counted[rule_id, digest.timezone]
            todays = days.get(today, set())
            baseline = sum(len(days.get(first_day + timedelta(days=n), ()))
                           for n in range(settings.baseline_days))
            mean = baseline / settings.baseline_days
            if is_unusual(len(todays), mean, settings):
                spikes.append(VolumeSpike(digest.id, rule_id, today, len(todays), mean,
                                          tuple(sorted(todays))))
    return spikes


def queue_volume_alerts(config: Config, repository: Repository,
                        now: datetime) -> list[OutboxEntry]:
    """Queue an alert for each unusual rule not yet alerted today; returns those queued."""
    if not config.settings.volume_alerts.enabled:
        return []
    digests = {digest.id: digest for digest in config.settings.digests}
    queued = []
    for spike in find_spikes(config, repository, now):
        digest = digests[spike.digest_id]
        messages = volume_messages(config, repository, digest, spike)
        entries = repository.outbox.add(messages, created_at=now)
        if entries:
            log.warning("volume alert: rule %s has %d stories today (%s; mean %.1f a day), "
                        "told %d recipient(s)", spike.rule_id, spike.stories, spike.day,
                        spike.mean, len(entries))
        queued += entries
    return queued


def _top_stories(repository: Repository, spike: VolumeSpike, limit: int) -> list[Story]:
    articles = repository.articles.find(stories=spike.story_ids, limit=None)
    stories = []
    for copies in group_copies(articles):
        lead = next((a for a in copies if spike.rule_id in a.rules), copies[0])
        stories.append(Story(lead, [a for a in copies if a is not lead]))
    stories.sort(key=lambda s: (len(s.articles), s.lead.published_at or s.lead.fetched_at),
                 reverse=True)
    return stories[:limit]


def volume_messages(config: Config, repository: Repository, digest: DigestSettings,
                    spike: VolumeSpike) -> list[NewMessage]:
    """The alert for each e-mail recipient and channel of the digest."""
    settings = config.settings
    language = digest.language
    rule_name = rule_display_names(config.rules, language).get(spike.rule_id, spike.rule_id)
    style = ChatStyle(digest, {s.id: s for s in config.sources}, {})
    top = _top_stories(repository, spike, settings.volume_alerts.top_stories)
    days = settings.volume_alerts.baseline_days
    if language == "ar":
        subject = f"نشاط غير معتاد: {story_count(spike.stories, 'ar')} اليوم عن «{rule_name}»"
        usual = f"المعدل في الأيام الـ{days} السابقة: {spike.mean:.1f} في اليوم."
        heading = "أبرز الأخبار:"
    else:
        subject = (f"Unusual activity: {story_count(spike.stories, 'en')} today on "
                   f"“{rule_name}”")
        usual = f"The previous {days} days had {spike.mean:.1f} a day."
        heading = "Top stories:"
    message = chat_message(subject, [[Span(usual)], [Span(heading, bold=True)],
                                     *summary_lines(style, top)])
    key = f"volume:{spike.rule_id}:{spike.day.isoformat()}"
    messages = [NewMessage(digest.id, address,
                           new_message_id(settings.smtp.from_, f"volume.{spike.rule_id}"),
                           subject, message.text, kind="volume", stories=spike.stories,
                           alert_key=f"{key}:email:{address}"[:255])
                for address in digest.recipients]
    messages += [NewMessage(digest.id, channel.url_env,
                            new_message_id(settings.smtp.from_, f"volume.{spike.rule_id}"),
                            subject, message.text, html=message.html, markdown=message.markdown,
                            kind="volume", channel="apprise", stories=spike.stories,
                            alert_key=f"{key}:apprise:{channel.url_env}"[:255])
                 for channel in digest.channels]
    return messages
