"""E-mail digests end to end: stored matches -> outbox -> a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from monitor.config import Config, ConfigError, load_config
from monitor.digest.render import count_phrase, highlight_spans, source_label
from monitor.digest.run import run_digests, send_pending
from monitor.digest.send import SmtpSender
from monitor.schedule import last_fire_time
from storage.records import NewArticle
from storage.repository import Repository

pytest_plugins = ["tests.conftest_smtp"]  # the SMTP server fixtures

XHTML = "{http://www.w3.org/1999/xhtml}"
EGOV = "gcc-egov-committee"
ANALYST, EDITOR = "analyst@example.org", "editor@example.sa"

SOURCES = """
sources:
  - {id: spa, name: Saudi Press Agency (واس), country: SA, language: ar, kind: agency,
     feeds: ["https://www.spa.gov.sa/rss.xml"]}
  - {id: okaz, name: Okaz (عكاظ), country: SA, language: ar, kind: press,
     feeds: ["https://www.okaz.com.sa/rss"]}
  - {id: wam, name: Emirates News Agency (وام), country: AE, language: ar, kind: agency,
     feeds: ["https://www.wam.ae/rss"]}
  - {id: bna, name: Bahrain News Agency (بنا), country: BH, language: ar, kind: agency,
     feeds: ["https://www.bna.bh/rss"]}
  - {id: arabnews, name: Arab News, country: SA, language: en, kind: press,
     feeds: ["https://www.arabnews.com/rss.xml"]}
"""
RULES = """
rules:
  - id: gcc-egov-committee
    name: لجان الحكومة الإلكترونية الخليجية
    query: '"اللجنة الوزارية" OR "~الحكومة ~الإلكترونية" OR "e-government"'
  - id: egov-events
    name: فعاليات الحكومة الرقمية
    query: '~ورشة OR ~ملتقى OR ~منتدى'
"""
SETTINGS = """
smtp: {host: 127.0.0.1, port: 2525, starttls: false, from: "رقيب <raqib@example.org>"}
digests:
  - id: egov
    name: نشرة الحكومة الإلكترونية
    rules: [gcc-egov-committee, egov-events]
    recipients: [analyst@example.org, editor@example.sa]
    schedule: immediate
    timezone: Asia/Riyadh
    language: ar
  - id: morning
    rules: [gcc-egov-committee]
    recipients: [analyst@example.org]
    schedule: {cron: "0 7 * * *"}
    timezone: Asia/Riyadh
  - id: english
    name: GCC e-government
    rules: [gcc-egov-committee]
    recipients: [analyst@example.org]
    schedule: immediate
    timezone: Asia/Dubai
    language: en
  - id: batched
    rules: [gcc-egov-committee]
    recipients: [analyst@example.org]
    schedule: immediate
    min_items: 2
