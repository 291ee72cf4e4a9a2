"""The full-text index (store/search.py): tokens, maintenance on insert, upgrade in place, rebuild, index use."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from alerts.query import parse_query
from store.db import alembic_config, make_engine, session_scope
from store.models import Article
from store.search import document_tokens, indexed_count, search_lookup
from tests.alerts_support import add_article
from tests.conftest import drop_pg_schema, pg_engine_in_fresh_schema
from xznews.web.stories import Filters, index_expr, search_stories


def test_documents_become_cjk_bigrams_and_latin_words_in_normalized_form():
    assert document_tokens("徐工集團 XCMG", "5G基站") == [
        "徐工",
        "工集",
        "集团",
        "团",
        "xcmg",
        "5g",
        "基站",
        "站",
    ]
    lookup = search_lookup("徐工集团")
    assert lookup is not None and lookup.runs == (("徐工", "工集", "集团"),)
    assert search_lookup("钢").prefix_last == (True,)  # type: ignore[union-attr]
    assert search_lookup("+++") is None  # nothing the index holds: the caller scans


def test_aliases_widen_and_only_exact_exclusions_narrow():
    expr = index_expr(parse_query("徐工 -招聘"))
    assert expr is not None and expr[0] == "and" and expr[1][0][0] == "or"  # 徐工 or one of its aliases
    assert "xcmg" in str(expr[1][0]) and expr[1][1][0] == "not"  # 招聘 is one exact token: excluded in SQL
    # "5G基站" is two runs (5g, 基站) whose adjacency the index does not keep: left to the matcher.
    assert index_expr(parse_query("徐工 -5G基站")) == index_expr(parse_query("徐工"))
    # Three characters are a phrase in FTS5 but only a conjunction in a tsvector.
    assert index_expr(parse_query("徐工 -招聘会"), "postgresql") == index_expr(parse_query("徐工"))
    assert index_expr(parse_query("+++")) is None


def test_every_inserted_article_is_indexed_in_its_transaction(engine):
    add_article(engine, title="一", body="二")
    with engine.connect() as conn:
        assert indexed_count(conn) == 1
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Article(source_name="s", title="回滚", body="回滚", text_hash="h"))
        session.flush()
        raise RuntimeError("rolled back")
    with engine.connect() as conn:
        assert indexed_count(conn) == 1  # the rolled-back article's index row went with it


def _old_database_with_articles(engine) -> None:
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0002")
    with engine.begin() as conn:  # rows as an installed database holds them, written before the index existed
        for n, title in enumerate(["徐工集團發佈新款起重機", "协鑫光伏组件出口"], start=1):
            conn.execute(
                text(
                    "INSERT INTO articles (id, source_name, title, body, text_hash, verdict, clusters, mentions,"
                    " scores, evidence, xuzhou_score, development_score, alertable, is_seed, fetched_at)"
                    " VALUES (:id, 's', :t, :t, :h, 'new', '[]', '[]', '{}', '{}', 0, 0, true, false, :now)"
                ),
                {"id": n, "t": title, "h": f"h{n}", "now": "2026-11-21 00:00:00"},
            )
    command.upgrade(cfg, "head")


def _titles(engine, q: str) -> list[str]:
    with Session(engine) as session:
        rows, _ = search_stories(session, parse_query(q), Filters())
    return [r.title for r in rows]


def test_an_installed_sqlite_database_gets_its_articles_indexed_on_upgrade(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _old_database_with_articles(engine)
    assert _titles(engine, "起重机") == ["徐工集團發佈新款起重機"]
    assert _titles(engine, "光伏") == ["协鑫光伏组件出口"]
    engine.dispose()


@pytest.mark.postgres
def test_an_installed_postgres_database_gets_its_articles_indexed_on_upgrade():
    engine, schema = pg_engine_in_fresh_schema()
    try:
        _old_database_with_articles(engine)
        assert _titles(engine, "起重机") == ["徐工集團發佈新款起重機"]
        with engine.begin() as conn:  # the lookup is served by the GIN index, not a scan
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    text("EXPLAIN SELECT article_id FROM article_search WHERE tokens @@ CAST(:q AS tsquery)"),
                    {"q": "'起重' & '重机'"},
                )
            )
        assert "ix_article_search_tokens" in plan
    finally:
        drop_pg_schema(engine, schema)


def test_search_rebuild_refills_a_lost_index(tmp_path, monkeypatch):
    from xznews.cli import app
    from xznews.cli.common import get_settings

    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'xznews.db'}")
    from store.db import init_db

    init_db(engine)
    add_article(engine, title="徐工起重机")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM article_search"))
    assert _titles(engine, "起重机") == []
    result = CliRunner().invoke(app, ["search", "rebuild"])
    assert result.exit_code == 0 and "search index rebuilt: 1 articles" in result.output
    assert _titles(engine, "起重机") == ["徐工起重机"]
    engine.dispose()
