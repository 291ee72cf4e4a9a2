"""Subscribers: address validation, tokens, double opt-in, unsubscribe.

Tokens come from `secrets.token_urlsafe(32)` (256 bits): the unsubscribe token is in every mail, the
confirmation token only in the confirmation mail and cleared once used.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

from sqlmodel import Session, select

from core.errors import XznewsError
from core.settings import Settings
from core.tz import SHANGHAI
from store import Subscriber, Subscription, utcnow

log = logging.getLogger(__name__)

MAX_ADDRESS = 254  # RFC 5321 path limit less the angle brackets
MAX_LOCAL = 64
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class InvalidAddress(XznewsError):
    """An address we will not send to."""


def validate_email(address: str) -> str:
    """Return the address with its domain lower-cased (IDN as punycode), or raise InvalidAddress.

    A deliberately plain check: dot-atom local part, a domain of at least two DNS labels, no whitespace or
    control characters (no header injection), and RFC length limits. Quoted local parts are refused.
    """
    if not isinstance(address, str) or any(ord(c) < 32 or c == "\x7f" for c in address):
        raise InvalidAddress("invalid email address: control characters (CR/LF) are not allowed")
    address = address.strip()
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(f"invalid email address: longer than {MAX_ADDRESS} characters")
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress(f"invalid email address {address!r}: expected name@domain")
    if len(local) > MAX_LOCAL or not _LOCAL.match(local):
        raise InvalidAddress(
            f"invalid email address {address!r}: the part before @ is not a plain mailbox name"
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidAddress(f"invalid email address {address!r}: bad domain") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InvalidAddress(f"invalid email address {address!r}: the domain must look like example.com")
    return f"{local}@{ascii_domain}"


def new_token() -> str:
    """256 random bits, URL-safe. Never starting with "-", so a token pasted on a command line is not an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{quote(token)}"


def archive_url(settings: Settings, sub: Subscription, since: datetime) -> str:
    """The web archive of what a capped digest left out: this subscription's query (or its one cluster) since the
    window opened, in the time zone the archive's day filter uses."""
    base = settings.public_base_url.rstrip("/")
    params = {"since": since.astimezone(SHANGHAI).date().isoformat()}
    if len(sub.clusters or []) == 1:
        params["cluster"] = sub.clusters[0]
    if sub.keywords:
        return f"{base}/search?{urlencode({'q': sub.keywords, **params})}"
    return f"{base}/?{urlencode(params)}"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/confirm/{quote(token)}"


def unsubscribe_mailto(settings: Settings) -> str:
    """mailto: for List-Unsubscribe when a mailbox that acts on it is configured, else "" (none offered)."""
    address = settings.unsubscribe_mailbox.strip()
    return f"mailto:{address}?subject=unsubscribe" if address else ""


def find_by_email(session: Session, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


def get_or_create(session: Session, email: str, *, confirmed: bool) -> tuple[Subscriber, bool]:
    """The subscriber for `email` (validated), created if new; an unsubscribed one is re-activated.

    `confirmed=False` starts (or restarts) double opt-in: the subscriber gets a fresh confirmation token.
    """
    email = validate_email(email)
    subscriber = find_by_email(session, email)
    created = subscriber is None
    if subscriber is None:
        subscriber = Subscriber(email=email, confirmed=confirmed, unsubscribe_token=new_token())
        session.add(subscriber)
    elif subscriber.unsubscribed_at is not None:
        subscriber.unsubscribed_at = None
        subscriber.confirmed = confirmed
        # A spent token (it unsubscribed this address; old mails and forwards carry it) must not work again.
        subscriber.unsubscribe_token = new_token()
    if not subscriber.confirmed:
        subscriber.confirm_token = subscriber.confirm_token or new_token()
    session.flush()
    return subscriber, created


def confirm(session: Session, token: str) -> Subscriber | None:
    """Double opt-in: the subscriber holding this confirmation token is confirmed (token spent)."""
    subscriber = session.exec(select(Subscriber).where(Subscriber.confirm_token == token)).first()
    if subscriber is None:
        return None
    subscriber.confirmed = True
    subscriber.confirm_token = None
    log.info("subscriber confirmed subscriber=%s", subscriber.id)
    return subscriber


def _unsubscribe(session: Session, subscriber: Subscriber, now: datetime) -> Subscriber:
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
    for sub in session.exec(select(Subscription).where(Subscription.subscriber_id == subscriber.id)):
        sub.active = False
    log.info("subscriber unsubscribed subscriber=%s", subscriber.id)
    return subscriber


def unsubscribe_by_token(session: Session, token: str, now: datetime | None = None) -> Subscriber | None:
    subscriber = session.exec(select(Subscriber).where(Subscriber.unsubscribe_token == token)).first()
    return None if subscriber is None else _unsubscribe(session, subscriber, now or utcnow())


def unsubscribe_by_email(session: Session, email: str, now: datetime | None = None) -> Subscriber | None:
    subscriber = find_by_email(session, validate_email(email))
    return None if subscriber is None else _unsubscribe(session, subscriber, now or utcnow())


def send_confirmation(
    settings: Settings, subscriber: Subscriber, summary: str, now: datetime | None = None
) -> str:
    """Mail the double opt-in link; returns "smtp" or the outbox path. Errors propagate to the caller."""
    from alerts import mail
    from alerts.render import render_confirmation

    if not subscriber.confirm_token:
        raise XznewsError(f"{subscriber.email} has nothing to confirm")
    now = now or utcnow()
    rendered = render_confirmation(
        subscriber.email,
        summary,
        confirm_url(settings, subscriber.confirm_token),
        unsubscribe_url(settings, subscriber.unsubscribe_token),
    )
    msg_id = f"<xznews.confirm{subscriber.id}.{int(now.timestamp())}@{mail.mail_domain(settings)}>"
    msg = mail.build_message(
        settings,
        subscriber.email,
        rendered,
        msg_id,
        unsubscribe_url(settings, subscriber.unsubscribe_token),
        unsubscribe_mailto(settings),
        now,
    )
    return mail.deliver(settings, msg, subscriber.email)
