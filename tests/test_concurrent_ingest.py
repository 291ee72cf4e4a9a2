"""Two workers that meet the same story at the same moment store it once as new and once as a duplicate."""

from __future__ import annotations

import contextlib
import threading

from sqlmodel import select

from ingest.dedupe.verdict import DedupeIndex
from ingest.pipeline import run_ingest
from store.db import session_scope
from store.models import Article
from tests.test_pipeline import ARTICLE, _rss, _settings, _source


def test_the_same_story_from_two_sources_at_once_is_new_once(engine, tmp_path, http_server, monkeypatch):
    for n in (1, 2):
        http_server.add(
            f"/feed{n}.xml",
            _rss(http_server.base_url, [f"/copy{n}.html"]),
            content_type="application/rss+xml",
        )
        http_server.add(f"/copy{n}.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(
        tmp_path,
        _source("one", http_server.url("/feed1.xml")) + _source("two", http_server.url("/feed2.xml")),
    )
    # Both workers are let into the dedupe check together if nothing serializes them: the barrier, on the
    # call the pipeline makes for every article (store_article: check, then insert), waits for the second.
    # With the dedupe lock in place the second never arrives while the first is inside, so the first gives
    # up waiting and goes on alone.
    barrier = threading.Barrier(2, timeout=2)
    original = DedupeIndex.store_article
    arrived: list[str] = []

    def store_together(self, session, article, paragraphs):  # type: ignore[no-untyped-def]
        arrived.append(article.url)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return original(self, session, article, paragraphs)

    monkeypatch.setattr(DedupeIndex, "store_article", store_together)
    threads = [
        threading.Thread(target=run_ingest, args=(settings, engine, [name])) for name in ("one", "two")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with session_scope(engine) as session:
        verdicts = sorted(a.verdict for a in session.exec(select(Article)))
    assert verdicts == ["duplicate", "new"]
    assert len(arrived) == 2  # the barrier sat on the path that ran
