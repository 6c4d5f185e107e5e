"""Chat channels through Apprise, against a webhook receiver on 127.0.0.1: formats, exactly
once, outages and refusals, secrets kept out of logs and errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apprise
import pytest

from monitor.config import Config, ConfigError, load_config
from monitor.digest.alerts import OPERATORS
from monitor.digest.channels import AppriseSender, _body_for
from monitor.digest.run import run_digests, run_outbox, send_pending
from monitor.digest.send import SmtpSender
from monitor.redaction import MASK
from storage.records import OutboxEntry
from storage.repository import Repository
from tests.test_digests import RULES, SOURCES, SPA_TEXT, SPA_TITLE, add, add_story

pytest_plugins = ["tests.conftest_smtp", "tests.conftest_webhook"]

TOKEN = "Zq8sK2xR7tLmN4vB9cQe"  # what a channel URL's secret looks like
SETTINGS = """
smtp: {host: 127.0.0.1, port: 2525, starttls: false, from: "رقيب <raqib@example.org>"}
digests:
  - id: egov
    name: نشرة الحكومة الإلكترونية
    rules: [gcc-egov-committee, egov-events]
    channels: [{url_env: RAQIB_TEST_HOOK}]
    schedule: immediate
    language: ar
  - id: busy
    name: موجز الحكومة الإلكترونية
    rules: [gcc-egov-committee]
    recipients: [analyst@example.org]
    channels: [{url_env: RAQIB_TEST_HOOK, format: summary}]
    schedule: immediate
    language: ar
health:
  operators: [ops@example.org]
  channels: [{url_env: RAQIB_TEST_OPS}]
outbox: {first_retry: 1m, max_retry: 10m, max_refusals: 3}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return channel_config(tmp_path)


def channel_config(tmp_path: Path) -> Config:
    """Sources, rules and SETTINGS above as a configuration directory, loaded."""
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    return load_config(directory)


@pytest.fixture
def repo(database_url: str) -> Repository:
    repository = Repository(database_url)
    yield repository
    repository.close()


def only(config: Config, *digest_ids: str, **settings) -> Config:
    digests = [d for d in config.settings.digests if d.id in digest_ids]
    return Config(config.directory, config.sources, config.rules,
                  config.settings.model_copy(update={"digests": digests, **settings}))


def outbox(config: Config, repo: Repository, now: datetime):
    """The daemon's outbox job at `now`: what it tried to send (not what it only built)."""
    return [r for r in run_outbox(config, repo, now=now) if r.status != "pending"]


@pytest.fixture
def hook(webhook, monkeypatch):
    """The digests' channel: the receiver's JSON webhook, with a token in its query."""
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hooks/egov", f"-token={TOKEN}"))
    return webhook


# --- formats ---------------------------------------------------------------------------------

def test_one_short_message_per_story_with_link_source_date_and_snippet(config, repo, hook):
    config = only(config, "egov")
    first, second, third = add_story(repo, config)
    add(repo, config, "bna", "هيئة المعلومات والحكومة الإلكترونية تنظم ورشة عمل خليجية",
        "المنامة، بنا: نظمت هيئة المعلومات والحكومة الإلكترونية ورشةَ عملٍ بمشاركة دول المجلس.",
        published_at=datetime(2025, 5, 14, 9, 0, tzinfo=UTC))

    reports = run_digests(config, repo)

    assert [(r.recipient, r.status, r.stories) for r in reports] == [
        ("RAQIB_TEST_HOOK", "sent", 1), ("RAQIB_TEST_HOOK", "sent", 1)]
    assert [r.path for r in hook.received] == [f"/hooks/egov?token={TOKEN}"] * 2
    story, workshop = (r.json for r in hook.received)  # oldest first, as a chat reads
    assert story["title"] == "نشرة الحكومة الإلكترونية"
    lines = story["message"].splitlines()
    assert lines[:3] == [SPA_TITLE, "https://www.spa.gov.sa/w2301",
                         "واس · الثلاثاء 13 مايو 2025، 09:30"]
    assert "*اللجنةُ الوزاريةُ*" in story["message"]  # the matched words, marked
    assert lines[-1] == "وردت أيضاً في: عكاظ، وام"
    assert "ورشة عمل خليجية" in workshop["message"]
    assert "<" not in story["message"]  # plain text for a generic webhook: no markup
    carried = {m.id: repo.outbox.items(m.id) for m in repo.outbox.messages()}
    assert sorted(carried.values()) == [[first, second, third], [third + 1]]