"""

SPA_TITLE = "انطلاق اجتماع اللجنة الوزارية للحكومة الإلكترونية لدول مجلس التعاون في الرياض"
SPA_TEXT = ("الرياض ١٥ ذو القعدة ١٤٤٦ هـ الموافق ١٣ مايو ٢٠٢٥ م واس عقدت اللجنةُ الوزاريةُ "
            "للحكومة الإلكترونية بدول مجلس التعاون لدول الخليج العربية اجتماعها الحادي عشر "
            "برئاسة المملكة، وناقشت مؤشرات التحول الرقمي والخدمات الحكومية المشتركة.")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    return load_config(directory)


@pytest.fixture
def repo(database_url: str) -> Repository:
    """SQLite and PostgreSQL alike (the lead's `database_url` fixture)."""
    repository = Repository(database_url)
    yield repository
    repository.close()


def only(config: Config, *digest_ids: str) -> Config:
    """The config with just these digests (tests look at one digest at a time)."""
    digests = [d for d in config.settings.digests if d.id in digest_ids]
    return Config(config.directory, config.sources, config.rules,
                  config.settings.model_copy(update={"digests": digests}))


def add(repo: Repository, config: Config, source: str, title: str, text: str, *,
        published_at: datetime | None = None, url: str | None = None,
        cluster: int | None = None) -> int:
    """Store an article and its matches as the crawler would (with the real rule engine)."""
    url = url or f"https://{source}.example/news/{uuid.uuid4().hex[:8]}"
    saved = repo.articles.save(NewArticle(
        source=source, url=url, fetched_url=url, title=title, text=text, language="ar",
        content_fingerprint=hashlib.sha256((title + text + url).encode()).hexdigest(),
        fetched_at=datetime.now(UTC), published_at=published_at))
    matches = config.rule_set().evaluate(title, text, "ar")
    assert matches, f"test article does not match any rule: {title}"
    repo.articles.save_matches(saved.article_id, [m.to_dict() for m in matches])
    if cluster is not None:
        repo.signatures.set_cluster(saved.article_id, cluster, 0.82)
    return saved.article_id


def add_story(repo: Repository, config: Config) -> tuple[int, int, int]:
    """One story carried by SPA (first), Okaz and WAM: near duplicates of one cluster."""
    first = add(repo, config, "spa", SPA_TITLE, SPA_TEXT, url="https://www.spa.gov.sa/w2301",
                published_at=datetime(2025, 5, 13, 6, 30, tzinfo=UTC))
    second = add(repo, config, "okaz", "اللجنة الوزارية للحكومة الإلكترونية الخليجية تعقد اجتماعها",
                 SPA_TEXT, url="https://www.okaz.com.sa/news/2178", cluster=first,
                 published_at=datetime(2025, 5, 13, 8, 0, tzinfo=UTC))
    third = add(repo, config, "wam", "اجتماع اللجنة الوزارية للحكومة الإلكترونية في الرياض",
                SPA_TEXT, url="https://www.wam.ae/ar/article/b4x", cluster=first)
    return first, second, third


def html_tree(html: str) -> ET.Element:
    """Strict XML parse: the HTML part must be well-formed XHTML."""
    return ET.fromstring(html)


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


# --- rendering and MIME ----------------------------------------------------------------------

def test_a_digest_is_a_multipart_arabic_message_with_proper_headers(config, repo, smtp_server):
    config = only(config, "egov")
    add_story(repo, config)
    add(repo, config, "bna", "هيئة المعلومات والحكومة الإلكترونية تنظم ورشة عمل خليجية",
        "المنامة، بنا: نظمت هيئة المعلومات والحكومة الإلكترونية ورشةَ عملٍ بمشاركة دول المجلس.")

    reports = run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    assert [(r.recipient, r.status, r.built) for r in reports] == [(ANALYST, "sent", 4),
                                                                   (EDITOR, "sent", 4)]
    to_analyst = next(m for m in smtp_server.messages if m["To"] == ANALYST)
    assert to_analyst["Subject"] == "نشرة الحكومة الإلكترونية: خبران جديدان"
    raw_headers = smtp_server.handler.envelopes[0].content.split(b"\r\n\r\n")[0].decode("ascii")
    assert "Subject: =?utf-8?" in raw_headers  # RFC 2047, not raw UTF-8
    assert to_analyst["From"].addresses[0].addr_spec == "raqib@example.org"
    outbox = {m.recipient: m for m in repo.outbox.messages()}
    assert to_analyst["Message-ID"].strip() == outbox[ANALYST].message_id
    assert to_analyst["Message-ID"].endswith("@example.org>")
    assert abs(parsedate_to_datetime(to_analyst["Date"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert to_analyst.get_content_type() == "multipart/alternative"
    plain, html = to_analyst.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain["Content-Transfer-Encoding"] == "base64"  # 7-bit clean for every relay
    assert "وردت أيضاً في" in plain.get_content()

    root = html_tree(html.get_content())
    assert (root.get("dir"), root.get("lang")) == ("rtl", "ar")
    body = root.find(f"{XHTML}body")
    assert body.get("dir") == "rtl"
    assert root.find(f".//{XHTML}link") is None and root.find(f".//{XHTML}style") is None
    cells = root.findall(f".//{XHTML}td")
    assert all(cell.get("dir") == "rtl" for cell in cells if cell.get("dir"))
    assert all("text-align:left" not in (cell.get("style") or "") for cell in cells)


def test_one_entry_per_story_with_the_other_sources_linked(config, repo, smtp_server):
    config = only(config, "egov")
    add_story(repo, config)

    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    html = smtp_server.messages[0].get_body(("html",)).get_content()
    root = html_tree(html)
    titles = [a for a in root.iter(f"{XHTML}a") if a.get("href") == "https://www.spa.gov.sa/w2301"]
    assert [text_of(a) for a in titles] == [SPA_TITLE]  # the first-stored copy leads
    assert "اجتماع اللجنة الوزارية للحكومة الإلكترونية في الرياض" not in html  # WAM's title
    also = next(div for div in root.iter(f"{XHTML}div") if text_of(div).startswith("وردت أيضاً في"))
    links = {a.get("href"): text_of(a) for a in also.iter(f"{XHTML}a")}
    assert links == {"https://www.okaz.com.sa/news/2178": "عكاظ",
                     "https://www.wam.ae/ar/article/b4x": "وام"}
    assert "واس · السعودية · الثلاثاء 13 مايو 2025، 09:30" in text_of(root)  # 06:30 UTC in Riyadh
    assert smtp_server.messages[0]["Subject"].endswith("خبر جديد واحد")


def test_matched_words_are_highlighted_even_with_tashkeel(config, repo, smtp_server):
    config = only(config, "egov")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)

    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    message = smtp_server.messages[0]
    root = html_tree(message.get_body(("html",)).get_content())
    marked = [text_of(span) for span in root.iter(f"{XHTML}span")]
    assert "اللجنةُ الوزاريةُ" in marked  # the original spelling, marks and all
    assert "للحكومة الإلكترونية" in marked
    assert "*اللجنةُ الوزاريةُ*" in message.get_body(("plain",)).get_content()


def test_page_text_cannot_inject_markup(config, repo, smtp_server):
    config = only(config, "egov")
    hostile = ('اللجنة الوزارية <script>alert("x")</script> "><img src=x onerror=alert(1)> '
               "& الحكومة الإلكترونية")
    add(repo, config, "spa", hostile, f"{hostile} — {SPA_TEXT}",
        url='https://www.spa.gov.sa/n?a=1&b="><svg onload=alert(1)>')
    add(repo, config, "okaz", "اللجنة الوزارية: رابط غير صالح", SPA_TEXT,
        url="javascript:alert(document.cookie)")

    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    html = smtp_server.messages[0].get_body(("html",)).get_content()
    root = html_tree(html)
    tags = {element.tag.removeprefix(XHTML) for element in root.iter()}
    assert not tags & {"script", "img", "svg", "iframe"}
    assert not any(attr.startswith("on") for el in root.iter() for attr in el.attrib)
    assert "&lt;script&gt;" in html and "&quot;&gt;&lt;img" in html
    assert hostile in [text_of(a) for a in root.iter(f"{XHTML}a")]  # shown, as text
    hrefs = [a.get("href") for a in root.iter(f"{XHTML}a")]
    assert 'https://www.spa.gov.sa/n?a=1&b="><svg onload=alert(1)>' in hrefs
    assert not any(href.startswith("javascript:") for href in hrefs)
    assert "اللجنة الوزارية: رابط غير صالح" in text_of(root)  # listed, just not clickable


def test_an_english_digest_reads_left_to_right_and_says_date_unknown(config, repo, smtp_server):
    config = only(config, "english")
    add(repo, config, "arabnews", "GCC e-government ministerial committee meets in Riyadh",
        "RIYADH: The GCC e-government ministerial committee held its 11th meeting on Tuesday.",
        published_at=None)
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT, published_at=datetime(2025, 5, 13, 6, 30, tzinfo=UTC))

    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    message = smtp_server.messages[0]
    assert message["Subject"] == "GCC e-government: 2 new stories"
    root = html_tree(message.get_body(("html",)).get_content())
    assert (root.get("dir"), root.get("lang")) == ("ltr", "en")
    page = text_of(root)
    assert "Arab News · Saudi Arabia · date unknown" in page
    assert "Saudi Press Agency · Saudi Arabia · Tuesday 13 May 2025, 10:30" in page  # Dubai time
    arabic_title = next(div for div in root.iter(f"{XHTML}div") if text_of(div) == SPA_TITLE)
    assert arabic_title.get("dir") == "rtl"  # an Arabic title keeps its direction in English


def test_an_arabic_digest_says_date_unknown_in_arabic(config, repo, smtp_server):
    config = only(config, "egov")
    add(repo, config, "bna", "البحرين تستضيف ملتقى الحكومة الإلكترونية", "نص الخبر عن الملتقى.")
    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))
    plain = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "بنا · البحرين · التاريخ غير معروف" in plain


