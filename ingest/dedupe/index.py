"""The dedupe index's storage: LSH band rows and chunk hashes in the database, signatures cached in-process.

The tables are shared by every daemon (SQLite or PostgreSQL), so a restart or a second replica sees the same
history.  Each lookup is one indexed query: (band, hash) pairs on the B-tree ``ix_lsh_bands_key``, chunk hashes
(content-defined chunks of the text, see ingest.dedupe.fingerprint.chunk_spans) on ``ix_chunk_hashes_hash``.  Signatures never change
once stored, so caching them is always safe.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_
from sqlmodel import Session

from store import Article, ChunkHash, LshBand

log = logging.getLogger(__name__)
_CHUNK = 500  # bound parameter lists: SQLite allows 32766 variables, PostgreSQL 65535


@dataclass(frozen=True)
class StoredArticle:
    """What a verdict needs to know about an earlier article."""

    id: int
    verdict: str
    duplicate_of_id: int | None
    signature: list[int] | None


class SignatureCache:
    """A small LRU of article id → signature, so hot stories are not re-read from the database."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._items: OrderedDict[int, StoredArticle] = OrderedDict()

    def get(self, article_id: int) -> StoredArticle | None:
        item = self._items.get(article_id)
        if item is not None:
            self._items.move_to_end(article_id)
        return item

    def put(self, item: StoredArticle) -> None:
        self._items[item.id] = item
        self._items.move_to_end(item.id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def find_by_url(session: Session, url: str) -> int | None:
    """The earliest article stored under this canonical URL (or URL)."""
    stmt = select(func.min(Article.id)).where(or_(Article.canonical_url == url, Article.url == url))
    return session.execute(stmt).scalar()


def find_by_text_hash(session: Session, text_hash: str) -> list[int]:
    return list(
        session.execute(
            select(Article.id).where(Article.text_hash == text_hash).order_by(Article.id)
        ).scalars()
    )


def band_candidates(session: Session, bands: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Article id → number of LSH bands it shares with the query."""
    hits: dict[int, int] = {}
    if not bands:
        return hits
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":  # index probes for a row-value IN list (measured faster than an OR)
        cond = tuple_(LshBand.band, LshBand.hash).in_(list(bands))
    else:  # SQLite scans the table for a row-value IN, but plans an OR as one B-tree probe per band
        cond = or_(*(and_(LshBand.band == b, LshBand.hash == h) for b, h in bands))
    stmt = select(LshBand.article_id).where(cond)
    for article_id in session.execute(stmt).scalars():
        hits[article_id] = hits.get(article_id, 0) + 1
    return hits


def chunk_matches(session: Session, hashes: Sequence[int]) -> dict[int, set[int]]:
    """Article id → the query's chunk hashes that article also has."""
    out: dict[int, set[int]] = {}
    for chunk in _chunks(list(hashes)):
        stmt = select(ChunkHash.article_id, ChunkHash.hash).where(ChunkHash.hash.in_(chunk))
        for article_id, h in session.execute(stmt):
            out.setdefault(article_id, set()).add(h)
    return out


def common_chunks(session: Session, hashes: Sequence[int], min_stories: int = 2) -> set[int]:
    """The hashes found in at least ``min_stories`` different stories: site boilerplate, not story text."""
    common: set[int] = set()
    for chunk in _chunks(list(hashes)):
        stmt = (
            select(ChunkHash.hash)
            .join(Article, Article.id == ChunkHash.article_id)
            .where(ChunkHash.hash.in_(chunk))
            .group_by(ChunkHash.hash)
            .having(func.count(func.distinct(func.coalesce(Article.story_id, -Article.id))) >= min_stories)
        )
        common.update(session.execute(stmt).scalars())
    return common


def chunk_hashes_of(session: Session, article_id: int) -> set[int]:
    stmt = select(ChunkHash.hash).where(ChunkHash.article_id == article_id)
    return set(session.execute(stmt).scalars())


def chunk_sets(session: Session, article_ids: Iterable[int]) -> dict[int, set[int]]:
    """Article id → all its chunk hashes."""
    out: dict[int, set[int]] = {}
    for chunk in _chunks(list(article_ids)):
        stmt = select(ChunkHash.article_id, ChunkHash.hash).where(ChunkHash.article_id.in_(chunk))
        for article_id, h in session.execute(stmt):
            out.setdefault(article_id, set()).add(h)
    return out


def load_articles(session: Session, ids: Iterable[int], cache: SignatureCache) -> dict[int, StoredArticle]:
    """Verdict, duplicate-of and signature of each id, from the cache when possible."""
    out: dict[int, StoredArticle] = {}
    missing: list[int] = []
    for i in ids:
        item = cache.get(i)
        if item is None:
            missing.append(i)
        else:
            out[i] = item
    for chunk in _chunks(missing):
        stmt = select(Article.id, Article.verdict, Article.duplicate_of_id, Article.signature).where(
            Article.id.in_(chunk)  # type: ignore[union-attr]
        )
        for row in session.execute(stmt):
            item = StoredArticle(row[0], row[1], row[2], list(row[3]) if row[3] else None)
            cache.put(item)
            out[item.id] = item
    return out


def write_rows(
    session: Session, article_id: int, bands: Sequence[tuple[int, int]], chunk_hashes: Sequence[int]
) -> None:
    if bands:
        session.execute(insert(LshBand), [{"article_id": article_id, "band": b, "hash": h} for b, h in bands])
    if chunk_hashes:
        session.execute(insert(ChunkHash), [{"article_id": article_id, "hash": h} for h in chunk_hashes])


def delete_rows(session: Session) -> None:
    """Empty the index (before a rebuild)."""
    session.execute(delete(LshBand))
    session.execute(delete(ChunkHash))


def _chunks(items: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
