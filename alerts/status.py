"""What an operator needs at a glance: source health, the last delivery per subscription, articles by verdict."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store import Article, Delivery, Source, Subscriber, Subscription


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def recent_deliveries(session: Session, limit: int, *, include_empty: bool = False) -> list[dict[str, Any]]:
    """The newest delivery rows, one per (subscription, window), with their state."""
    stmt = (
        select(Delivery, Subscriber.email)
        .join(Subscription, col(Subscription.id) == col(Delivery.subscription_id))
        .join(Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id))
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    )
    if not include_empty:
        stmt = stmt.where(col(Delivery.status) != "empty")
    return [
        {
            "delivery_id": d.id,
            "subscription_id": d.subscription_id,
            "email": email,
            "window_start": _iso(d.window_start),
            "window_end": _iso(d.window_end),
            "status": d.status,
            "channels": d.channel,
            "attempts": d.attempts,
            "articles": len(d.article_ids),
            "sent_at": _iso(d.sent_at),
            "next_attempt_at": _iso(d.next_attempt_at),
            "message_id": d.message_id,
            "last_error": d.last_error,
        }
        for d, email in session.exec(stmt)
    ]


def collect_status(engine: Engine, history: int = 20) -> dict[str, Any]:
    with Session(engine) as session:
        sources = [
            {
                "name": s.name,
                "last_success_at": _iso(s.last_success_at),
                "consecutive_failures": s.consecutive_failures,
                "last_error": s.last_error,
                "flagged": s.flagged,
            }
            for s in session.exec(select(Source).order_by(col(Source.name)))
        ]
        verdicts = dict(session.exec(select(Article.verdict, func.count()).group_by(Article.verdict)).all())
        alertable = session.exec(select(func.count()).where(Article.alertable == True)).one()  # noqa: E712
        latest_ids = select(func.max(Delivery.id)).group_by(Delivery.subscription_id)
        latest = {
            d.subscription_id: d
            for d in session.exec(select(Delivery).where(col(Delivery.id).in_(latest_ids)))
        }
        failing = dict(
            session.exec(
                select(Delivery.subscription_id, func.count())
                .where(col(Delivery.status).in_(["failed", "pending"]))
                .group_by(Delivery.subscription_id)
            ).all()
        )
        recent = recent_deliveries(session, history) if history else []
        subs = []
        rows = session.exec(
            select(Subscription, Subscriber)
            .join(Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id))
            .order_by(col(Subscription.id))
        ).all()
        for sub, subscriber in rows:
            d = latest.get(sub.id)
            subs.append(
                {
                    "subscription_id": sub.id,
                    "email": subscriber.email,
                    "active": sub.active and subscriber.unsubscribed_at is None,
                    "confirmed": subscriber.confirmed,
                    "frequency": sub.frequency,
                    "last_success_at": _iso(sub.last_success_at),
                    "last_status": d.status if d else None,
                    "attempts": d.attempts if d else 0,
                    "next_attempt_at": _iso(d.next_attempt_at) if d else None,
                    "last_error": d.last_error if d else None,
                    "open_problems": failing.get(sub.id, 0),
                    "consecutive_failures": sub.consecutive_failures,
                    "failing": sub.consecutive_failures > 0
                    or (d is not None and d.status in ("failed", "pending")),
                    "disabled_reason": sub.disabled_reason,
                }
            )
        # Messages handed to the SMTP server whose reply never came: maybe delivered, maybe not.
        unknown = [
            {
                "delivery_id": d.id,
                "subscription_id": d.subscription_id,
                "status": d.status,
                "message_id": d.message_id,
                "handed_over_at": _iso(d.sent_pending_at),
                "resend_after": _iso(d.next_attempt_at) if d.status == "sent-pending" else None,
                "last_error": d.last_error,
            }
            for d in session.exec(
                select(Delivery)
                .where(col(Delivery.status).in_(["sent-pending", "unknown"]))
                .order_by(col(Delivery.id).desc())
                .limit(max(history, 20))
            )
        ]
    return {
        "sources": sources,
        "articles": {"by_verdict": verdicts, "alertable": alertable, "total": sum(verdicts.values())},
        "deliveries": subs,
        "recent_deliveries": recent,
        "unknown_outcome": unknown,
    }