def test_highlighting_marks_the_words_of_a_near_clause_not_the_words_between():
    snippet = "عقدت اللجنةُ الوزاريةُ لدول مجلس التعاون اجتماعَها الحادي عشر"
    spans = highlight_spans(snippet, ["~لجنة NEAR/6 اجتماعها", 'NOT "الحادي عشر"'])
    assert [snippet[start:end] for start, end in spans] == ["اللجنةُ", "اجتماعَها"]


def test_arabic_source_names_come_from_the_parentheses(config):
    spa = config.source("spa")
    assert (source_label(spa, "spa", "ar"), source_label(spa, "spa", "en")) == (
        "واس", "Saudi Press Agency")


@pytest.mark.parametrize(("count", "phrase"), [
    (1, "خبر جديد واحد"), (2, "خبران جديدان"), (3, "3 أخبار جديدة"), (10, "10 أخبار جديدة"),
    (11, "11 خبراً جديداً"), (99, "99 خبراً جديداً"), (100, "100 خبر جديد"),
    (103, "103 أخبار جديدة"),
])
def test_arabic_counts_agree_with_the_number(count, phrase):
    assert count_phrase(count, "ar") == phrase


# --- exactly once ----------------------------------------------------------------------------

def test_each_article_reaches_each_recipient_exactly_once(config, repo, smtp_server):
    config = only(config, "egov")
    sender = SmtpSender(smtp_server.settings())
    story = add_story(repo, config)

    first = run_digests(config, repo, sender=sender)
    again = run_digests(config, repo, sender=sender)
    assert [r.status for r in first] == ["sent", "sent"]
    assert [r.status for r in again] == ["nothing", "nothing"]
    assert len(smtp_server.messages) == 2

    newer = add(repo, config, "bna", "البحرين تستضيف ملتقى الحكومة الإلكترونية الخليجي",
                "المنامة: تستضيف المملكة ملتقى الحكومة الإلكترونية.")
    third = run_digests(config, repo, sender=sender)
    assert [(r.status, r.built) for r in third] == [("sent", 1), ("sent", 1)]
    latest = [m for m in smtp_server.messages[2:] if m["To"] == ANALYST][0]
    assert "ملتقى" in latest["Subject"] or "خبر جديد واحد" in latest["Subject"]
    assert SPA_TITLE not in latest.get_body(("plain",)).get_content()
    for recipient in (ANALYST, EDITOR):
        assert repo.outbox.article_ids("egov", recipient) == sorted([*story, newer])
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 4