def test_a_summary_channel_gets_one_message_per_digest(config, repo, hook, smtp_server):
    config = only(config, "busy", smtp=smtp_server.settings())
    add_story(repo, config)
    add(repo, config, "bna", "البحرين تستضيف اجتماع اللجنة الوزارية للحكومة الإلكترونية",
        "المنامة: تستضيف البحرين اجتماع اللجنة الوزارية.")

    reports = run_digests(config, repo)

    assert sorted((r.recipient, r.status, r.stories) for r in reports) == [
        ("RAQIB_TEST_HOOK", "sent", 2), ("analyst@example.org", "sent", 2)]
    [summary] = [r.json for r in hook.received]
    assert summary["title"] == "موجز الحكومة الإلكترونية: خبران جديدان"
    assert summary["message"].startswith("*لجان الحكومة الإلكترونية الخليجية (2)*\n• ")
    assert "https://www.spa.gov.sa/w2301" in summary["message"]
    assert smtp_server.messages[0]["Subject"].endswith("خبران جديدان")  # both count stories


def test_a_backlog_goes_to_a_story_channel_as_one_summary(config, repo, hook):
    config = only(config, "egov")
    for number in range(12):
        add(repo, config, "spa", f"اجتماع اللجنة الوزارية للحكومة الإلكترونية رقم {number}",
            f"نص الخبر {number}", url=f"https://www.spa.gov.sa/n{number}")
    [report] = run_digests(config, repo)
    assert (report.status, report.stories) == ("sent", 12)
    [message] = [r.json for r in hook.received]
    assert message["title"].endswith("12 خبراً جديداً")


def test_each_service_gets_the_markup_it_reads():
    entry = OutboxEntry(1, "egov", "X", "<m@x>", "عنوان", "<b>html</b>", "text", "pending", 0,
                        None, datetime.now(UTC), None, channel="apprise",
                        body_markdown="**markdown**")
    formats = apprise.NotifyFormat

    def markup(url: str) -> str:
        return _body_for(apprise.Apprise.instantiate(url), entry, formats)[1]

    assert markup("tgram://123456789:abcdefg_hijklmnop/12315544/") == formats.HTML
    assert markup("workflows://example.logic.azure.com/abcd1234/sig5678") == formats.MARKDOWN
    for url in ("json://127.0.0.1/x", "form://127.0.0.1/x", "ntfys://ntfy.sh/raqib",
                "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
                "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
                "matrix://user:pass@matrix.example.org/#room"):
        assert markup(url) == formats.TEXT, url


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_teams_gets_a_right_to_left_adaptive_card_in_arabic(config, repo, tls_webhook,
                                                             monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", f"workflows://127.0.0.1:{tls_webhook.port}/"
                                          f"wf0a1b2c3d/{TOKEN}?verify=no")
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT, url="https://www.spa.gov.sa/n?a=(1)",
        published_at=datetime(2025, 5, 13, 6, 30, tzinfo=UTC))

    assert [r.status for r in run_digests(config, repo)] == ["sent"]

    [request] = tls_webhook.received
    assert request.path.startswith("/workflows/wf0a1b2c3d/triggers/manual/paths/invoke")
    card = request.json["attachments"][0]["content"]
    assert (card["type"], card["rtl"]) == ("AdaptiveCard", True)
    title, body = card["body"]
    assert title["text"] == "نشرة الحكومة الإلكترونية"
    assert body["text"].startswith(f"**[{SPA_TITLE}](https://www.spa.gov.sa/n?a=%281%29)**\n\n")


