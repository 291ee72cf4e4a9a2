"""Builders for the alerts tests: settings, articles and subscriptions inserted directly."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from alerts.subscribers import new_token
from core.settings import Settings, SmtpSettings
from store.db import session_scope
from store.models import Article, Story, Subscriber, Subscription
from tests.servers import SMTPSink, free_port  # noqa: F401  (re-exported for the alerts tests)

T0 = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
# Windows close this far behind the dispatcher's clock (alerts/dispatch.py): a digest due at a slot goes out
# once the clock is SETTLE past it, and its window ends at clock - SETTLE.
SETTLE = timedelta(seconds=Settings.model_fields["digest_settle_s"].default)
_seq = itertools.count(1)


def make_settings(tmp_path: Path, smtp_port: int | None = None) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, security="none") if smtp_port else SmtpSettings()
    return Settings(
        data_dir=tmp_path,
        smtp=smtp,
        mail_from="徐州产业动态 <digest@news.example.org>",
        public_base_url="https://news.example.org",
    )


def add_article(engine: Engine, **kw: Any) -> int:
    n = next(_seq)
    values: dict[str, Any] = {
        "url": f"https://www.xz.gov.cn/a/{n}.html",
        "source_name": "xz_gov",
        "site": "www.xz.gov.cn",
        "title": f"徐工集团发布新款挖掘机 {n}",
        "body": "徐工集团今日发布新款电动挖掘机。该机型能耗降低三成。首批产品将出口欧洲。公司表示将继续加大研发投入。",
        "text_hash": f"x{n:063d}",
        "clusters": ["engineering_machinery"],
        "evidence": {"engineering_machinery": ["徐工", "挖掘机"]},
        "scores": {"engineering_machinery": 3.0},
        "fetched_at": T0 + timedelta(hours=2),
        "published_at": T0 + timedelta(hours=1),
        "alertable": True,
    }
    values.update(kw)
    with session_scope(engine) as session:
        art = Article(**values)
        session.add(art)
        session.flush()
        return art.id  # type: ignore[return-value]


def add_story(engine: Engine, article_ids: list[int]) -> int:
    with session_scope(engine) as session:
        story = Story(first_article_id=article_ids[0])
        session.add(story)
        session.flush()
        for aid in article_ids:
            session.get(Article, aid).story_id = story.id  # type: ignore[union-attr]
        return story.id  # type: ignore[return-value]


def add_subscription(engine: Engine, email: str = "reader@example.com", **kw: Any) -> tuple[int, str]:
    """A confirmed subscriber with one subscription created at T0; returns (subscription id, unsub token)."""
    with session_scope(engine) as session:
        subscriber = session.exec(select(Subscriber).where(Subscriber.email == email)).first()
        if subscriber is None:
            subscriber = Subscriber(email=email, confirmed=True, unsubscribe_token=new_token(), created_at=T0)
            session.add(subscriber)
            session.flush()
        values: dict[str, Any] = {"frequency": "daily", "at_time": "08:00", "created_at": T0}
        values.update(kw)
        sub = Subscription(subscriber_id=subscriber.id, **values)
        session.add(sub)
        session.flush()
        return sub.id, subscriber.unsubscribe_token  # type: ignore[return-value]


def running_sink() -> Iterator[SMTPSink]:
    """Body of the `smtp_server` fixture the alerts tests define."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()
