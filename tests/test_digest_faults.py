"""Fault injection for digests: `raqib digest send` killed (SIGKILL, monitor.faults) between
building and sending, after claiming, after the server accepted; two senders at once; SMTP and
webhook outages — then the messages each recipient got are counted, on SQLite and PostgreSQL.

Exactly once everywhere, but in the one window the README documents: killed after the service
accepted a message and before raqib recorded it, the message goes out once more (an e-mail
with the same Message-ID).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from monitor.config import load_config
from storage.repository import Repository
from tests.conftest import ROOT, CliResult, run_cli
from tests.test_digests import RULES, SOURCES, SPA_TEXT, add, add_story

pytest_plugins = ["tests.conftest_smtp", "tests.conftest_webhook"]

RECIPIENTS = ["a1@example.org", "a2@example.org", "a3@example.org"]
HOOK = "RAQIB_FAULT_HOOK"
SETTINGS = """
database_url: {database}
smtp: {{host: 127.0.0.1, port: {smtp}, starttls: false, from: "رقيب <raqib@example.org>"}}
digests:
  - id: egov
    name: نشرة الحكومة الإلكترونية
    rules: [gcc-egov-committee, egov-events]
    recipients: [a1@example.org, a2@example.org, a3@example.org]
    channels: [{{url_env: RAQIB_FAULT_HOOK}}]
    schedule: immediate
outbox: {{claim_timeout: {claim_timeout}, first_retry: 1s}}
volume_alerts: {{enabled: false}}
"""


class Setup:
    """A configuration, a database with three flagged stories, and the two receivers."""

    def __init__(self, tmp_path: Path, database_url: str, smtp, webhook,
                 claim_timeout: str = "2s") -> None:
        self.directory = tmp_path / "config"
        self.directory.mkdir()
        (self.directory / "sources.yaml").write_text(SOURCES, encoding="utf-8")
        (self.directory / "rules.yaml").write_text(RULES, encoding="utf-8")
        (self.directory / "settings.yaml").write_text(
            SETTINGS.format(database=database_url, smtp=smtp.port, claim_timeout=claim_timeout),
            encoding="utf-8")
        self.smtp, self.webhook = smtp, webhook
        self.env = {HOOK: webhook.url("json", "/hook")}
        self.repo = Repository(database_url)
        config = load_config(self.directory)
        self.articles = sorted([
            *add_story(self.repo, config),
            add(self.repo, config, "bna", "البحرين تستضيف ملتقى الحكومة الإلكترونية الخليجي",
                "المنامة: تستضيف المملكة ملتقى الحكومة الإلكترونية."),
            add(self.repo, config, "wam", "ورشة عمل خليجية عن الخدمات الرقمية",
                f"أبوظبي: نظمت الهيئة ورشة عمل. {SPA_TEXT}")])

    def send(self, fault: str | None = None) -> CliResult:
        env = {**self.env, **({"RAQIB_FAULT": fault} if fault else {})}
        return run_cli("digest", "send", config_dir=self.directory, env=env)

    def start_sending(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(self.directory),
             "digest", "send"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "PYTHONPATH": str(ROOT), **self.env})

    def received(self) -> dict[str, Counter]:
        """Message-IDs each e-mail recipient got, and the channel's messages (by text)."""
        got: dict[str, Counter] = {address: Counter() for address in RECIPIENTS}
        for message in self.smtp.messages:
            got[message["To"]][message["Message-ID"].strip()] += 1
        got[HOOK] = Counter(request.json["message"] for request in self.webhook.received)
        return got

    def tally(self) -> tuple[int, int, dict[str, int]]:
        """(messages expected, messages lost, copies beyond the first per recipient).

        Expected: every outbox message once per recipient, and every article in some message
        to every recipient. Lost: a message never received, or an article in no message.
        """
        messages = self.repo.outbox.messages()
        got = self.received()
        lost, duplicated = 0, {}
        for recipient in [*RECIPIENTS, HOOK]:
            lost += len(set(self.articles) - set(self.repo.outbox.article_ids("egov", recipient)))
            mine = [m for m in messages if m.recipient == recipient]
            expected = Counter(m.message_id if recipient != HOOK else m.body_text for m in mine)
            lost += sum((expected - got[recipient]).values())
            extra = sum((got[recipient] - expected).values())
            if extra:
                duplicated[recipient] = extra
        lost += sum(1 for m in messages if m.status != "sent")
        return len(messages), lost, duplicated

    def check(self, *, duplicated: str | None = None) -> None:
        """Every message sent, each recipient had every article once, nothing twice (but
        `duplicated`: one recipient may have had one message twice, the same message)."""
        _expected, lost, extra = self.tally()
        assert lost == 0
        assert extra == ({duplicated: 1} if duplicated else {}), extra


@pytest.fixture
def setup(request, tmp_path, database_url, smtp_server, webhook) -> Setup:
    marker = request.node.get_closest_marker("claim_timeout")
    made = Setup(tmp_path, database_url, smtp_server, webhook,
                 *(marker.args if marker else ()))
    yield made
    made.repo.close()


def test_killed_between_building_and_sending(setup):
    killed = setup.send("digest:after-build")
    assert killed.returncode == -signal.SIGKILL
    [built] = setup.repo.outbox.messages()  # the first recipient's, built and committed
    assert (built.recipient, built.status) == ("a1@example.org", "pending")
    assert setup.smtp.messages == []

    again = setup.send()
    assert again.returncode == 0, again.stderr
    setup.check()


@pytest.mark.claim_timeout("10s")  # longer than a CLI run on a loaded machine
def test_killed_after_claiming_a_message(setup):
    killed = setup.send("digest:after-claim")
    assert killed.returncode == -signal.SIGKILL
    [claimed] = setup.repo.outbox.messages()
    killed_at = time.monotonic()

    at_once = setup.send()  # the dead sender's claim still holds: everything else goes out
    assert at_once.returncode == 0, at_once.stderr
    assert [m.status for m in setup.repo.outbox.messages() if m.id == claimed.id] == ["pending"]
    assert " skipped " in at_once.stdout
    assert claimed.message_id not in setup.received()["a1@example.org"]

    # outbox.claim_timeout: the claim of a dead sender lapses.
    time.sleep(max(0.0, 10.5 - (time.monotonic() - killed_at)))
    later = setup.send()
    assert later.returncode == 0, later.stderr
    setup.check()


@pytest.mark.parametrize(("passes", "duplicated"), [(1, "a1@example.org"), (4, HOOK)])
def test_killed_after_the_service_accepted(setup, passes, duplicated):
    killed = setup.send(f"digest:after-send:{passes}")
    assert killed.returncode == -signal.SIGKILL

    time.sleep(2.5)
    again = setup.send()
    assert again.returncode == 0, again.stderr
    # The documented window: sent again, as the same message (same Message-ID for e-mail).
    setup.check(duplicated=duplicated)


def test_two_senders_at_once_send_each_message_once(setup):
    setup.smtp.handler.delay = 0.3
    setup.webhook.delay = 0.3
    first, second = setup.start_sending(), setup.start_sending()
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    setup.check()


def test_outages_with_recovery(setup):
    setup.smtp.stop()
    setup.webhook.stop()
    down = setup.send()
    assert down.returncode == 1
    assert "not sent (queued for the next run)" in down.stderr
    assert {m.status for m in setup.repo.outbox.messages()} == {"pending"}

    setup.smtp.start()
    setup.webhook.start()
    up = setup.send()
    assert up.returncode == 0, up.stderr
    setup.check()