def test_teams_own_https_url_gets_the_right_to_left_card_too():
    from monitor.digest.channels import _is_teams_workflow, _rtl_card

    native = apprise.Apprise.instantiate(
        "https://prod-61.westeurope.logic.azure.com:443/workflows/643e69f83c8944438d68119179a10a"
        f"64/triggers/manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig={TOKEN}")
    assert _is_teams_workflow(native) and not len(native.template)
    card = apprise.Apprise.instantiate(_rtl_card(native.url(privacy=False)))
    assert _is_teams_workflow(card) and len(card.template) == 1
    assert json.loads(Path(card.template[0].path).read_text())["attachments"][0]["content"]["rtl"]
    assert not _is_teams_workflow(apprise.Apprise.instantiate("json://127.0.0.1/x"))


def test_telegram_html_is_escaped_and_links_only_web_addresses(config, repo):
    from monitor.digest.chat import ChatStyle, story_message
    from monitor.digest.select import group_stories

    config = only(config, "egov")
    hostile = 'اللجنة الوزارية <script>alert(1)</script> & "الحكومة الإلكترونية"'
    add(repo, config, "spa", hostile, SPA_TEXT, url="javascript:alert(1)")
    [article] = repo.articles.find(limit=None)
    [(rule_id, [story])] = group_stories([article], config.settings.digests[0].rules).items()
    message = story_message(ChatStyle(config.settings.digests[0], {}, {}), story, rule_id)
    first = message.html.splitlines()[0]
    assert first == ("<b>اللجنة الوزارية &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                     "\"الحكومة الإلكترونية\"</b>")  # no link to javascript:
    assert "javascript" not in message.markdown and "javascript" not in message.text


# --- exactly once through outages and refusals -----------------------------------------------