def test_min_items_holds_articles_back_until_there_are_enough(config, repo, smtp_server):
    config = only(config, "batched")
    sender = SmtpSender(smtp_server.settings())
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    assert [r.status for r in run_digests(config, repo, sender=sender)] == ["nothing"]
    add(repo, config, "bna", "البحرين تستضيف اجتماع اللجنة الوزارية", "نص الخبر.")
    assert [(r.status, r.built) for r in run_digests(config, repo, sender=sender)] == [("sent", 2)]


def test_smtp_down_then_up_sends_the_same_message_once(config, repo, stopped_smtp_server):
    config = only(config, "egov")
    sender = SmtpSender(stopped_smtp_server.settings())
    add_story(repo, config)

    down = run_digests(config, repo, sender=sender)
    assert [r.status for r in down] == ["failed", "failed"]
    assert "cannot send through 127.0.0.1" in down[0].error
    still_down = run_digests(config, repo, sender=sender)
    assert [r.status for r in still_down] == ["failed", "failed", "nothing", "nothing"]
    pending = repo.outbox.pending()
    assert [(m.attempts, count) for m, count in pending] == [(2, 3), (2, 3)]
    assert all(m.last_error for m, _ in pending)

    stopped_smtp_server.start()
    up = run_digests(config, repo, sender=sender)
    assert [(r.status, r.message_id) for r in up[:2]] == [
        ("sent", m.message_id) for m, _ in pending]
    assert len(stopped_smtp_server.messages) == 2
    assert run_digests(config, repo, sender=sender)[0].status == "nothing"
    assert len(stopped_smtp_server.messages) == 2
    assert [m.status for m in repo.outbox.messages()] == ["sent", "sent"]


def test_a_rejected_message_stays_pending_until_the_server_takes_it(config, repo, smtp_server):
    config = only(config, "morning")
    sender = SmtpSender(smtp_server.settings())
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    smtp_server.reply = "451 4.3.0 Mailbox temporarily unavailable"

    [refused] = run_digests(config, repo, sender=sender, only_due=False)
    assert (refused.status, refused.built) == ("failed", 1)
    assert "451" in refused.error
    smtp_server.reply = None
    [retried] = send_pending(config, repo, sender)
    assert (retried.status, retried.message_id, retried.built) == ("sent", refused.message_id, 1)
    assert send_pending(config, repo, sender) == []
    assert len(smtp_server.messages) == 1


