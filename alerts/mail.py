"""Mail: build the MIME message, send it by SMTP, or write it to the outbox when no server is configured.

SMTP errors are translated here, once: 4xx replies, refused connections, timeouts and drops are
TransientError (retry later); 5xx replies are PermanentError. Outbox files are written atomically
(temporary file + rename) and named by Message-ID, so writing the same message twice leaves one file.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable
from datetime import datetime
from email import policy as email_policy
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from alerts.digest import one_line
from alerts.render import Rendered
from core.errors import PermanentError, TransientError
from core.settings import Settings, SmtpSettings

log = logging.getLogger(__name__)
# compat32 without header folding: the values are built one-line and short (see build_message).
_POLICY = email_policy.compat32.clone(max_line_length=None)


def sender_address(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1] or "digest@xznews.local"


def mail_domain(settings: Settings) -> str:
    return sender_address(settings).rpartition("@")[2] or "xznews.local"


def message_id(delivery_id: int, window_end: datetime, domain: str) -> str:
    """Deterministic: the same delivery and window always give the same id, so a re-send can be deduplicated."""
    return f"<xznews.d{delivery_id}.{int(window_end.timestamp())}@{domain}>"


def build_message(
    settings: Settings,
    to: str,
    rendered: Rendered,
    msg_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    when: datetime,
) -> Message:
    """multipart/alternative (text, then HTML), both base64 UTF-8.

    Built with the compat32 MIME classes (EmailMessage's header registry cost a third of a 10k-digest run).
    That API does not police header values, so they are checked here (no CR/LF, ever), non-ASCII ones are
    RFC 2047 encoded-words of at most 75 characters, and header lines are not folded (all stay far below
    the 998-octet limit), so every header reads back exactly as written.
    """
    msg = MIMEMultipart("alternative", policy=_POLICY)
    name, address = parseaddr(settings.mail_from)
    headers = {
        "From": formataddr((one_line(name), address), charset="utf-8") if address else settings.mail_from,
        "To": to,
        "Subject": _encoded_words(one_line(rendered.subject)),
        "Date": format_datetime(when),
        "Message-ID": msg_id,
        # RFC 2369 + RFC 8058: one-click unsubscribe for mail clients that offer it.
        "List-Unsubscribe": f"<{unsubscribe_url}>"
        + (f", <{unsubscribe_mailto}>" if unsubscribe_mailto else ""),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    for key, value in headers.items():
        if any(c in value for c in "\r\n\x00") or not value.isascii():
            raise ValueError(f"header {key} must be one line of ASCII")
        msg[key] = value
    msg.attach(_text_part(rendered.text, "plain"))
    msg.attach(_text_part(rendered.html, "html"))
    return msg


def _encoded_words(text: str) -> str:
    """RFC 2047 encoded-words (each ≤ 75 characters) separated by spaces, which decoders drop."""
    if text.isascii():
        return text
    encoded = Header(text, "utf-8", header_name="Subject").encode(maxlinelen=75)
    return " ".join(line.strip() for line in encoded.splitlines())


def _text_part(content: str, subtype: str) -> MIMENonMultipart:
    # Base64: compact for CJK, short lines whatever the server's 8BITMIME support. Encoded in one C call
    # and cut into 76-character lines (RFC 2045): the email package's chunk-by-chunk encoder took a quarter
    # of a 10k-digest run.
    part = MIMENonMultipart("text", subtype, policy=_POLICY, charset="utf-8")
    part["Content-Transfer-Encoding"] = "base64"
    encoded = base64.b64encode(content.encode("utf-8")).decode("ascii")
    part.set_payload("\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n")
    return part


def _outbox_name(msg_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", msg_id.strip("<>")) + ".eml"


def write_outbox(outbox: Path, msg: Message) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    target = outbox / _outbox_name(str(msg["Message-ID"]))
    fd, tmp = tempfile.mkstemp(dir=outbox, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("mail written to outbox path=%s", target)
    return target


def _smtp_error(exc: Exception) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else 550
        text = "; ".join(
            f"{rcpt}: {c} {m.decode(errors='replace')}" for rcpt, (c, m) in exc.recipients.items()
        )
        detail = f"recipient refused: {text}"
    elif code is not None:
        raw = getattr(exc, "smtp_error", b"")
        detail = f"{code} {raw.decode(errors='replace') if isinstance(raw, bytes) else raw}"
    else:
        detail = f"{exc.__class__.__name__}: {exc}"
    detail = one_line(detail)[:500]
    if code is not None and 500 <= code < 600:
        return PermanentError(f"SMTP {detail}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentError(f"SMTP {detail}")
    return TransientError(f"SMTP {detail}")


class OutcomeUnknown(TransientError):
    """The whole message reached the server but its reply did not reach us: it may or may not be delivered.

    Retrying at once would risk a second copy; the dispatcher waits a long quiet period instead.
    """


def _flatten(msg: Message) -> bytes:
    """The message as SMTP sends it: CRLF line ends, dot-stuffed (RFC 5321 §4.5.2), without the final dot."""
    buf = io.BytesIO()
    BytesGenerator(buf, policy=msg.policy.clone(linesep="\r\n")).flatten(msg, linesep="\r\n")
    data = re.sub(rb"(?m)^\.", b"..", buf.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class SmtpSession:
    """One SMTP connection reused for every message of a dispatch round; re-opened after an error.

    `send` calls `before_commit()` after the server took the whole message text and before the final dot that
    commits it: the dispatcher records "sent-pending" there, so a crash or an outage from then on leaves a row
    that says "maybe delivered" instead of one that would be re-sent as new.
    """

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        smtp = self.smtp
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        try:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password.get_secret_value())
        except BaseException:
            _close_quietly(client)
            raise
        self._client = client
        return client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(client)

    def send(
        self,
        msg: Message,
        sender: str,
        recipients: list[str],
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        data = _flatten(msg)
        committed = False
        try:
            client = self._connect()
            code, resp = client.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            for rcpt in recipients:
                code, resp = client.rcpt(rcpt)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({rcpt: (code, resp)})
            code, resp = client.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, resp)
            client.send(data)
            if before_commit is not None:
                before_commit()  # if this fails (database down) the final dot is never sent: nothing delivered
            committed = True  # from the first byte of the final dot on, the server may have accepted it
            client.send(b".\r\n")
            if client.sock is not None:
                client.sock.settimeout(self.smtp.data_timeout_s)
            code, resp = client.getreply()
            if client.sock is not None:
                client.sock.settimeout(self.smtp.timeout_s)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
            self._reset()
            raise _smtp_error(exc) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if committed:
                raise OutcomeUnknown(f"SMTP no reply after the end of DATA: {_smtp_error(exc)}") from exc
            raise _smtp_error(exc) from exc
        except Exception as exc:
            self._drop()  # mid-transaction: the connection's state is unknown
            if committed:
                raise OutcomeUnknown(f"SMTP outcome unknown after the end of DATA: {exc!r}"[:500]) from exc
            raise
        except BaseException:
            self._drop()
            raise
        log.info("mail sent host=%s message_id=%s", self.smtp.host, msg["Message-ID"])

    def _reset(self) -> None:
        """After a refused command the connection is fine; RSET ends the transaction (or drop it)."""
        if self._client is None:
            return
        try:
            self._client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _close_quietly(client)


def _close_quietly(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        client.close()


def send_smtp(smtp: SmtpSettings, msg: Message, sender: str, recipients: list[str]) -> None:
    """One message on its own connection (confirmation mails); digests share a SmtpSession per round."""
    with SmtpSession(smtp) as session:
        session.send(msg, sender, recipients)


class Mailer:
    """Where a round's mail goes: one SMTP connection for the round, or the outbox when no server is set."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp = SmtpSession(settings.smtp) if settings.smtp.configured else None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._smtp is not None:
            self._smtp.close()

    def deliver(self, msg: Message, recipient: str, before_commit: Callable[[], None] | None = None) -> str:
        """Send by SMTP, or into the outbox. Returns "smtp" or the file path."""
        if self._smtp is not None:
            self._smtp.send(msg, sender_address(self.settings), [recipient], before_commit)
            return "smtp"
        return str(write_outbox(self.settings.outbox, msg))


def deliver(settings: Settings, msg: Message, recipient: str) -> str:
    """Send by SMTP, or into the outbox when no server is configured. Returns "smtp" or the file path."""
    with Mailer(settings) as mailer:
        return mailer.deliver(msg, recipient)
