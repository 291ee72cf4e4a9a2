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
from typing import Generic, TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, tuple_
from sqlmodel import Session

from store import Article, ChunkHash, LshBand

log = logging.getLogger(__name__)
MAX_CHUNK_ROWS = 200  # articles a chunk hash brings as candidates (see find_candidates)
_CHUNK = 500  # bound parameter lists: SQLite allows 32766 variables, PostgreSQL 65535


@dataclass(frozen=True)
class StoredArticle:
    """What a verdict needs to know about an earlier article."""

    id: int
    verdict: str
    duplicate_of_id: int | None
    signature: list[int] | None


K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A least-recently-used map with at most ``size`` entries: the daemon runs for months."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def set(self, key: K, item: V) -> None:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class SignatureCache(BoundedCache[int, StoredArticle]):
    """Article id → what a verdict needs of it (signatures never change once stored), so hot stories are not
    re-read from the database.  20k entries ≈ 30 MB."""

    def __init__(self, size: int = 20_000) -> None:
        super().__init__(size)

    def put(self, item: StoredArticle) -> None:
        self.set(item.id, item)


@dataclass(frozen=True)
class Known:
    """What the URL and exact layers found: the earliest article under the URL, and those with the same text."""

    by_url: int | None
    by_hash: list[tuple[int, str]]  # (id, verdict), oldest first


def find_known(session: Session, url: str | None, text_hash: str | None) -> Known:
    """The URL layer and the exact layer in one query (the article's canonical URL, its text hash)."""
    conds = []
    if url:
        conds += [Article.canonical_url == url, Article.url == url]
    if text_hash:
        conds.append(Article.text_hash == text_hash)
    if not conds:
        return Known(None, [])
    stmt = select(Article.id, Article.verdict, Article.canonical_url, Article.url, Article.text_hash)
    by_url: int | None = None
    by_hash: list[tuple[int, str]] = []
    for row in session.execute(stmt.where(or_(*conds)).order_by(Article.id)):
        if url and url in (row[2], row[3]) and by_url is None:
            by_url = row[0]
        if text_hash and row[4] == text_hash:
            by_hash.append((row[0], row[1]))
    return Known(by_url, by_hash)


def find_candidates(
    session: Session, bands: Sequence[tuple[int, int]], hashes: Sequence[int]
) -> tuple[dict[int, int], dict[int, set[int]]]:
    """The LSH and containment candidates in one query: article id → bands shared, article id → chunks shared.

    Each chunk hash brings at most MAX_CHUNK_ROWS articles (the first in index order, about the oldest): a hash
    carried by more is site boilerplate (chunk_sets_with_common() says so), and without the cap one boilerplate
    line would bring back a third of history.  Plain SQL, built by count: this runs once per stored article, and
    building the same expression tree every time cost more than the query.
    """
    params: dict[str, int] = {}
    parts: list[str] = []
    if bands:
        if session.get_bind().dialect.name == "postgresql":  # index probes for a row-value IN list
            cond = "(band, hash) IN (" + ", ".join(f"(:b{i}, :h{i})" for i in range(len(bands))) + ")"
        else:  # SQLite scans the table for a row-value IN, but plans an OR as one B-tree probe per band
            cond = " OR ".join(f"(band = :b{i} AND hash = :h{i})" for i in range(len(bands)))
        parts.append(f"SELECT article_id, 0 AS kind, hash FROM lsh_bands WHERE {cond}")
        for i, (band, h) in enumerate(bands):
            params[f"b{i}"], params[f"h{i}"] = band, h
    for i, h in enumerate(hashes[:_CHUNK]):
        parts.append(
            f"SELECT * FROM (SELECT article_id, 1 AS kind, hash FROM chunk_hashes WHERE hash = :c{i} "
            f"LIMIT {MAX_CHUNK_ROWS}) AS c{i}"
        )
        params[f"c{i}"] = h
    band_hits: dict[int, int] = {}
    chunk_hits: dict[int, set[int]] = {}
    if not parts:
        return band_hits, chunk_hits
    for article_id, kind, h in session.execute(text(" UNION ALL ".join(parts)), params):
        if kind == 0:
            band_hits[article_id] = band_hits.get(article_id, 0) + 1
        else:
            chunk_hits.setdefault(article_id, set()).add(h)
    return band_hits, chunk_hits


# A chunk hash is boilerplate when an article of another story has it too.  EXISTS stops at the first such article,
# however many carry the hash.
_CHUNK_SETS_SQL = """
SELECT c.article_id, c.hash, EXISTS (
    SELECT 1 FROM chunk_hashes o JOIN articles oa ON oa.id = o.article_id
    WHERE o.hash = c.hash AND COALESCE(oa.story_id, -oa.id) <> COALESCE(a.story_id, -a.id)
) AS common
FROM chunk_hashes c JOIN articles a ON a.id = c.article_id
WHERE c.article_id IN :ids
"""
_CHUNK_SETS = text(_CHUNK_SETS_SQL).bindparams(bindparam("ids", expanding=True))


def chunk_sets_with_common(
    session: Session, article_ids: Sequence[int]
) -> tuple[dict[int, set[int]], set[int]]:
    """Each article's chunk hashes, and which of them are site boilerplate (found in another story too).

    One query; the same answer as common_chunks() ("found in ≥ 2 stories") for these articles' hashes.
    """
    sets: dict[int, set[int]] = {}
    common: set[int] = set()
    for chunk in _chunks(list(article_ids)):
        for article_id, h, is_common in session.execute(_CHUNK_SETS, {"ids": chunk}):
            sets.setdefault(article_id, set()).add(h)
            if is_common:
                common.add(h)
    return sets, common


def bodies_of(session: Session, article_ids: Sequence[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for chunk in _chunks(list(article_ids)):
        out.update(session.execute(select(Article.id, Article.body).where(Article.id.in_(chunk))).all())
    return out


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
    # Core executemany on the session's connection: the ORM bulk path costs twice the CPU for plain rows.
    conn = session.connection()
    if bands:
        conn.execute(
            insert(LshBand.__table__), [{"article_id": article_id, "band": b, "hash": h} for b, h in bands]
        )
    if chunk_hashes:
        conn.execute(
            insert(ChunkHash.__table__), [{"article_id": article_id, "hash": h} for h in chunk_hashes]
        )


def delete_rows(session: Session) -> None:
    """Empty the index (before a rebuild)."""
    session.execute(delete(LshBand))
    session.execute(delete(ChunkHash))


def _chunks(items: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