def test_a_crash_between_building_and_sending_loses_nothing(config, repo, smtp_server):
    config = only(config, "morning")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)

    [built] = run_digests(config, repo, send=False, only_due=False)  # "crash" before sending
    assert built.status == "pending"

    class Crash(Exception):
        pass

    class CrashingSender:
        def send(self, message):
            raise Crash  # the process dies mid-conversation, not a MailError

    with pytest.raises(Crash):
        send_pending(config, repo, CrashingSender())
    [(message, _)] = repo.outbox.pending()
    assert message.attempts == 0  # rolled back, as a real crash would leave it

    reports = run_digests(config, repo, sender=SmtpSender(smtp_server.settings()), only_due=False)
    assert [(r.status, r.message_id) for r in reports] == [("sent", built.message_id),
                                                           ("nothing", None)]
    assert send_pending(config, repo, SmtpSender(smtp_server.settings())) == []
    assert [m["Message-ID"].strip() for m in smtp_server.messages] == [built.message_id]


def test_a_new_recipient_gets_last_week_not_all_history(config, repo, smtp_server):
    config = only(config, "morning")
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    later = datetime.now(UTC) + timedelta(days=8)  # the match is now 8 days old
    assert run_digests(config, repo, now=later, only_due=False,
                       sender=SmtpSender(smtp_server.settings()))[0].status == "nothing"


# --- dry run, preview, due -------------------------------------------------------------------

def test_dry_run_and_preview_change_nothing(config, repo, smtp_server, tmp_path):
    config = only(config, "egov")
    add_story(repo, config)
    preview = tmp_path / "preview.html"

    dry = run_digests(config, repo, dry_run=True, sender=SmtpSender(smtp_server.settings()))
    shown = run_digests(config, repo, preview=preview)

    assert [(r.status, r.built) for r in dry] == [("dry-run", 3), ("dry-run", 3)]
    assert dry[0].subject == "نشرة الحكومة الإلكترونية: خبر جديد واحد"
    assert [r.preview for r in shown] == [preview, tmp_path / "preview-2.html"]
    assert SPA_TITLE in preview.read_text(encoding="utf-8")
    html_tree(preview.read_text(encoding="utf-8"))
    assert repo.outbox.messages() == [] and smtp_server.messages == []
    # Without a sender, the configured SMTP server (settings.yaml `smtp`) is used.
    configured = Config(config.directory, config.sources, config.rules,
                        config.settings.model_copy(update={"smtp": smtp_server.settings()}))
    assert [r.status for r in run_digests(configured, repo)] == ["sent", "sent"]


def test_an_unknown_digest_id_is_a_config_error(config, repo):
    with pytest.raises(ConfigError, match="no digest 'nope' \\(known: egov, morning"):
        run_digests(config, repo, digest_id="nope")


def test_a_cron_digest_is_due_once_per_fire(config, repo, smtp_server):
    config = only(config, "morning")
    sender = SmtpSender(smtp_server.settings())
    fired = last_fire_time("0 7 * * *", "Asia/Riyadh", datetime.now(UTC))
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    assert run_digests(config, repo, now=fired + timedelta(seconds=5), sender=sender)[0].status \
        == "sent"

    add(repo, config, "bna", "البحرين تستضيف اجتماع اللجنة الوزارية", "نص الخبر.")
    before_next = fired + timedelta(days=1, seconds=-1)
    assert run_digests(config, repo, now=before_next, sender=sender) == []  # not due
    assert run_digests(config, repo, now=before_next, dry_run=True) == []
    assert [r.status for r in run_digests(config, repo, now=before_next, dry_run=True,
                                          only_due=False)] == ["dry-run"]
    [next_morning] = run_digests(config, repo, now=fired + timedelta(days=1), sender=sender)
    assert (next_morning.status, next_morning.built) == ("sent", 1)
    assert len(smtp_server.messages) == 2


# --- PostgreSQL: the same guarantees with concurrent senders and builders --------------------

@pytest.fixture
def pg_repo(postgres_url: str) -> Repository:
    repository = Repository(postgres_url)
    yield repository
    repository.close()


