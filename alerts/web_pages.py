"""The pages behind the links in mail: confirm a subscription, unsubscribe.

Each action has a prompt (GET, changes nothing: mail scanners and link previews fetch every URL in a
message) and a doer (POST, also RFC 8058's one-click unsubscribe). Pages are bilingual, autoescaped
(alerts/templates/web_page.html) and name the address only partly masked. An unknown token gets one
page that says nothing about why (no such token, spent, never existed). Callers commit the session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, select

from alerts.digest import BRAND
from alerts.render import TEMPLATES
from alerts.subscribers import confirm, unsubscribe_by_token
from store import Subscriber

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

    def html(self) -> str:
        return _env().get_template("web_page.html").render(page=self, brand=BRAND)


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined
    )


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


def _by_confirm_token(session: Session, token: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.confirm_token == token)).first()


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
        "此邮箱不会再收到摘要邮件。如需重新订阅，请联系管理员。",
        "This address will receive no more digests. To subscribe again, contact the administrator.",
        address=mask_email(subscriber.email),
    )


def confirm_prompt(session: Session, token: str) -> Page:
    subscriber = _by_confirm_token(session, token)
    if subscriber is None:
        return NOT_FOUND
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


def confirm_subscription(session: Session, token: str) -> Page:
    """Confirm; the token is spent, so a second request gets the not-found page (which allows for that)."""
    subscriber = confirm(session, token)
    if subscriber is None:
        return NOT_FOUND
    return Page(
        200,
        "订阅已确认",
        "Subscription confirmed",
        "感谢确认！每封摘要邮件底部都有退订链接。",
        "Thank you! Every digest carries an unsubscribe link at the bottom.",
        address=mask_email(subscriber.email),
    )
