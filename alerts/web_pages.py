"""The pages behind the links in mail (confirm, unsubscribe, manage) and the web's own subscribe form.

Each action has a prompt (GET, changes nothing: mail scanners and link previews fetch every URL in a
message) and a doer (POST, also RFC 8058's one-click unsubscribe). Pages are bilingual data (`Page`), rendered
by the web app, and name the address only partly masked. An unknown token gets one page that says nothing about
why. Confirming is idempotent: a second click says "already confirmed". Callers commit the session.

A subscription made on the web is inactive until its own confirmation link is used, also for an address that
is already confirmed: nobody can add digests to someone else's mailbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from alerts import schedule
from alerts.subscribers import (
    confirm_url,
    get_or_create,
    new_token,
    unsubscribe_by_token,
    unsubscribe_mailto,
    unsubscribe_url,
)
from alerts.subscriptions import SubscriptionError, SubscriptionSpec, check_clusters, check_keywords
from core.settings import Settings
from store import Subscriber, Subscription, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    status: int
    title_zh: str
    title_en: str
    text_zh: str = ""
    text_en: str = ""
    address: str = ""  # already masked
    address_zh: str = "邮箱"
    address_en: str = "Address"
    button_zh: str = ""  # a POST form to the same URL when set
    button_en: str = ""
    danger: bool = False
    link: str = ""  # a follow-up link (e.g. to the manage page)
    link_zh: str = ""


def mask_email(address: str) -> str:
    """'reader@example.com' → 'r***r@example.com': enough for its owner to recognise, little for anyone else."""
    local, _, domain = address.rpartition("@")
    shown = local[:1] + "***" + (local[-1:] if len(local) > 2 else "")
    return f"{shown}@{domain}"


NOT_FOUND = Page(
    404,
    "链接无效或已过期",
    "This link is not valid",
    "请检查链接是否完整。如果您已完成操作，无需再做任何事。",
    "Please check that the link is complete. If you already did this, there is nothing more to do.",
)
RATE_LIMITED = Page(429, "请求过于频繁", "Too many requests", "请稍后再试。", "Please try again later.")
FORBIDDEN = Page(
    403,
    "表单已过期",
    "Form expired",
    "请返回上一页刷新后重新提交。",
    "Go back, reload the page and submit again.",
)
METHOD_NOT_ALLOWED = Page(405, "不支持此操作", "Method not allowed")
TOO_LARGE = Page(413, "请求过大", "Request too large")
BAD_REQUEST = Page(400, "请求无效", "Bad request")
LENGTH_REQUIRED = Page(411, "请求无效", "Length required")
SERVER_ERROR = Page(500, "出错了", "Something went wrong", "请稍后再试。", "Please try again later.")
UNAVAILABLE = Page(
    503, "服务暂时不可用", "Temporarily unavailable", "请稍后再试。", "Please try again later."
)


def _by_unsubscribe_token(session: Session, token: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.unsubscribe_token == token)).first()


def unsubscribe_prompt(session: Session, token: str) -> Page:
    subscriber = _by_unsubscribe_token(session, token)
    if subscriber is None:
        return NOT_FOUND
    if subscriber.unsubscribed_at is not None:
        return _unsubscribed(subscriber, already=True)
    return Page(
        200,
        "退订徐州产业动态",
        "Unsubscribe from these digests",
        "点击下方按钮后，此邮箱将不再收到任何摘要邮件。",
        "After you press the button, this address will receive no more digests.",
        address=mask_email(subscriber.email),
        button_zh="确认退订",
        button_en="Unsubscribe",
        danger=True,
    )


def unsubscribe(session: Session, token: str, via: str) -> Page:
    """Unsubscribe (idempotent): a second request answers "already unsubscribed", still 200."""
    subscriber = _by_unsubscribe_token(session, token)
    if subscriber is None:
        return NOT_FOUND
    already = subscriber.unsubscribed_at is not None
    unsubscribe_by_token(session, token)
    log.info("unsubscribe via web subscriber=%s via=%s already=%s", subscriber.id, via, already)
    return _unsubscribed(subscriber, already=already)


def _unsubscribed(subscriber: Subscriber, *, already: bool) -> Page:
    return Page(
        200,
        "您已退订" if already else "已退订",
        "You were already unsubscribed" if already else "You are unsubscribed",
        "此邮箱不会再收到摘要邮件。如需重新订阅，请使用订阅页面。",
        "This address will receive no more digests. To subscribe again, use the subscribe page.",
        address=mask_email(subscriber.email),
    )


def _by_confirm_token(session: Session, token: str) -> tuple[Subscriber | None, Subscription | None]:
    subscriber = session.exec(select(Subscriber).where(Subscriber.confirm_token == token)).first()
    if subscriber is not None:
        return subscriber, None
    sub = session.exec(select(Subscription).where(Subscription.confirm_token == token)).first()
    if sub is None:
        return None, None
    return session.get(Subscriber, sub.subscriber_id), sub


def _already_confirmed(subscriber: Subscriber, sub: Subscription | None) -> bool:
    return (sub.confirmed_at is not None) if sub is not None else subscriber.confirmed


def confirm_prompt(session: Session, token: str) -> Page:
    subscriber, sub = _by_confirm_token(session, token)
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return NOT_FOUND
    if _already_confirmed(subscriber, sub):
        return _confirmed(subscriber, already=True)
    return Page(
        200,
        "确认订阅徐州产业动态",
        "Confirm your subscription",
        "点击下方按钮确认后，摘要邮件将按您选择的频率发送到此邮箱。",
        "Once you confirm, digests will be sent to this address at the frequency you chose.",
        address=mask_email(subscriber.email),
        button_zh="确认订阅",
        button_en="Confirm",
    )


def confirm_subscription(session: Session, token: str, now: datetime | None = None) -> Page:
    """Confirm (idempotent). The token is kept, so that a second click can say "already confirmed"."""
    subscriber, sub = _by_confirm_token(session, token)
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return NOT_FOUND
    already = _already_confirmed(subscriber, sub)
    if not already:
        subscriber.confirmed = True
        if sub is not None:
            sub.confirmed_at, sub.active = now or utcnow(), True
        log.info("confirmed via web subscriber=%s subscription=%s", subscriber.id, sub.id if sub else "-")
    return _confirmed(subscriber, already=already)


def _confirmed(subscriber: Subscriber, *, already: bool) -> Page:
    return Page(
        200,
        "订阅早已确认" if already else "订阅已确认",
        "Already confirmed" if already else "Subscription confirmed",
        "无需再做任何操作。" if already else "感谢确认！每封摘要邮件底部都有管理订阅和退订的链接。",
        "There is nothing more to do."
        if already
        else "Thank you! Every digest links to a page to manage or end it.",
        address=mask_email(subscriber.email),
        link=f"/manage/{subscriber.unsubscribe_token}",
        link_zh="管理我的订阅",
    )


# ---------------------------------------------------------------------------------------- web subscribing


def subscribe_from_web(
    session: Session, email: str, spec: SubscriptionSpec
) -> tuple[Subscriber, Subscription]:
    """A new, inactive subscription with its own confirmation token (raises SubscriptionError/InvalidAddress)."""
    _validate(spec)
    subscriber, _ = get_or_create(session, email, confirmed=False)
    sub = Subscription(
        subscriber_id=subscriber.id,
        clusters=check_clusters(spec.clusters),
        keywords=check_keywords(spec.keywords),
        frequency=spec.frequency,
        at_time=schedule.parse_at(spec.at_time).strftime("%H:%M"),
        weekday=spec.weekday,
        timezone=spec.timezone,
        active=False,
        confirm_token=new_token(),
    )
    session.add(sub)
    session.flush()
    log.info("subscription requested via web subscription=%s subscriber=%s", sub.id, subscriber.id)
    return subscriber, sub


def _validate(spec: SubscriptionSpec) -> None:
    try:
        schedule.validate(spec.frequency, spec.at_time, spec.weekday, spec.timezone)
    except schedule.ScheduleError as exc:
        raise SubscriptionError(str(exc)) from exc


def edit_subscription(session: Session, sub: Subscription, spec: SubscriptionSpec) -> Subscription:
    """Apply new clusters, keywords and schedule, validated as at creation (raises SubscriptionError)."""
    _validate(spec)
    sub.clusters = check_clusters(spec.clusters)
    sub.keywords = check_keywords(spec.keywords)
    sub.frequency, sub.weekday, sub.timezone = spec.frequency, spec.weekday, spec.timezone
    sub.at_time = schedule.parse_at(spec.at_time).strftime("%H:%M")
    session.add(sub)
    log.info("subscription edited subscription=%s", sub.id)
    return sub


def subscriber_by_manage_token(session: Session, token: str) -> Subscriber | None:
    """The manage page is reached with the token every mail carries (the unsubscribe token)."""
    subscriber = _by_unsubscribe_token(session, token)
    return None if subscriber is None or subscriber.unsubscribed_at is not None else subscriber


def subscriptions_of(session: Session, subscriber: Subscriber) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.subscriber_id == subscriber.id).order_by(Subscription.id)  # type: ignore[arg-type]
    return list(session.exec(stmt))


def send_web_confirmation(settings: Settings, subscriber: Subscriber, sub: Subscription) -> str:
    """Mail the link that activates a web subscription; returns "smtp" or the outbox path."""
    from alerts import mail
    from alerts.digest import describe
    from alerts.render import render_confirmation

    now = utcnow()
    unsubscribe = unsubscribe_url(settings, subscriber.unsubscribe_token)
    rendered = render_confirmation(
        subscriber.email, describe(sub), confirm_url(settings, sub.confirm_token or ""), unsubscribe
    )
    msg_id = f"<xznews.confirm-s{sub.id}.{int(now.timestamp())}@{mail.mail_domain(settings)}>"
    msg = mail.build_message(
        settings, subscriber.email, rendered, msg_id, unsubscribe, unsubscribe_mailto(settings), now
    )
    return mail.deliver(settings, msg, subscriber.email)


def delete_subscription(session: Session, sub: Subscription) -> None:
    """Delete one subscription and its delivery history; the subscriber and its other subscriptions stay."""
    from sqlalchemy import delete

    from store import Delivery

    session.execute(delete(Delivery).where(Delivery.subscription_id == sub.id))  # type: ignore[arg-type]
    session.delete(sub)
    session.flush()
    log.info("subscription deleted subscription=%s subscriber=%s", sub.id, sub.subscriber_id)
