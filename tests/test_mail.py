"""The MIME message and the SMTP edge: headers read back exactly, errors are sorted transient/permanent."""

from __future__ import annotations

import email
import email.policy
import smtplib
from datetime import UTC, datetime

import pytest

from alerts.mail import _smtp_error, build_message, deliver, message_id, write_outbox
from alerts.render import Rendered
from core.errors import PermanentError, TransientError
from tests.alerts_support import free_port, make_settings, running_sink

WHEN = datetime(2026, 11, 22, 0, 1, tzinfo=UTC)
LONG_SUBJECT = "徐州产业动态 2026-11-22 · 128条 · 工程机械 40 / 绿色低碳能源 33 / 食品及农副产品加工 20"


@pytest.fixture
def smtp_server():
    yield from running_sink()


def _msg(tmp_path, subject=LONG_SUBJECT, to="reader@example.com"):
    settings = make_settings(tmp_path)
    rendered = Rendered(subject, "<p>徐工</p>", "徐工\n")
    return build_message(
        settings,
        to,
        rendered,
        message_id(7, WHEN, "news.example.org"),
        "https://news.example.org/unsubscribe/" + "T" * 43,
        "mailto:digest@news.example.org?subject=unsubscribe",
        WHEN,
    )


def _parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_headers_read_back_exactly_as_written(tmp_path):
    msg = _parse(_msg(tmp_path).as_bytes())
    assert msg["Subject"] == LONG_SUBJECT
    assert msg["From"] == "徐州产业动态 <digest@news.example.org>"
    assert msg["Message-ID"] == "<xznews.d7.1795305660@news.example.org>"
    assert msg["List-Unsubscribe"] == (
        f"<https://news.example.org/unsubscribe/{'T' * 43}>, <mailto:digest@news.example.org?subject=unsubscribe>"
    )
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("html",)).get_content() == "<p>徐工</p>"


def test_every_line_is_short_and_every_encoded_word_is_legal(tmp_path):
    raw = _msg(tmp_path).as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    subject_line = next(line for line in raw.split(b"\n") if line.startswith(b"Subject:"))
    assert all(len(word) <= 75 for word in subject_line.split()[1:])


def test_a_line_break_never_reaches_a_header(tmp_path):
    msg = _parse(_msg(tmp_path, subject="标题\r\nBcc: x@example.org").as_bytes())
    assert msg["Subject"] == "标题 Bcc: x@example.org" and msg["Bcc"] is None
    with pytest.raises(ValueError, match="To"):
        _msg(tmp_path, to="a@example.com\r\nBcc: x@example.org")


def test_the_outbox_file_is_named_by_message_id_and_rewritten_in_place(tmp_path):
    msg = _msg(tmp_path)
    first = write_outbox(tmp_path / "outbox", msg)
    second = write_outbox(tmp_path / "outbox", msg)
    assert first == second and first.name == "xznews.d7.1795305660@news.example.org.eml"
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [first.name]


def test_smtp_delivery_and_an_unreachable_server(tmp_path, smtp_server):
    settings = make_settings(tmp_path, smtp_server.port)
    assert deliver(settings, _msg(tmp_path), "reader@example.com") == "smtp"
    assert smtp_server.messages[0]["Subject"] == LONG_SUBJECT
    with pytest.raises(TransientError, match="ConnectionRefused"):
        deliver(make_settings(tmp_path, free_port()), _msg(tmp_path), "reader@example.com")


def test_starttls_against_a_server_without_it_is_a_permanent_configuration_error(tmp_path, smtp_server):
    settings = make_settings(tmp_path, smtp_server.port)
    settings.smtp.security = "starttls"
    with pytest.raises(PermanentError, match="STARTTLS"):
        deliver(settings, _msg(tmp_path), "reader@example.com")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (smtplib.SMTPDataError(451, b"try later"), TransientError),
        (smtplib.SMTPDataError(550, b"no such user"), PermanentError),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"unknown")}), PermanentError),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (452, b"full")}), TransientError),
        (smtplib.SMTPServerDisconnected("gone"), TransientError),
        (TimeoutError("timed out"), TransientError),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), PermanentError),
    ],
)
def test_smtp_errors_are_sorted_into_transient_and_permanent(exc, kind):
    assert isinstance(_smtp_error(exc), kind)