class SlowSender:
    """Holds each message for a moment, so that two senders overlap."""

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender

    def send(self, message) -> None:
        time.sleep(0.5)
        self.sender.send(message)


def _together(*calls) -> list:
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index, call):
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]
    return results


@pytest.mark.postgres
def test_postgres_two_senders_at_once_send_a_message_once(config, pg_repo, smtp_server):
    config = only(config, "morning")
    add_story(pg_repo, config)
    run_digests(config, pg_repo, send=False, only_due=False)
    slow = SlowSender(SmtpSender(smtp_server.settings()))

    _together(lambda: send_pending(config, pg_repo, slow), lambda: send_pending(config, pg_repo, slow))

    assert len(smtp_server.messages) == 1
    assert [(m.status, m.attempts) for m in pg_repo.outbox.messages()] == [("sent", 1)]


@pytest.mark.postgres
def test_postgres_two_builders_at_once_build_each_article_once(config, pg_repo, smtp_server):
    config = only(config, "egov")
    story = add_story(pg_repo, config)

    results = _together(lambda: run_digests(config, pg_repo, only_due=False, send=False),
                        lambda: run_digests(config, pg_repo, only_due=False, send=False))

    built = [r for reports in results for r in reports if r.status == "pending"]
    assert sorted(r.recipient for r in built) == [ANALYST, EDITOR]
    for recipient in (ANALYST, EDITOR):
        assert pg_repo.outbox.article_ids("egov", recipient) == sorted(story)
    sender = SmtpSender(smtp_server.settings())
    assert [r.status for r in send_pending(config, pg_repo, sender)] == ["sent", "sent"]
    assert [r.status for r in run_digests(config, pg_repo, sender=sender)] == ["nothing", "nothing"]
    assert len(smtp_server.messages) == 2



# --- the command line ------------------------------------------------------------------------

def _config_dir_for(config: Config, smtp_port: int, database: str) -> Path:
    directory = config.directory
    settings = SETTINGS.replace("port: 2525", f"port: {smtp_port}")
    (directory / "settings.yaml").write_text(f"database_url: {database}\n{settings}",
                                             encoding="utf-8")
    return directory


def test_cli_digest_send_dry_run_preview_then_send(config, tmp_path, smtp_server):
    from tests.conftest import run_cli

    database = f"sqlite:///{tmp_path}/cli.db"
    repository = Repository(database)
    add_story(repository, config)
    directory = _config_dir_for(config, smtp_server.port, database)

    dry = run_cli("digest", "send", "egov", "--dry-run", config_dir=directory)
    assert dry.returncode == 0, dry.stderr
    assert "=== egov → analyst@example.org (dry-run): نشرة الحكومة الإلكترونية" in dry.stdout
    assert "وردت أيضاً في" in dry.stdout
    preview = tmp_path / "digest.html"
    shown = run_cli("digest", "send", "egov", "--preview", str(preview), config_dir=directory)
    assert shown.returncode == 0, shown.stderr
    assert SPA_TITLE in preview.read_text(encoding="utf-8")
    assert repository.outbox.messages() == [] and smtp_server.messages == []

    sent = run_cli("digest", "send", "egov", config_dir=directory)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.count(" sent ") == 2
    assert sorted(m["To"] for m in smtp_server.messages) == [ANALYST, EDITOR]
    again = run_cli("digest", "send", "egov", config_dir=directory)
    assert again.stdout.count(" nothing ") == 2 and len(smtp_server.messages) == 2


def test_cli_digest_send_exits_1_when_the_server_is_down(config, tmp_path, stopped_smtp_server):
    from tests.conftest import run_cli

    database = f"sqlite:///{tmp_path}/cli.db"
    add(Repository(database), config, "spa", SPA_TITLE, SPA_TEXT)
    directory = _config_dir_for(config, stopped_smtp_server.port, database)

    down = run_cli("digest", "send", "morning", "--force", config_dir=directory)
    assert down.returncode == 1
    assert "not sent (queued for the next run)" in down.stderr
    assert "Traceback" not in down.stderr
    unknown = run_cli("digest", "send", "nope", config_dir=directory)
    assert unknown.returncode == 2 and "no digest 'nope'" in unknown.stderr


# --- what the Arabic digest says (issue 25, point 15) ----------------------------------------

