"""Subscriptions: what a subscriber wants, validated at entry so a digest never fails on a bad setting."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlmodel import Session, select

from alerts import schedule
from alerts.bots import BotSpecError, check_webhook, parse_bot
from alerts.clusters import cluster_ids, resolve_cluster
from core.errors import XznewsError
from store import Delivery, Subscriber, Subscription

log = logging.getLogger(__name__)


class SubscriptionError(XznewsError):
    """A subscription setting that cannot be used; the message says which and what is expected."""


@dataclass
class SubscriptionSpec:
    clusters: list[str] = field(default_factory=list)  # any of; [] = all
    keywords: str | None = None
    sources: list[str] = field(default_factory=list)
    frequency: str = "daily"
    at_time: str = "08:00"
    weekday: int = 0
    timezone: str = "Asia/Shanghai"
    include_mentions: bool = False
    send_empty: bool = False
    email: bool = True
    bots: list[str] = field(default_factory=list)
    name: str = ""


def check_clusters(clusters: list[str]) -> list[str]:
    known = cluster_ids()
    clusters = [resolve_cluster(c) or c for c in clusters]  # Chinese names are accepted too
    for cid in clusters:
        if cid not in known:
            raise SubscriptionError(f"unknown cluster {cid!r}; valid clusters: {', '.join(known)}")
    return [cid for cid in known if cid in clusters]  # 343 order, no repeats


def check_keywords(keywords: str | None) -> str | None:
    """A watched-keyword query, parsed now so that a bad one is refused at entry with the parser's message."""
    if keywords is None or not keywords.strip():
        return None
    from alerts.query import QueryError, parse_query

    try:
        parse_query(keywords)
    except QueryError as exc:
        raise SubscriptionError(f"invalid keyword query: {exc}") from exc
    return keywords.strip()


def check_channels(email: bool, bots: list[str], *, allow_private: bool = False) -> list[str]:
    channels = ["email"] if email else []
    try:
        for spec in bots:
            bot = parse_bot(spec)
            check_webhook(bot, allow_private)
            channels.append(str(bot))
    except BotSpecError as exc:
        raise SubscriptionError(str(exc)) from exc
    if not channels:
        raise SubscriptionError("a subscription needs a channel: email, a bot, or both")
    return channels


def check_sources(names: list[str], known: Collection[str] | None) -> list[str]:
    """Source names (or sites) as typed, refused when `known` is given and a name is not in it."""
    cleaned = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if known is not None:
        unknown = [n for n in cleaned if n not in known]
        if unknown:
            shown = ", ".join(sorted(known)[:20]) or "none configured"
            raise SubscriptionError(f"unknown source {unknown[0]!r}; configured sources and sites: {shown}")
    return cleaned


_SAME = ("clusters", "keywords", "sources", "include_mentions", "frequency", "at_time", "weekday", "timezone")
_SAME += ("send_empty", "channels")


def _same_settings(a: Subscription, b: Subscription) -> bool:
    return all(getattr(a, key) == getattr(b, key) for key in _SAME)


def create_subscription(
    session: Session,
    subscriber: Subscriber,
    spec: SubscriptionSpec,
    *,
    known_sources: Collection[str] | None = None,
    allow_private: bool = False,
) -> Subscription:
    """A new subscription, validated. The same settings again are refused while that subscription is active,
    and reactivate it when it is not (so subscribing twice never means two digests)."""
    try:
        schedule.validate(spec.frequency, spec.at_time, spec.weekday, spec.timezone)
    except schedule.ScheduleError as exc:
        raise SubscriptionError(str(exc)) from exc
    sub = Subscription(
        subscriber_id=subscriber.id,
        name=spec.name[:200],
        clusters=check_clusters(spec.clusters),
        keywords=check_keywords(spec.keywords),
        sources=check_sources(spec.sources, known_sources),
        include_mentions=spec.include_mentions,
        frequency=spec.frequency,
        at_time=schedule.parse_at(spec.at_time).strftime("%H:%M"),
        weekday=spec.weekday,
        timezone=spec.timezone,
        send_empty=spec.send_empty,
        channels=check_channels(spec.email, spec.bots, allow_private=allow_private),
    )
    if subscriber.id is not None:
        existing = session.exec(select(Subscription).where(Subscription.subscriber_id == subscriber.id)).all()
        for old in existing:
            if not _same_settings(old, sub):
                continue
            if old.active and subscriber.unsubscribed_at is None:
                raise SubscriptionError(
                    f"{subscriber.email} already has subscription {old.id} with these settings"
                )
            old.active, old.disabled_reason, old.consecutive_failures = True, None, 0
            old.name = sub.name or old.name
            log.info("subscription reactivated subscription=%s subscriber=%s", old.id, subscriber.id)
            return old
    session.add(sub)
    session.flush()
    log.info("subscription created subscription=%s subscriber=%s", sub.id, subscriber.id)
    return sub


def delete_subscription(session: Session, sub_id: int) -> Subscription | None:
    """Remove one subscription and its delivery log; the subscriber and their other subscriptions stay."""
    sub = session.get(Subscription, sub_id)
    if sub is None:
        return None
    for d in session.exec(select(Delivery).where(Delivery.subscription_id == sub_id)):
        session.delete(d)
    session.flush()
    session.delete(sub)
    session.flush()
    log.info("subscription deleted subscription=%s subscriber=%s", sub_id, sub.subscriber_id)
    return sub
