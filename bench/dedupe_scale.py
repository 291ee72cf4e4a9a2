"""The whole dedupe verdict path per new article over a PostgreSQL history of realistic text: p50 and p99.

    .venv/bin/python bench/dedupe_scale.py --size 100000 [--probes 400]
    .venv/bin/python bench/dedupe_scale.py --size 1000000            # the issue's figure (hours to fill here)

Fill: ``--size`` generated articles (bench/cms_site.py: generated prose, a boilerplate closing paragraph in a
third of them, 3 % near-duplicates and 3 % updates, each in its story), fingerprinted with the real
fingerprint() and bulk-loaded with COPY into articles, stories, lsh_bands and chunk_hashes, then ANALYZE.
Timed: for each probe (half new stories, a quarter reposts with an edit, a quarter excerpts/updates of a stored
article), what ingest does — ``DedupeIndex.store_article()`` inside ``store.dedupe_session()`` and its commit:
URL and exact layers, candidate query, signature loads, boilerplate flags, re-fingerprinting earlier bodies,
insert of the article and its index rows, story update.  One DedupeIndex for all probes, as in the daemon.
A profile of the probes says which step dominates.
PostgreSQL: XZNEWS_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/xznews_dev), in a throw-away schema.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text  # noqa: E402

from bench.cms_site import GenArticle, iter_articles  # noqa: E402
from bench.pg import pg_engine  # noqa: E402
from ingest.dedupe import index as idx  # noqa: E402
from ingest.dedupe import verdict as verdict_mod  # noqa: E402
from ingest.dedupe.fingerprint import fingerprint  # noqa: E402
from ingest.dedupe.verdict import DedupeIndex  # noqa: E402
from store import dedupe_session  # noqa: E402
from store.models import Article  # noqa: E402
from xznews.cli.progress import progress  # noqa: E402

# What the verdict path calls, by step: (module, function name) wrapped with a timer for the profiled probes.
STEPS = {
    "URL + exact layers": (idx, "find_known"),
    "candidate query": (idx, "find_candidates"),
    "signature loads": (idx, "load_articles"),
    "chunk sets + boilerplate flags": (idx, "chunk_sets_with_common"),
    "earlier bodies read": (idx, "bodies_of"),
    "fingerprints (new + earlier)": (verdict_mod, "fingerprint"),
    "index row inserts": (idx, "write_rows"),
    "story update": (verdict_mod, "assign_story"),
}


@contextmanager
def timed_steps() -> Iterator[dict[str, float]]:
    """Wall time spent in each step (no profiler overhead: a perf_counter around each call)."""
    spent = dict.fromkeys(STEPS, 0.0)
    saved = []
    for step, (module, name) in STEPS.items():
        original = getattr(module, name)

        def wrapper(*a, _f=original, _s=step, **kw):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return _f(*a, **kw)
            finally:
                spent[_s] += time.perf_counter() - start

        saved.append((module, name, original))
        setattr(module, name, wrapper)
    try:
        yield spent
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


_ARTICLE_COLS = (
    "id, url, canonical_url, source_name, site, title, fetched_at, body, text_hash, signature, verdict, "
    "duplicate_of_id, similarity, story_id, clusters, mentions, scores, evidence, xuzhou_score, "
    "development_score, alertable, is_seed"
)


def fill(engine: Engine, size: int) -> tuple[float, dict[str, int]]:
    """COPY ``size`` fingerprinted articles with their stories and index rows; returns seconds and row counts."""
    start = time.perf_counter()
    story_of: dict[int, int] = {}  # article id (1-based) → story id
    counts = {"articles": 0, "lsh_bands": 0, "chunk_hashes": 0}
    now = datetime.now(UTC).isoformat()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with progress("fill", total=size, unit="articles") as report:
            rows: list[tuple[GenArticle, object]] = []
            for a in iter_articles(size, columns=8, seed=11):
                aid = a.id + 1
                base = a.of + 1 if a.of is not None else None
                story_of[aid] = story_of.get(base, aid) if base else aid
                rows.append((a, fingerprint(a.paragraphs)))
                if len(rows) == 5000 or a.id == size - 1:
                    _copy_batch(cur, rows, story_of, now, counts)
                    rows = []
                    report(a.id + 1)
        for table in ("articles", "stories", "lsh_bands", "chunk_hashes"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - start, counts


def _copy_batch(cur, rows, story_of, now, counts) -> None:  # type: ignore[no-untyped-def]
    with cur.copy("COPY stories (id, first_article_id, created_at) FROM STDIN") as cp:
        for a, _fp in rows:
            if story_of[a.id + 1] == a.id + 1:  # an original starts its story
                cp.write_row((a.id + 1, a.id + 1, now))
    with cur.copy(f"COPY articles ({_ARTICLE_COLS}) FROM STDIN") as cp:
        for a, fp in rows:
            aid = a.id + 1
            url = f"https://bench{a.column}.example/art_{a.id}.html"
            verdict = {"original": "new", "near": "duplicate", "update": "update"}[a.kind]
            of = a.of + 1 if a.of is not None else None
            cp.write_row((aid, url, url, f"bench-col{a.column}", f"bench{a.column}.example", a.title, now,
                          "\n".join(a.paragraphs), fp.text_hash, json.dumps(fp.signature), verdict, of,
                          None if of is None else 0.9, story_of[aid], "[]", "[]", "{}", "{}", 0.5, 0.5,
                          False, False))  # fmt: skip
    with cur.copy("COPY lsh_bands (article_id, band, hash) FROM STDIN") as cp:
        for a, fp in rows:
            for band, h in fp.bands:
                cp.write_row((a.id + 1, band, h))
                counts["lsh_bands"] += 1
    with cur.copy("COPY chunk_hashes (article_id, hash) FROM STDIN") as cp:
        for a, fp in rows:
            for h in fp.chunk_hashes:
                cp.write_row((a.id + 1, h))
                counts["chunk_hashes"] += 1
    counts["articles"] += len(rows)


def probes(engine: Engine, size: int, n: int) -> list[tuple[str, list[str], str]]:
    """(kind, paragraphs, title): new stories, and reposts / excerpts / updates of stored articles."""
    rng = random.Random(5)
    fresh = iter_articles(n, columns=8, seed=99, dup_share=0, update_share=0)
    ids = rng.sample(range(1, size + 1), n)
    with engine.connect() as conn:
        bodies = dict(
            conn.execute(text("SELECT id, body FROM articles WHERE id = ANY(:ids)"), {"ids": ids}).all()
        )
    out = []
    for i, new in enumerate(fresh):
        if i % 2 == 0:
            out.append(("new", new.paragraphs, new.title))
            continue
        stored = bodies[ids[i]].split("\n")
        if i % 4 == 1:
            edited = list(stored)
            edited[0] = "（转载）" + edited[0][:-1] + "，" + new.paragraphs[0]
            out.append(("repost", edited, "repost"))
        else:
            out.append(("excerpt/update", stored[:3] if i % 8 == 3 else [*stored, new.paragraphs[1]], "copy"))
    return out


def time_probes(
    engine: Engine, items: list[tuple[str, list[str], str]], tag: str
) -> tuple[list[float], dict[str, int]]:
    index = DedupeIndex()
    times: list[float] = []
    verdicts: dict[str, int] = {}
    for n, (_kind, paras, title) in enumerate(items):
        start = time.perf_counter()
        with dedupe_session(engine) as session:
            article = Article(url=f"https://probe.example/{tag}/{n}", canonical_url=None,
                              source_name="probe", site="probe.example", title=title, body="\n".join(paras),
                              text_hash="")  # fmt: skip
            verdict = index.store_article(session, article, paras)
        times.append(time.perf_counter() - start)
        verdicts[verdict.verdict] = verdicts.get(verdict.verdict, 0) + 1
    return times, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, default=100_000, help="Articles in the history (the issue: 1000000)."
    )
    parser.add_argument("--probes", type=int, default=400)
    args = parser.parse_args()
    with pg_engine() as engine:
        fill_s, counts = fill(engine, args.size)
        items = probes(engine, args.size, args.probes * 2)
        warm, timed = items[: args.probes], items[args.probes :]
        time_probes(engine, warm[:50], "warm")  # connections, prepared statements, plan caches
        times, verdicts = time_probes(engine, timed, "timed")
        with timed_steps() as spent:
            profiled, _v = time_probes(engine, warm[50:], "profiled")
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"history: {counts['articles']:,} articles, {counts['lsh_bands']:,} band rows, "
        f"{counts['chunk_hashes']:,} chunk rows on PostgreSQL (filled in {fill_s:.0f} s)"
    )
    print(
        f"whole verdict path (store_article in dedupe_session, commit included), {len(ms)} probes: "
        f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, mean {statistics.mean(ms):.1f} ms; "
        f"verdicts {verdicts}; goal p99 ≤ 10 ms at 1M"
    )
    total = sum(profiled)
    print(f"where the time goes, {len(profiled)} more probes ({total * 1000 / len(profiled):.1f} ms each):")
    for step, seconds in spent.items():
        print(f"  {step:<32} {seconds * 1000 / len(profiled):6.2f} ms  {seconds / total:4.0%}")
    rest = total - sum(spent.values())
    print(
        f"  {'rest (ORM insert, lock, commit)':<32} {rest * 1000 / len(profiled):6.2f} ms  {rest / total:4.0%}"
    )


if __name__ == "__main__":
    main()
