"""Dedupe in few round trips: one query for the URL and exact layers, one candidate query, bounded fan-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event

from ingest.dedupe import index as idx
from ingest.dedupe.fingerprint import fingerprint
from ingest.dedupe.verdict import DedupeIndex
from store import session_scope
from store.models import Article
from tests.gold.dedupe_articles import BASES

BOILERPLATE = (
    "更多徐州产业发展资讯，请关注本网产业频道和官方客户端，第一时间获取权威发布的项目进展与政策解读。"
)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _store(engine: Engine, index: DedupeIndex, paras: list[str]) -> object:
    with session_scope(engine) as session:
        article = Article(source_name="t", title="t", body="\n".join(paras), text_hash="")
        return index.store_article(session, article, paras)


def test_a_check_reads_the_database_in_at_most_five_statements(engine: Engine) -> None:
    index = DedupeIndex()
    for key in ("xcmg_loader", "tongshan_pv", "datacenter", "suining_textile"):
        _store(engine, index, [*BASES[key][1], BOILERPLATE])
    probe = [*BASES["tongshan_pv"][1][:3], BOILERPLATE]  # an excerpt: every layer runs, text check included
    with _statements(engine) as seen, session_scope(engine) as session:
        verdict = DedupeIndex().check(session, title="", paragraphs=probe)  # cold caches: the worst case
    assert verdict.verdict == "duplicate"
    reads = [s for s in seen if s in ("SELECT", "WITH")]
    # URL+exact, candidates, signatures, chunk sets with boilerplate flags, earlier bodies.
    assert len(reads) <= 5, seen


def test_a_boilerplate_chunk_brings_a_bounded_number_of_candidates(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idx, "MAX_CHUNK_ROWS", 2)
    index = DedupeIndex()
    keys = ["xcmg_loader", "tongshan_pv", "datacenter", "suining_textile", "pizhou_materials"]
    for key in keys:
        _store(engine, index, [*BASES[key][1], BOILERPLATE])
    boiler = fingerprint([BOILERPLATE]).chunk_hashes
    with session_scope(engine) as session:
        _bands, hits = idx.find_candidates(session, [], boiler)
    assert 0 < len(hits) <= 2 * len(boiler)
    # The capped boilerplate does not hide a repost: its own chunks find the original.
    verdict = _store(engine, index, [*BASES["pizhou_materials"][1][:2], BOILERPLATE])
    assert verdict.verdict == "duplicate"  # type: ignore[attr-defined]
