"""Mail: build the MIME message, send it by SMTP, or write it to the outbox when no server is configured.

SMTP errors are translated here, once: 4xx replies, refused connections, timeouts and drops are
TransientError (retry later); 5xx replies are PermanentError. Outbox files are written atomically
(temporary file + rename) and named by Message-ID, so writing the same message twice leaves one file.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import tempfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from alerts.digest import one_line
from alerts.render import Rendered
from xznews.errors import PermanentError, TransientError
from xznews.settings import Settings, SmtpSettings

log = logging.getLogger(__name__)


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
) -> EmailMessage:
    msg = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    msg["From"] = formataddr((one_line(name), address)) if address else one_line(settings.mail_from)
    msg["To"] = one_line(to)
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msg_id
    # RFC 2369 + RFC 8058: one-click unsubscribe for mail clients that offer it.
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{unsubscribe_mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


def _outbox_name(msg_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", msg_id.strip("<>")) + ".eml"


def write_outbox(outbox: Path, msg: EmailMessage) -> Path:
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


def send_smtp(smtp: SmtpSettings, msg: EmailMessage, sender: str, recipients: list[str]) -> None:
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            client.send_message(msg, from_addr=sender, to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(exc) from exc
    log.info("mail sent host=%s message_id=%s", smtp.host, msg["Message-ID"])


def deliver(settings: Settings, msg: EmailMessage, recipient: str) -> str:
    """Send by SMTP, or into the outbox when no server is configured. Returns "smtp" or the file path."""
    if settings.smtp.configured:
        send_smtp(settings.smtp, msg, sender_address(settings), [recipient])
        return "smtp"
    return str(write_outbox(settings.outbox, msg))
