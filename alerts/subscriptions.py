"""Subscriptions: what a subscriber wants, validated at entry so a digest never fails on a bad setting."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from alerts import schedule
from alerts.bots import BotSpecError, parse_bot
from alerts.clusters import cluster_ids, resolve_cluster
from core.errors import XznewsError
from store import Subscriber, Subscription

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


def check_channels(email: bool, bots: list[str]) -> list[str]:
    channels = ["email"] if email else []
    try:
        channels += [str(parse_bot(spec)) for spec in bots]
    except BotSpecError as exc:
        raise SubscriptionError(str(exc)) from exc
    if not channels:
        raise SubscriptionError("a subscription needs a channel: email, a bot, or both")
    return channels


def create_subscription(session: Session, subscriber: Subscriber, spec: SubscriptionSpec) -> Subscription:
    try:
        schedule.validate(spec.frequency, spec.at_time, spec.weekday, spec.timezone)
    except schedule.ScheduleError as exc:
        raise SubscriptionError(str(exc)) from exc
    sub = Subscription(
        subscriber_id=subscriber.id,
        name=spec.name[:200],
        clusters=check_clusters(spec.clusters),
        keywords=check_keywords(spec.keywords),
        sources=[s.strip() for s in spec.sources if s.strip()],
        include_mentions=spec.include_mentions,
        frequency=spec.frequency,
        at_time=schedule.parse_at(spec.at_time).strftime("%H:%M"),
        weekday=spec.weekday,
        timezone=spec.timezone,
        send_empty=spec.send_empty,
        channels=check_channels(spec.email, spec.bots),
    )
    session.add(sub)
    session.flush()
    log.info("subscription created subscription=%s subscriber=%s", sub.id, subscriber.id)
    return sub
