"""Which stories go to whom: when a digest is due, which matches a recipient has not had,
and how they group into stories under the digest's rules.

When a digest is due: an `immediate` digest whenever something new matched; a cron digest when
its schedule has fired since the digest's last built message (a digest never built is due);
an `every` digest when that long has passed since its last built message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from monitor.config import Config, ConfigError, DigestSettings
from monitor.schedule import last_fire_time
from monitor.stories import Story, group_copies
from storage.records import StoredArticle
from storage.repository import Repository

NEW_RECIPIENT_LOOKBACK = timedelta(days=7)  # a new recipient gets last week, not all history
MAX_ARTICLES_PER_MESSAGE = 200  # a backlog goes out as several readable messages, not one huge


def chosen_digests(config: Config, digest_id: str | None) -> list[DigestSettings]:
    """Every configured digest, or the one named (ConfigError when there is none)."""
    digests = config.settings.digests
    if digest_id is None:
        return list(digests)
    chosen = [digest for digest in digests if digest.id == digest_id]
    if not chosen:
        known = ", ".join(d.id for d in digests) or "none"
        raise ConfigError(config.directory / "settings.yaml",
                          f"no digest '{digest_id}' (known: {known})")
    return chosen


def is_due(digest: DigestSettings, repository: Repository, now: datetime) -> bool:
    """Whether the digest should be built now (see the module docstring)."""
    schedule = digest.schedule
    if schedule == "immediate":
        return True
    built = repository.outbox.last_built_at(digest.id)
    if schedule.every:
        return built is None or (now - built).total_seconds() >= (schedule.seconds or 0)
    fired = last_fire_time(schedule.cron or "", digest.timezone, now)
    return fired is not None and (built is None or built < fired)


def unsent_matches(repository: Repository, digest: DigestSettings, recipient: str,
                   now: datetime) -> list[int]:
    """Ids of the articles of the recipient's next message (a first message: the last week)."""
    return repository.outbox.candidates(digest.id, recipient, digest.rules,
                                        new_recipient_since=now - NEW_RECIPIENT_LOOKBACK,
                                        limit=MAX_ARTICLES_PER_MESSAGE)


def group_stories(articles: Iterable[StoredArticle], rule_ids: list[str]) -> dict[str, list[Story]]:
    """Articles as stories under the first of `rule_ids` their lead matched, newest first.

    Near duplicates share `cluster` (the id of the story's first-stored article); the
    lowest id present leads, so the original report is linked first.
    """
    groups: dict[str, list[Story]] = {rule_id: [] for rule_id in rule_ids}
    for copies in group_copies(articles):
        rule_id = next((r for r in rule_ids if any(r in a.rules for a in copies)), None)
        if rule_id is None:
            continue
        lead = next(a for a in copies if rule_id in a.rules)
        groups[rule_id].append(Story(lead, [a for a in copies if a is not lead]))
    for stories in groups.values():
        stories.sort(key=lambda s: (s.lead.published_at or s.lead.fetched_at, s.lead.id),
                     reverse=True)
    return {rule_id: stories for rule_id, stories in groups.items() if stories}
