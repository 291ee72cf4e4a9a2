"""Dedupe speed and scale: fingerprinting rate, full ingest rate, and lookup latency / index size as history grows.

    .venv/bin/python -m bench.dedupe_scale                        # 10k and 100k, SQLite and PostgreSQL
    .venv/bin/python -m bench.dedupe_scale --sizes 10000,100000,1000000 --backends postgres

1. fingerprint: ingest.dedupe.fingerprint.fingerprint() on the calibration texts, one core (articles/s, chars/s).
2. ingest: DedupeIndex.store_article() = fingerprint + all lookups + insert + story, one commit per article, on each
   backend, after the seeds and calibration bases are indexed.
3. scale: the index tables are filled with synthetic articles (20 random band hashes each, and as many random
   chunk hashes as fingerprint() gives the calibration originals on average: rows_per_article()), bulk-inserted:
   executemany on SQLite, COPY on PostgreSQL; then 400 lookups (half of them hitting a stored article) run the
   real queries of a check: band candidates, chunk matches, boilerplate filter.  Latency median and p99 per
   lookup, and the on-disk size of lsh_bands + chunk_hashes (the chunk table) with their indexes.
PostgreSQL: XZNEWS_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/xznews_dev), in a throw-away schema.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

from ingest.dedupe import index as idx
from ingest.dedupe.fingerprint import BANDS, fingerprint
from ingest.dedupe.verdict import DedupeIndex, index_seed_articles
from store.db import init_db, make_engine, session_scope
from store.models import Article
from tests.gold.dedupe_calibration import ROOT, load, seed_articles

PG_URL = os.environ.get("XZNEWS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/xznews_dev")


def rows_per_article() -> float:
    """Mean containment-index rows (chunk hashes) that fingerprint() gives a calibration original."""
    texts = [[p for p in str(i["text"]).splitlines() if p.strip()] for i in load() if i["role"] == "base"]
    texts += [list(paras) for _ref, _title, paras in seed_articles()]
    return statistics.mean(len(fingerprint(t).chunk_hashes) for t in texts)


ROWS_PER_ARTICLE = 6.0  # set by main() from rows_per_article()


def _texts() -> list[list[str]]:
    return [[p for p in str(i["text"]).splitlines() if p.strip()] for i in load()]


def bench_fingerprint() -> None:
    texts = _texts()
    chars = sum(len("".join(t)) for t in texts)
    for t in texts[:20]:
        fingerprint(t)
    t0 = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for t in texts:
            fingerprint(t)
    dt = time.perf_counter() - t0
    n = rounds * len(texts)
    print(
        f"fingerprint: {n / dt:,.0f} articles/s, {rounds * chars / dt / 1e6:.2f} M chars/s "
        f"(mean article {chars / len(texts):,.0f} chars, one core)"
    )


@contextmanager
def _engine(backend: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="xznews-scale-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'scale.db'}")
            init_db(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL)

    @event.listens_for(engine, "connect")
    def _path(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi_conn.commit()

    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_ingest(backend: str) -> None:
    items = load()
    with _engine(backend) as engine:
        index = DedupeIndex()
        with session_scope(engine) as session:
            index_seed_articles(session, index, ROOT / "seeds")
        t0 = time.perf_counter()
        for item in items:
            paras = [p for p in str(item["text"]).splitlines() if p.strip()]
            with session_scope(engine) as session:
                article = Article(
                    source_name="bench", title=str(item["title"]), body="\n".join(paras), text_hash=""
                )
                index.store_article(session, article, paras)
        dt = time.perf_counter() - t0
    print(
        f"ingest ({backend}): {len(items) / dt:,.0f} articles/s "
        f"(fingerprint + lookups + insert + story, one commit each, {len(items)} articles)"
    )


def _synthetic_rows(
    start: int, stop: int, rng: random.Random
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    arts, bands, paras = [], [], []
    for aid in range(start, stop):
        arts.append((aid, "bench", "", "", f"{aid:064x}", "new", False, True))
        bands.extend((aid, b, rng.getrandbits(63)) for b in range(BANDS))
        n = int(ROWS_PER_ARTICLE) + (rng.random() < ROWS_PER_ARTICLE % 1)  # a fractional mean on average
        paras.extend((aid, rng.getrandbits(63)) for _ in range(n))
    return arts, bands, paras


_ART_COLS = "id, source_name, title, body, text_hash, verdict, is_seed, alertable"


def _fill(engine: Engine, start: int, stop: int, rng: random.Random) -> None:
    step = 50_000
    for lo in range(start, stop, step):
        arts, bands, paras = _synthetic_rows(lo, min(lo + step, stop), rng)
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                with raw.cursor() as cur:
                    for table, cols, rows in (
                        (
                            "articles",
                            _ART_COLS
                            + ", fetched_at, clusters, mentions, scores, evidence, xuzhou_score, development_score",
                            None,
                        ),
                        ("lsh_bands", "article_id, band, hash", bands),
                        ("chunk_hashes", "article_id, hash", paras),
                    ):
                        if rows is None:
                            rows = [
                                (*a, "2024-01-01T00:00:00Z", "[]", "[]", "{}", "{}", 0.0, 0.0) for a in arts
                            ]
                        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.executemany(
                    f"INSERT INTO articles ({_ART_COLS}, fetched_at, clusters, mentions, scores, evidence, "
                    "xuzhou_score, development_score) VALUES (?,?,?,?,?,?,?,?,'2024-01-01 00:00:00','[]','[]','{}','{}',0,0)",
                    arts,
                )
                cur.executemany("INSERT INTO lsh_bands (article_id, band, hash) VALUES (?,?,?)", bands)
                cur.executemany("INSERT INTO chunk_hashes (article_id, hash) VALUES (?,?)", paras)
                raw.commit()
            finally:
                raw.close()


def _size_mb(engine: Engine) -> float:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            total = conn.execute(
                text("select pg_total_relation_size('lsh_bands') + pg_total_relation_size('chunk_hashes')")
            ).scalar()
        else:
            total = conn.execute(
                text(
                    "select sum(pgsize) from dbstat where name in ('lsh_bands', 'chunk_hashes', 'ix_lsh_bands_key', "
                    "'ix_lsh_bands_article_id', 'ix_chunk_hashes_hash', 'ix_chunk_hashes_article_id')"
                )
            ).scalar()
    return (total or 0) / 1e6


_WARMUP = 20  # untimed: the first queries pay for connecting and cold caches


def _lookups(engine: Engine, n_stored: int, rng: random.Random, count: int = 400 + _WARMUP) -> list[float]:
    times = []
    with Session(engine) as session:
        for i in range(count):
            if i % 2 == 0:  # a stored article's own bands: a hit
                aid = rng.randrange(1, n_stored)
                bands = [
                    (b, h)
                    for b, h in session.execute(
                        text("select band, hash from lsh_bands where article_id = :a"), {"a": aid}
                    )
                ]
                paras = [
                    h
                    for (h,) in session.execute(
                        text("select hash from chunk_hashes where article_id = :a"), {"a": aid}
                    )
                ]
            else:
                bands = [(b, rng.getrandbits(63)) for b in range(BANDS)]
                paras = [rng.getrandbits(63) for _ in range(round(ROWS_PER_ARTICLE))]
            t0 = time.perf_counter()
            idx.band_candidates(session, bands)
            matches = idx.chunk_matches(session, paras)
            if matches:
                idx.common_chunks(session, set().union(*matches.values()))
            if i >= _WARMUP:
                times.append(time.perf_counter() - t0)
    return times


def bench_scale(backend: str, sizes: list[int]) -> None:
    rng = random.Random(7)
    print(f"\nscale ({backend}): | stored articles | fill time | lookup median | lookup p99 | index size |")
    print("|---|---:|---:|---:|---:|")
    with _engine(backend) as engine:
        stored = 1
        for size in sizes:
            t0 = time.perf_counter()
            _fill(engine, stored, size + 1, rng)
            fill = time.perf_counter() - t0
            stored = size + 1
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            times = _lookups(engine, stored, rng)
            times.sort()
            p99 = times[int(len(times) * 0.99) - 1]
            print(
                f"| {size:,} | {fill:.0f} s | {1000 * statistics.median(times):.2f} ms | {1000 * p99:.2f} ms "
                f"| {_size_mb(engine):,.0f} MB |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated stored-article counts")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--skip-ingest", action="store_true", help="only the scale part")
    args = parser.parse_args()
    global ROWS_PER_ARTICLE
    ROWS_PER_ARTICLE = rows_per_article()
    print(f"containment-index rows per article (calibration originals): {ROWS_PER_ARTICLE:.2f}")
    backends = args.backends.split(",")
    if not args.skip_ingest:
        bench_fingerprint()
        for b in backends:
            bench_ingest(b)
    for b in backends:
        bench_scale(b, [int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