def test_service_down_then_up_sends_each_story_once(config, repo, stopped_webhook, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", stopped_webhook.url("json", "/hook"))
    config = only(config, "egov")
    add_story(repo, config)
    now = datetime.now(UTC)

    [down] = outbox(config, repo, now)  # built, then tried: the service is down
    assert down.status == "failed" and "RAQIB_TEST_HOOK" in down.error
    [(message, articles)] = repo.outbox.pending()
    assert (message.attempts, articles, message.next_attempt_at) == (1, 3, message.next_attempt_at)
    assert timedelta(seconds=55) < message.next_attempt_at - now < timedelta(seconds=65)

    stopped_webhook.start()
    assert outbox(config, repo, now + timedelta(seconds=30)) == []  # backing off
    [retried] = outbox(config, repo, now + timedelta(minutes=1, seconds=1))
    assert (retried.status, retried.message_id) == ("sent", message.message_id)
    assert outbox(config, repo, now + timedelta(hours=1)) == []
    assert len(stopped_webhook.received) == 1
    assert [(m.status, m.attempts) for m in repo.outbox.messages()] == [("sent", 2)]


def test_back_off_doubles_up_to_its_bound(config, repo, stopped_webhook, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", stopped_webhook.url("json", "/hook"))
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    now = datetime.now(UTC)
    run_digests(config, repo, send=False, now=now)
    waits = []
    for _ in range(6):
        [report] = outbox(config, repo, now)
        assert report.status == "failed"
        [(message, _)] = repo.outbox.pending()
        waits.append(round((message.next_attempt_at - now).total_seconds() / 60))
        now = message.next_attempt_at
    assert waits == [1, 2, 4, 8, 10, 10]  # first_retry 1m, doubled, max_retry 10m


def test_a_refusing_channel_is_given_up_after_a_bound_and_operators_are_told(
        config, repo, webhook, smtp_server, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hooks/egov", f"-token={TOKEN}"))
    monkeypatch.setenv("RAQIB_TEST_OPS", webhook.url("json", "/ops"))
    config = only(config, "egov", smtp=smtp_server.settings())
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    webhook.status = 400
    now = datetime.now(UTC)

    statuses = []
    for minutes in (0, 2, 10, 30, 60):
        webhook.status = 400
        reports = [r for r in outbox(config, repo, now + timedelta(minutes=minutes))
                   if r.recipient == "RAQIB_TEST_HOOK"]
        statuses += [r.status for r in reports]
        webhook.status = 200
        send_pending(config, repo, SmtpSender(smtp_server.settings()), digest_id=OPERATORS)
    assert statuses == ["failed", "failed", "refused"]  # then never tried again
    assert len(webhook.refused) == 3
    [refused] = repo.outbox.refused()
    assert (refused.refusals, refused.attempts) == (3, 3)
    assert "HTTP 400" in refused.last_error and TOKEN not in refused.last_error
    # The operators hear of it once, by e-mail and on their channel.
    [mail] = smtp_server.messages
    assert mail["Subject"] == "[raqib] messages to RAQIB_TEST_HOOK are refused"
    assert "--retry-refused" in mail.get_content() and TOKEN not in mail.get_content()
    [ops] = [r.json for r in webhook.received if r.path == "/ops"]
    assert ops["title"] == mail["Subject"]

    assert repo.outbox.requeue_refused("egov") == 1  # fixed: `digest send --retry-refused`
    [again] = [r for r in outbox(config, repo, now + timedelta(hours=2))
               if r.recipient == "RAQIB_TEST_HOOK"]
    assert again.status == "sent"
    assert [r.path for r in webhook.received].count(f"/hooks/egov?token={TOKEN}") == 1


def test_a_server_error_is_an_outage_not_a_refusal(config, repo, webhook, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hook"))
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    now = datetime.now(UTC)
    for day, status in enumerate((503, 429, 500, 503, 502), start=1):
        webhook.status = status
        [report] = outbox(config, repo, now + timedelta(days=day))
        assert report.status == "failed"
    [(message, _)] = repo.outbox.pending()
    assert (message.attempts, message.refusals) == (5, 0)


def test_a_channel_whose_variable_is_unset_waits_and_says_which(config, repo, monkeypatch):
    monkeypatch.delenv("RAQIB_TEST_HOOK", raising=False)
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    [report] = run_digests(config, repo)
    assert report.status == "failed"
    assert "RAQIB_TEST_HOOK (the channel's URL) is not set" in report.error
    assert [(m.status, m.refusals) for m, _ in repo.outbox.pending()] == [("pending", 0)]


def test_one_message_per_story_per_channel_never_two(config, repo, hook):
    config = only(config, "egov")
    add_story(repo, config)
    run_digests(config, repo)
    run_digests(config, repo)
    outbox(config, repo, datetime.now(UTC) + timedelta(days=1))
    add(repo, config, "bna", "البحرين تستضيف ملتقى الحكومة الإلكترونية", "نص الخبر عن الملتقى.")
    outbox(config, repo, datetime.now(UTC) + timedelta(days=1))
    assert len(hook.received) == 2
    assert len({r.json["message"] for r in hook.received}) == 2


# --- configuration and secrets ---------------------------------------------------------------

@pytest.mark.parametrize(("digest", "problem"), [
    ("{id: x, rules: [egov-events], schedule: immediate}",
     "needs at least one of 'recipients' or 'channels'"),
    ("{id: x, rules: [egov-events], schedule: immediate, channels: [{url: 'json://h/x'}]}",
     "put it in an environment variable and name that variable with 'url_env'"),
    ("{id: x, rules: [egov-events], schedule: immediate, channels: [{url_env: 'json://h'}]}",
     "channels.url_env"),
    ("{id: x, rules: [egov-events], schedule: immediate, channels: [{url_env: A}, {url_env: A}]}",
     "channel A is listed twice"),
    ("{id: x, rules: [egov-events], schedule: immediate, channels: [{url_env: A, format: all}]}",
     "channels.format"),
])
def test_channel_configuration_is_checked_at_load(tmp_path, digest, problem):
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "settings.yaml").write_text(f"digests:\n  - {digest}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="digest 'x'") as raised:
        load_config(directory)
    assert problem in str(raised.value)
    assert "json://h" not in str(raised.value) or "url_env" in problem


def test_channel_urls_never_reach_logs_errors_or_the_database(config, repo, webhook, caplog,
                                                              monkeypatch):
    secret_url = webhook.url("json", f"/hooks/{TOKEN}", "sig=Kq7pWm2ZxT9vRb4N")
    monkeypatch.setenv("RAQIB_TEST_HOOK", secret_url)
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    caplog.set_level(logging.DEBUG)  # urllib3 logs each request's path at DEBUG
    webhook.status = 401
    reports = run_digests(config, repo)
    webhook.stop()
    reports += outbox(config, repo, datetime.now(UTC) + timedelta(days=1))
    logging.getLogger("test").error("an error that quotes the URL: %s", secret_url)
    logging.getLogger("test").exception("and a traceback", exc_info=ValueError(secret_url))

    for secret in (TOKEN, "Kq7pWm2ZxT9vRb4N"):
        assert secret not in caplog.text
        assert all(secret not in (r.error or "") for r in reports)
        assert all(secret not in (m.last_error or "") for m in repo.outbox.messages())
        assert all(secret not in record.getMessage() for record in caplog.records)
    assert MASK in caplog.text
    assert "HTTP 401" in reports[0].error and "RAQIB_TEST_HOOK" in reports[0].error


def test_the_cli_never_prints_a_channel_url(config, tmp_path, webhook):
    from tests.conftest import run_cli

    database = f"sqlite:///{tmp_path}/cli.db"
    add(Repository(database), only(config, "egov"), "spa", SPA_TITLE, SPA_TEXT)
    settings = SETTINGS.replace("port: 2525", f"port: {webhook.port}")
    (config.directory / "settings.yaml").write_text(f"database_url: {database}\n{settings}",
                                                    encoding="utf-8")
    webhook.status = 403
    secret_url = webhook.url("json", f"/hooks/{TOKEN}")
    refused = run_cli("-vv", "digest", "send", "egov", config_dir=config.directory,
                      env={"RAQIB_TEST_HOOK": secret_url})
    assert refused.returncode == 1
    assert "HTTP 403" in refused.stderr and "RAQIB_TEST_HOOK" in refused.stderr
    assert "urllib3" in refused.stderr  # -vv shows the libraries' own debug lines…
    assert TOKEN not in refused.stdout + refused.stderr  # …with the token masked
    webhook.status = 200
    sent = run_cli("digest", "send", "egov", config_dir=config.directory,
                   env={"RAQIB_TEST_HOOK": secret_url})
    assert sent.returncode == 0, sent.stderr
    assert " sent " in sent.stdout and TOKEN not in sent.stdout + sent.stderr
    assert json.loads(webhook.received[0].raw)["title"] == "نشرة الحكومة الإلكترونية"


def test_the_apprise_sender_keeps_nothing_on_disk(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RAQIB_TEST_HOOK", webhook.url("json", "/hook"))
    entry = OutboxEntry(1, "egov", "RAQIB_TEST_HOOK", "<m@x>", "عنوان", "", "نص", "pending", 0,
                        None, datetime.now(UTC), None, channel="apprise")
    AppriseSender().send(entry, language="ar")
    assert [r.json["message"] for r in webhook.received] == ["نص"]
    assert not any(tmp_path.rglob("*"))