def test_an_arabic_digest_names_its_rules_in_arabic_and_an_english_one_in_english(config, repo,
                                                                                smtp_server):
    rules = [config.rules[0].model_copy(update={"name": "GCC e-government committees",
                                                "name_ar": "لجان الحكومة الإلكترونية"}),
             config.rules[1].model_copy(update={"name": "Digital government events",
                                                "name_ar": None})]
    config = Config(config.directory, config.sources, rules, config.settings)
    add(repo, config, "spa", SPA_TITLE, SPA_TEXT)
    add(repo, config, "bna", "البحرين تستضيف ملتقى الحكومة الرقمية", "نص الخبر عن الملتقى.")

    run_digests(only(config, "egov", "english"), repo, sender=SmtpSender(smtp_server.settings()))

    by_language = {m["Content-Language"]: m.get_body(("plain",)).get_content()
                   for m in smtp_server.messages if m["To"] == ANALYST}
    assert "== لجان الحكومة الإلكترونية (1) ==" in by_language["ar"]
    assert "== Digital government events (1) ==" in by_language["ar"]  # no Arabic name: its own
    assert "== GCC e-government committees (1) ==" in by_language["en"]


def test_a_date_without_a_time_is_shown_as_the_day_alone(config, repo, smtp_server):
    config = only(config, "egov", "english")
    riyadh_midnight = datetime(2025, 5, 12, 21, 0, tzinfo=UTC)  # 13 May 00:00 in Riyadh
    for source, title, raw, method in (
            ("spa", SPA_TITLE, "١٣/٠٥/٢٠٢٥", "text"),
            ("okaz", "اللجنة الوزارية للحكومة الإلكترونية تعقد اجتماعها", "2025-05-13", "meta"),
            ("wam", "اجتماع اللجنة الوزارية للحكومة الإلكترونية في الرياض", "2025/05/13", "url"),
            ("bna", "البحرين: اللجنة الوزارية للحكومة الإلكترونية", "13 مايو 2025 00:00", "text")):
        url = f"https://{source}.example/news/{method}"
        article = add(repo, config, source, title, SPA_TEXT, url=url)
        with repo.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE articles SET published_at = %s, published_raw = %s, "
                "published_method = %s WHERE id = %s" if repo.dialect == "postgresql" else
                "UPDATE articles SET published_at = ?, published_raw = ?, published_method = ? "
                "WHERE id = ?", (riyadh_midnight.replace(tzinfo=None), raw, method, article))
    add(repo, config, "spa", "اللجنة الوزارية للحكومة الإلكترونية: بيان ختامي", SPA_TEXT,
        published_at=datetime(2025, 5, 13, 7, 15, tzinfo=UTC))

    run_digests(config, repo, sender=SmtpSender(smtp_server.settings()))

    arabic = next(m for m in smtp_server.messages if m["Content-Language"] == "ar"
                  and m["To"] == ANALYST).get_body(("plain",)).get_content()
    assert arabic.count("الثلاثاء 13 مايو 2025\n") == 4  # the day alone, no "00:00"
    assert "، 00:00" not in arabic and "، 03:00" not in arabic
    assert "الثلاثاء 13 مايو 2025، 10:15" in arabic  # a time of day is kept
    english = next(m for m in smtp_server.messages if m["Content-Language"] == "en")
    plain = english.get_body(("plain",)).get_content()
    # In a Dubai digest the day stays the day the Riyadh page printed, not "01:00".
    assert plain.count("Tuesday 13 May 2025\n") == 4 and ", 01:00" not in plain


def test_the_table_counts_stories_as_the_subject_does(config, tmp_path, smtp_server):
    from tests.conftest import run_cli

    database = f"sqlite:///{tmp_path}/cli.db"
    repository = Repository(database)
    add_story(repository, config)  # one story carried by three sources
    add(repository, config, "bna", "البحرين تستضيف اجتماع اللجنة الوزارية", "نص الخبر.")
    directory = _config_dir_for(config, smtp_server.port, database)

    sent = run_cli("digest", "send", "morning", "--force", config_dir=directory)

    assert sent.returncode == 0, sent.stderr
    header, _rule, row = sent.stdout.splitlines()[:3]
    assert header.split()[:4] == ["digest", "recipient", "status", "stories"]
    assert row.split()[:4] == ["morning", ANALYST, "sent", "2"]
    assert smtp_server.messages[0]["Subject"] == "morning: خبران جديدان"
