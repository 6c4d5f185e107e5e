"""monitor.digest.send against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from monitor.digest.send import (
    MailError,
    SmtpSender,
    compose,
    new_message_id,
    send_alert,
    sender_domain,
)

pytest_plugins = ["tests.conftest_smtp"]  # the SMTP server fixtures

SUBJECT = "تنبيه: مصدر «واس» لا يستجيب منذ ٣ محاولات"
TEXT = "لم يُجب موقع وكالة الأنباء السعودية على آخر ثلاث محاولات زحف.\nآخر خطأ: مهلة الاتصال."


def _message(to: str = "analyst@example.org"):
    return compose(sender="رقيب <raqib@example.org>", recipient=to, subject=SUBJECT, text=TEXT,
                   html='<p dir="rtl">نص</p>', message_id=new_message_id("raqib@example.org", "t"),
                   date=datetime(2025, 5, 18, 4, 30, tzinfo=UTC), language="ar")


def test_a_message_reaches_the_server_with_its_headers_and_both_parts(smtp_server):
    SmtpSender(smtp_server.settings()).send(_message())

    [received] = smtp_server.messages
    assert received["To"] == "analyst@example.org"
    assert received["From"].addresses[0].addr_spec == "raqib@example.org"
    assert received["From"].addresses[0].display_name == "رقيب"
    assert received["Subject"] == SUBJECT
    raw = smtp_server.handler.envelopes[0].content.decode("ascii")  # 7-bit clean on the wire
    assert "=?utf-8?" in raw.split("\r\n\r\n")[0].lower()
    assert received["Message-ID"].endswith("@example.org>")
    assert parsedate_to_datetime(received["Date"]) == datetime(2025, 5, 18, 4, 30, tzinfo=UTC)
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "multipart/alternative"
    plain, html = received.iter_parts()
    assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
    assert plain.get_content() == TEXT + "\n"
    assert html.get_content_type() == "text/html"


def test_send_alert_sends_a_plain_text_message_to_every_operator(smtp_server):
    send_alert(smtp_server.settings(), ["ops@example.org", "noc@example.org"], SUBJECT, TEXT)

    [received] = smtp_server.messages
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == TEXT + "\n"
    assert sorted(smtp_server.handler.envelopes[0].rcpt_tos) == ["noc@example.org",
                                                                 "ops@example.org"]


def test_send_alert_without_recipients_sends_nothing(smtp_server):
    send_alert(smtp_server.settings(), [], SUBJECT, TEXT)
    assert smtp_server.messages == []


def test_login_uses_the_password_from_the_named_environment_variable(auth_smtp_server,
                                                                     monkeypatch):
    user, password = auth_smtp_server.credentials
    monkeypatch.setenv("RAQIB_TEST_SMTP_PASSWORD", password)
    settings = auth_smtp_server.settings(username=user, password_env="RAQIB_TEST_SMTP_PASSWORD")
    SmtpSender(settings).send(_message())
    assert len(auth_smtp_server.messages) == 1


def test_a_wrong_password_is_a_permanent_mail_error(auth_smtp_server, monkeypatch):
    user, password = auth_smtp_server.credentials
    monkeypatch.setenv("RAQIB_TEST_SMTP_PASSWORD", "wrong-" + password)
    settings = auth_smtp_server.settings(username=user, password_env="RAQIB_TEST_SMTP_PASSWORD")
    with pytest.raises(MailError) as error:
        SmtpSender(settings).send(_message())
    assert error.value.permanent
    assert "535" in str(error.value)
    assert auth_smtp_server.messages == []


def test_a_non_ascii_password_is_a_clear_error_not_a_crash(auth_smtp_server, monkeypatch):
    monkeypatch.setenv("RAQIB_TEST_SMTP_PASSWORD", "كلمة-سر")
    settings = auth_smtp_server.settings(username="raqib", password_env="RAQIB_TEST_SMTP_PASSWORD")
    with pytest.raises(MailError, match="not ASCII"):
        SmtpSender(settings).send(_message())


def test_a_missing_password_variable_is_named_in_the_error(auth_smtp_server, monkeypatch):
    monkeypatch.delenv("RAQIB_TEST_SMTP_PASSWORD", raising=False)
    settings = auth_smtp_server.settings(username="raqib", password_env="RAQIB_TEST_SMTP_PASSWORD")
    with pytest.raises(MailError, match="RAQIB_TEST_SMTP_PASSWORD"):
        SmtpSender(settings).send(_message())


def test_starttls_upgrades_the_connection_before_sending(starttls_smtp_server, client_tls):
    settings = starttls_smtp_server.settings(starttls=True)
    SmtpSender(settings, ssl_context=client_tls).send(_message())
    assert len(starttls_smtp_server.messages) == 1


def test_without_starttls_a_server_that_requires_it_refuses(starttls_smtp_server):
    with pytest.raises(MailError, match="530"):
        SmtpSender(starttls_smtp_server.settings(starttls=False)).send(_message())


def test_an_untrusted_certificate_is_refused(starttls_smtp_server):
    # The default context verifies certificates: a self-signed one must not pass silently.
    with pytest.raises(MailError, match="SSL|certificate"):
        SmtpSender(starttls_smtp_server.settings(starttls=True)).send(_message())


def test_implicit_tls(ssl_smtp_server, client_tls):
    settings = ssl_smtp_server.settings(ssl=True, starttls=False)
    SmtpSender(settings, ssl_context=client_tls).send(_message())
    assert len(ssl_smtp_server.messages) == 1


def test_a_server_that_is_down_is_a_temporary_mail_error(stopped_smtp_server):
    with pytest.raises(MailError, match="cannot send through 127.0.0.1") as error:
        SmtpSender(stopped_smtp_server.settings()).send(_message())
    assert not error.value.permanent


@pytest.mark.parametrize(("reply", "permanent"), [
    ("554 5.7.1 Message rejected as spam", True),
    ("451 4.3.0 Try again later", False),
])
def test_a_refused_message_raises_with_the_server_reply(smtp_server, reply, permanent):
    smtp_server.reply = reply
    with pytest.raises(MailError) as error:
        SmtpSender(smtp_server.settings()).send(_message())
    assert reply.split()[0] in str(error.value)
    assert error.value.permanent is permanent


def test_message_ids_use_the_sender_domain():
    assert sender_domain("رقيب <raqib@mail.example.sa>") == "mail.example.sa"
    assert sender_domain("nobody") == "raqib.localhost"
    first = new_message_id("raqib <raqib@example.org>", "digest.egov")
    assert first.startswith("<") and first.endswith(".digest.egov@example.org>")
    assert first != new_message_id("raqib <raqib@example.org>", "digest.egov")
