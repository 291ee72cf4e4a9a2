"""The whole flow on real parts: the fixture site over HTTP, a database, one ingest pass, an SMTP server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from alerts.dispatch import dispatch_due
from alerts.subscribers import get_or_create
from alerts.subscriptions import SubscriptionSpec, create_subscription
from ingest.pipeline import run_ingest
from ingest.seeds import load_seeds
from store.db import session_scope
from store.models import Article, utcnow
from xznews.demo import demo_settings, demo_sources_toml
from xznews.demo_server import DemoSite

CLUSTERS = ["engineering_machinery", "green_energy", "ic_ict", "health", "safety_emergency", "textiles"]


@pytest.fixture
def site():
    with DemoSite() as s:
        yield s


def _settings(tmp_path: Path, site: DemoSite, smtp_port: int):
    sources = tmp_path / "sources.toml"
    sources.write_text(demo_sources_toml(site.base_url), encoding="utf-8")
    return demo_settings(tmp_path, sources, f"127.0.0.1:{smtp_port}")


def test_one_ingest_pass_and_one_digest_deliver_each_new_story_once(engine, tmp_path, site, smtp_server):
    settings = _settings(tmp_path, site, smtp_server.port)
    load_seeds(engine)
    with session_scope(engine) as session:
        subscriber, _ = get_or_create(session, "analyst@example.com", confirmed=True)
        create_subscription(session, subscriber, SubscriptionSpec(clusters=CLUSTERS, frequency="immediate"))

    reports = run_ingest(settings, engine)

    assert [r.error for r in reports] == [None, None, None]
    assert sum(r.fetched for r in reports) == 8
    assert sum(r.duplicates for r in reports) == 1  # the repost of seed 003
    with session_scope(engine) as session:
        repost = session.exec(select(Article).where(Article.url.like("%art_33718_90070%"))).one()  # type: ignore[union-attr]
        original = session.get(Article, repost.duplicate_of_id)
        assert repost.verdict == "duplicate" and not repost.alertable
        assert original is not None and original.is_seed and original.seed_ref.startswith("003_")

    # The daemon's next round once the settle lag has passed (windows close that far behind the clock).
    later = utcnow() + timedelta(seconds=settings.digest_settle_s)
    report = dispatch_due(engine, settings, later)

    assert report.sent == 1
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == "analyst@example.com"
    assert msg["Subject"].startswith("徐州产业动态 ")
    assert "6条" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # Grouped by cluster in 343 order, each new story under its cluster, the marathon (no cluster) left out.
    headings = ["工程机械", "绿色低碳能源", "集成电路与ICT", "医药健康", "安全应急", "高端纺织"]
    positions = [text.index(f"## {h}") for h in headings]
    assert positions == sorted(positions)
    assert text.index("徐工4000吨级履带起重机下线") > positions[0]
    assert positions[5] < text.index("睢宁高端纺织产业园")
    assert "马拉松" not in text
    # The repost of a seed article is absent from both parts.
    assert "同频共振聚合力" not in text and "同频共振聚合力" not in html

    again = dispatch_due(engine, settings, later + timedelta(minutes=1))

    assert again.sent == 0
    assert len(smtp_server.messages) == 1


def test_a_second_ingest_pass_fetches_nothing_already_stored(sqlite_engine, tmp_path, site, smtp_server):
    settings = _settings(tmp_path, site, smtp_server.port)
    run_ingest(settings, sqlite_engine)
    reports = run_ingest(settings, sqlite_engine)
    assert sum(r.fetched for r in reports) == 0
    assert all(r.error is None for r in reports)
