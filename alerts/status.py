"""What an operator needs at a glance: source health, the last delivery per subscription, articles by verdict."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from xznews.models import Article, Delivery, Source, Subscriber, Subscription


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def collect_status(engine: Engine) -> dict[str, Any]:
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
                }
            )
    return {
        "sources": sources,
        "articles": {"by_verdict": verdicts, "alertable": alertable, "total": sum(verdicts.values())},
        "deliveries": subs,
    }
