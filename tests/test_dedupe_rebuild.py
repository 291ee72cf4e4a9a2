"""`dedupe rebuild` builds the index that ingest built, under the lock that ingest takes; progress bars on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import Engine, select

from ingest.dedupe import rebuild_index
from ingest.dedupe.verdict import DedupeIndex
from store import dedupe_session, init_db, make_engine, session_scope
from store.models import Article, ChunkHash, LshBand
from tests.gold.dedupe_articles import BASES, SAME_EVENT

ROOT = Path(__file__).resolve().parents[1]


def _store(
    engine: Engine,
    index: DedupeIndex,
    paras: list[str],
    url: str | None = None,
    *,
    fetched: str | None = None,
) -> object:
    with session_scope(engine) as session:
        article = Article(
            url=fetched or url,
            canonical_url=url,
            source_name="t",
            title="t",
            body="\n".join(paras),
            text_hash="",
        )
        return index.store_article(session, article, paras)


def _index_rows(engine: Engine) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    with session_scope(engine) as session:
        bands = sorted(session.execute(select(LshBand.article_id, LshBand.band, LshBand.hash)).all())
        chunks = sorted(session.execute(select(ChunkHash.article_id, ChunkHash.hash)).all())
    return bands, chunks


def _history(engine: Engine) -> DedupeIndex:
    """An original, an excerpt contained whole in it, an exact copy, a URL repeat and an unrelated story."""
    index = DedupeIndex()
    original = BASES["pizhou_materials"][1]
    _store(engine, index, original, url="https://a.example/1.html")
    excerpt = _store(engine, index, original[:2], url="https://b.example/2.html")
    assert (excerpt.verdict, excerpt.similarity) == ("duplicate", 1.0)  # type: ignore[attr-defined]
    assert excerpt.layer == "containment"  # type: ignore[attr-defined]
    assert _store(engine, index, original, url="https://c.example/3.html").layer == "exact"  # type: ignore[attr-defined]
    assert (
        _store(
            engine,
            index,
            SAME_EVENT["xcmg_loader"][1],
            url="https://a.example/1.html",
            fetched="https://a.example/1.html?from=share",
        ).layer
        == "url"
    )  # type: ignore[attr-defined]
    _store(engine, index, BASES["datacenter"][1], url="https://d.example/4.html")
    return index


def test_rebuild_gives_the_index_that_ingest_built_excerpts_included(engine: Engine) -> None:
    index = _history(engine)
    built = _index_rows(engine)
    with dedupe_session(engine) as session:
        assert index.rebuild(session) == 5
    assert _index_rows(engine) == built


def test_an_excerpt_keeps_its_index_rows_after_a_rebuild(engine: Engine) -> None:
    index = _history(engine)
    with dedupe_session(engine) as session:
        index.rebuild(session)
    with session_scope(engine) as session:
        excerpt_id = session.execute(
            select(Article.id).where(Article.url == "https://b.example/2.html")
        ).scalar()
        rows = session.execute(select(ChunkHash.hash).where(ChunkHash.article_id == excerpt_id)).all()
        bands = session.execute(select(LshBand.hash).where(LshBand.article_id == excerpt_id)).all()
    assert rows and bands  # as after ingest: a later copy of the excerpt can match the excerpt itself
    extra = "铜山区新建的储能电站今天并网发电，项目总投资十二亿元，由三家本地企业联合建设，年底前全部投产。"
    verdict = _store(
        engine, DedupeIndex(), [*BASES["pizhou_materials"][1][:2], extra], url="https://e.example/5"
    )
    assert verdict.verdict == "update"  # type: ignore[attr-defined]


def test_rebuild_reports_progress_through_the_callback(engine: Engine) -> None:
    _history(engine)
    seen: list[tuple[int, int | None]] = []
    with dedupe_session(engine) as session:
        DedupeIndex().rebuild(session, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)


def test_an_article_stored_during_a_rebuild_waits_for_it(engine: Engine) -> None:
    """rebuild_index() (what `dedupe rebuild` runs) holds the dedupe lock that ingest takes for each article:
    an ingest worker's store_article() cannot run against a half-built index."""
    _history(engine)
    inside, release, entered = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def paused(done: int, total: int | None) -> None:
        if done == 0:  # the index rows are deleted and not re-made yet
            inside.set()
            release.wait(30)
        elif done == total:
            order.append("rebuild done")

    def rebuild() -> None:
        rebuild_index(engine, progress=paused)

    def ingest_worker() -> None:
        with dedupe_session(engine) as session:
            entered.set()
            order.append("worker in")
            article = Article(source_name="t", title="t", body="x", text_hash="")
            DedupeIndex().store_article(session, article, BASES["tongshan_pv"][1])

    rebuilder = threading.Thread(target=rebuild)
    rebuilder.start()
    assert inside.wait(30)
    worker = threading.Thread(target=ingest_worker)
    worker.start()
    # Give the worker every chance to get in while the rebuild is paused; with the lock it cannot.
    entered.wait(1.0)
    release.set()
    rebuilder.join(30)
    worker.join(30)
    assert order == ["rebuild done", "worker in"]


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; returns what it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "xznews", *args], cwd=ROOT, env=env, stdout=follower, stderr=follower
    )
    os.close(follower)
    out = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the follower side closed: the process is done
            break
        if not data:
            break
        out += data
    proc.wait(60)
    os.close(leader)
    assert proc.returncode == 0, out
    return out.decode("utf-8", "replace")


def test_dedupe_rebuild_shows_a_progress_bar_on_a_terminal_but_not_with_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bar.db'}"
    engine = make_engine(url)
    init_db(engine)
    _history(engine)
    engine.dispose()
    env = {**os.environ, "XZNEWS_DATABASE_URL": url, "XZNEWS_DATA_DIR": str(tmp_path), "COLUMNS": "120"}
    shown = _run_on_a_terminal(["dedupe", "rebuild"], env)
    assert "re-indexing" in shown and "5/5" in shown and "articles/s" in shown
    assert "dedupe index rebuilt from 5 articles" in shown
    quiet = _run_on_a_terminal(["dedupe", "rebuild", "--json"], env)
    assert "re-indexing" not in quiet and '{"rebuilt": 5}' in quiet
    piped = subprocess.run(
        [sys.executable, "-m", "xznews", "dedupe", "rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "re-indexing" not in piped.stdout + piped.stderr


def test_seeds_load_shows_a_progress_bar_on_a_terminal_but_not_with_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XZNEWS_DATABASE_URL": f"sqlite:///{tmp_path / 'seeds.db'}",
        "XZNEWS_DATA_DIR": str(tmp_path),
        "COLUMNS": "120",
    }
    files = len(list((ROOT / "seeds").glob("*.txt")))
    shown = _run_on_a_terminal(["seeds", "load"], env)
    assert "seeds" in shown and f"{files}/{files}" in shown and "files/s" in shown
    quiet = _run_on_a_terminal(["seeds", "load", "--json"], env)
    assert "files/s" not in quiet and '"already"' in quiet
