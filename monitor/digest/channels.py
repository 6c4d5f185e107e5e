"""Chat channels through Apprise: Teams, Telegram, Slack, Discord, Matrix, ntfy, webhooks…

A channel is configured by the name of the environment variable that holds its Apprise URL
(`channels: [{url_env: RAQIB_TEAMS_URL}]`); the URL is read when a message is sent and
registered with monitor.redaction first, so that neither it nor its tokens reach a log line or
an error. Each outbox message is one Apprise notification, in the markup the service reads:
Telegram HTML where HTML is the service's own (Telegram), Markdown where the service reads
only Markdown (Teams workflows; an Arabic message there is an Adaptive Card with `rtl: true`),
plain text everywhere else (JSON and form webhooks, Slack, Discord, Matrix, ntfy).

A service that answers 4xx (but 408/425/429) refused the message: `ChannelError.refused`; one
that cannot be reached or answers 5xx is down: retried later.
"""

from __future__ import annotations

import logging
import os
import re
from importlib.resources import files
from urllib.parse import quote

from monitor.redaction import redact, register
from storage.records import OutboxEntry

log = logging.getLogger(__name__)

TEAMS_RTL_CARD = "teams_card_rtl.json"  # package data of monitor.digest
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")
_NOT_REFUSALS = {408, 425, 429}  # timeout, too early, too many requests: try again later


class ChannelError(Exception):
    """A channel could not be reached, or refused a message (`refused`); already redacted."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(redact(message))
        self.refused = refused


def channel_url(url_env: str) -> str:
    """The URL in `url_env`, registered as a secret; ChannelError when the variable is unset."""
    url = (os.environ.get(url_env) or "").strip()
    if not url:
        raise ChannelError(f"the environment variable {url_env} (the channel's URL) is not set")
    register(url)
    return url


def _rtl_card(url: str) -> str:
    """A Teams workflow URL that renders the message as a right-to-left Adaptive Card."""
    if "template=" in url:
        return url  # the operator's own card wins
    card = files("monitor.digest") / TEAMS_RTL_CARD
    return f"{url}{'&' if '?' in url else '?'}template={quote(str(card), safe='/')}"


class AppriseSender:
    """Delivers outbox messages to chat channels, one Apprise notification each."""

    def __init__(self, *, timeout: float = 30) -> None:
        import apprise

        self._apprise = apprise
        # Nothing on disk (some services cache tokens there), and a bound on each delivery.
        self.asset = apprise.AppriseAsset(app_id="raqib", app_desc="raqib news monitor",
                                          storage_mode="memory", service_timeout=timeout)

    def send(self, entry: OutboxEntry, *, language: str) -> None:
        """Notify the channel `entry.recipient` names; returns once the service accepted it."""
        apprise = self._apprise
        url_env = entry.recipient
        notifier = self._notifier(url_env, channel_url(url_env))
        service = notifier[0]
        if language == "ar" and _is_teams_workflow(service) and not len(service.template):
            # The same workflow (also when given as Teams' https URL), with a right-to-left card.
            notifier = self._notifier(url_env, _rtl_card(service.url(privacy=False)))
            service = notifier[0]
        body, body_format = _body_for(service, entry, apprise.NotifyFormat)
        try:
            result = notifier.notify(body=body, title=entry.subject, body_format=body_format)
        except Exception as exc:  # a fault inside a service's plugin must not stop the others
            raise ChannelError(f"channel {url_env} ({service.service_name}): Apprise failed: "
                               f"{exc.__class__.__name__}: {exc}") from None
        if result:
            log.info("sent %s to channel %s (%s)", entry.message_id, url_env, service.service_name)
            return
        said = [str(getattr(line, "message", line)) for line in result.logs()]
        codes = [int(code) for line in said for code in _HTTP_STATUS.findall(line)]
        code = codes[-1] if codes else None
        refused = code is not None and 400 <= code < 500 and code not in _NOT_REFUSALS
        answer = f"answered HTTP {code}" if code else "did not take the message"
        detail = f": {said[-1]}" if said else ""
        raise ChannelError(f"channel {url_env} ({service.service_name}) {answer}{detail}",
                           refused=refused)


    def _notifier(self, url_env: str, url: str):
        register(url)
        notifier = self._apprise.Apprise(asset=self.asset)
        if not notifier.add(url):
            raise ChannelError(f"{url_env} does not hold a URL Apprise understands "
                               "(see the README, Chat channels)")
        return notifier


def _is_teams_workflow(service) -> bool:
    return "workflow" in (getattr(service, "secure_protocol", None) or ())


def _body_for(service, entry: OutboxEntry, formats) -> tuple[str, str]:
    """The body in the markup the service reads best, and that markup's Apprise name."""
    accepted = service.notify_format
    accepted = tuple(accepted) if isinstance(accepted, tuple | list) else (accepted,)
    preferred = accepted[0]
    if preferred == formats.HTML and entry.body_html:
        return entry.body_html, formats.HTML
    if preferred == formats.MARKDOWN and formats.TEXT not in accepted and entry.body_markdown:
        return entry.body_markdown, formats.MARKDOWN
    return entry.body_text, formats.TEXT
