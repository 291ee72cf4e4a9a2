"""A source that keeps failing is flagged where people look: `xznews status` and the digests that read it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from alerts.dispatch import dispatch_due
from alerts.status import collect_status
from ingest.pipeline import run_ingest
from store.db import session_scope
from store.models import Source
from tests.alerts_support import add_article, add_subscription
from tests.test_pipeline import _settings, _source


def test_a_failing_source_is_flagged_in_status_and_noted_in_digests(engine, tmp_path, http_server):
    http_server.add("/dead.xml", "boom", status=503, content_type="text/plain")
    settings = _settings(tmp_path, _source("county-portal", http_server.url("/dead.xml")))
    for _ in range(3):
        run_ingest(settings, engine)
    with session_scope(engine) as session:
        row = session.exec(select(Source)).one()
    assert row.flagged and row.flagged.startswith("failing: 3 consecutive failures")
    (status,) = collect_status(engine)["sources"]
    assert status["flagged"] == row.flagged

    now = datetime.now(UTC)
    add_subscription(engine, frequency="immediate", created_at=now - timedelta(hours=1))
    add_article(engine, fetched_at=now - timedelta(minutes=30))
    dispatch_due(engine, settings, now=now)

    (eml,) = settings.outbox.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "信息源提示" in text and "county-portal：近期连续抓取失败" in text
    assert "county-portal" in html


def test_a_recovered_source_is_no_longer_flagged(sqlite_engine, tmp_path, http_server):
    http_server.add("/feed.xml", "boom", status=503, content_type="text/plain")
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))
    for _ in range(3):
        run_ingest(settings, sqlite_engine)
    http_server.add(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        f"<item><title>t</title><link>{http_server.url('/gone.html')}</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    run_ingest(settings, sqlite_engine)
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Source)).one().flagged is None
