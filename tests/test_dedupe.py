"""The dedupe index on SQLite and PostgreSQL: verdicts, stories, rebuild, and the `dedupe check` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import opencc
import pytest
import typer
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from ingest.dedupe.stories import story_copies, story_sites
from ingest.dedupe.verdict import DedupeIndex, index_seed_articles
from store.db import session_scope
from store.models import Article, ChunkHash, LshBand, Story
from tests.gold.dedupe_articles import BASES, SAME_EVENT, UPDATES
from tests.gold.dedupe_calibration import add_glosses
from xznews.cli import dedupe_cmd

ROOT = Path(__file__).resolve().parents[1]
S2T = opencc.OpenCC("s2t")
T0 = datetime(2024, 3, 18, 8, 0, tzinfo=UTC)


def _article(
    paras: list[str],
    *,
    title: str = "t",
    url: str | None = None,
    site: str | None = None,
    published: datetime | None = None,
) -> Article:
    return Article(
        url=url,
        canonical_url=url,
        source_name="test",
        site=site,
        title=title,
        body="\n".join(paras),
        text_hash="",
        published_at=published,
    )


def _store(engine: Engine, index: DedupeIndex, paras: list[str], **kw: object) -> tuple[int, object]:
    with session_scope(engine) as session:
        article = _article(paras, **kw)  # type: ignore[arg-type]
        verdict = index.store_article(session, article, paras)
        return article.id or 0, verdict


def _check(engine: Engine, index: DedupeIndex, paras: list[str]) -> object:
    with session_scope(engine) as session:
        return index.check(session, title="", paragraphs=paras)


def test_a_repost_of_a_seed_article_is_a_duplicate_of_that_seed(engine: Engine) -> None:
    index = DedupeIndex()
    with session_scope(engine) as session:
        names = index_seed_articles(session, index, ROOT / "seeds")
        seed = session.execute(
            select(Article).where(Article.seed_ref == "004_caf9e2dfe59a60a2#1")
        ).scalar_one()
    assert "004_caf9e2dfe59a60a2#1" in names.values()
    repost = [
        "首页 > 新闻中心 > 徐州要闻",
        "来源：徐州日报",
        *seed.body.split("\n"),
        "责任编辑：王五",
        "版权所有 © 徐州网",
    ]
    _id, verdict = _store(engine, index, repost, url="https://other.example/a.html", site="other.example")
    assert (verdict.verdict, verdict.of_id, verdict.similarity) == ("duplicate", seed.id, 1.0)


def test_a_traditional_mirror_with_glosses_of_a_new_article_is_a_duplicate(engine: Engine) -> None:
    import random

    index = DedupeIndex()
    paras = BASES["datacenter"][1]
    first, v1 = _store(engine, index, paras, url="https://www.xz.gov.cn/a.html")
    mirror = [add_glosses(S2T.convert(p), random.Random(1)) for p in paras]
    assert any("(" in p or "（" in p for p in mirror)
    _id, v2 = _store(engine, index, mirror, url="https://big5.example/a.html")
    assert v1.verdict == "new"
    assert v2.verdict == "duplicate" and v2.of_id == first and v2.similarity > 0.9


def test_an_added_paragraph_is_an_update_with_its_index_recorded(engine: Engine) -> None:
    index = DedupeIndex()
    paras = BASES["ic_packaging"][1]
    first, _v = _store(engine, index, paras)
    updated = [*paras[:2], UPDATES["ic_packaging"], *paras[2:]]
    second, verdict = _store(engine, index, updated)
    assert (verdict.verdict, verdict.of_id, verdict.new_paragraphs) == ("update", first, [2])
    with session_scope(engine) as session:
        stored = session.get(Article, second)
        assert stored.verdict == "update" and stored.new_paragraphs == [2] and stored.duplicate_of_id == first


def test_a_different_article_about_the_same_event_is_new(engine: Engine) -> None:
    index = DedupeIndex()
    _store(engine, index, BASES["safety_expo"][1])
    _id, verdict = _store(engine, index, SAME_EVENT["safety_expo"][1])
    assert verdict.verdict == "new" and verdict.of_id is None


def test_a_truncated_copy_is_a_duplicate_by_containment(engine: Engine) -> None:
    index = DedupeIndex()
    paras = BASES["medical_park"][1]
    first, _v = _store(engine, index, paras)
    verdict = _check(engine, index, [*paras[:2], paras[2][:20], "点击阅读全文"])
    assert verdict.verdict == "duplicate" and verdict.of_id == first


def test_the_canonical_url_decides_first(engine: Engine) -> None:
    index = DedupeIndex()
    first, _v = _store(engine, index, BASES["steel_upgrade"][1], url="https://www.xz.gov.cn/s.html")
    with session_scope(engine) as session:
        verdict = index.check(
            session, title="", paragraphs=["完全不同的内容"], canonical_url="https://www.xz.gov.cn/s.html"
        )
    assert (verdict.verdict, verdict.of_id, verdict.layer, verdict.similarity) == (
        "duplicate",
        first,
        "url",
        1.0,
    )


def test_check_writes_nothing(engine: Engine) -> None:
    index = DedupeIndex()
    _check(engine, index, BASES["steel_upgrade"][1])
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Article)).scalar() == 0


def test_a_story_groups_its_copies_and_names_the_earliest_published_as_first_publisher(
    engine: Engine,
) -> None:
    index = DedupeIndex()
    paras = BASES["xcmg_loader"][1]
    portal, _ = _store(
        engine,
        index,
        paras,
        url="https://www.xz.gov.cn/1.html",
        site="www.xz.gov.cn",
        published=T0 + timedelta(hours=3),
    )
    mirror, _ = _store(
        engine,
        index,
        [S2T.convert(p) for p in paras],
        url="https://big5.example/1.html",
        site="big5.example",
        published=T0 + timedelta(hours=5),
    )
    # The newspaper published first but is fetched last: it becomes the first publisher.
    paper, v = _store(
        engine,
        index,
        ["来源：徐州日报", *paras],
        url="https://szb.cnxz.com.cn/1.html",
        site="szb.cnxz.com.cn",
        published=T0,
    )
    updated, vu = _store(
        engine,
        index,
        [*paras, UPDATES["xcmg_loader"]],
        url="https://jsnews.example/1.html",
        site="jsnews.example",
        published=T0 + timedelta(days=1),
    )
    other, vo = _store(
        engine, index, BASES["fengxian_food"][1], url="https://www.xz.gov.cn/2.html", site="www.xz.gov.cn"
    )
    assert v.verdict == "duplicate" and vu.verdict == "update" and vo.verdict == "new"
    with session_scope(engine) as session:
        story_id = session.get(Article, portal).story_id
        assert story_id is not None
        assert {session.get(Article, i).story_id for i in (mirror, paper, updated)} == {story_id}
        assert session.get(Article, other).story_id != story_id
        assert session.get(Story, story_id).first_article_id == paper
        assert [a.id for a in story_copies(session, story_id)] == [paper, portal, mirror, updated]
        assert story_sites(session, story_id) == [
            "szb.cnxz.com.cn",
            "www.xz.gov.cn",
            "big5.example",
            "jsnews.example",
        ]


def test_fingerprints_outlive_a_purged_body(engine: Engine) -> None:
    index = DedupeIndex()
    paras = BASES["pizhou_materials"][1]
    first, _v = _store(engine, index, paras)
    with session_scope(engine) as session:
        session.get(Article, first).body = ""
    verdict = _check(engine, DedupeIndex(), [S2T.convert(p) for p in paras])
    assert verdict.verdict == "duplicate" and verdict.of_id == first


def test_rebuild_gives_the_same_verdicts(engine: Engine) -> None:
    index = DedupeIndex()
    for key in ("xcmg_loader", "tongshan_pv", "datacenter"):
        _store(engine, index, BASES[key][1])
    _store(engine, index, BASES["suining_textile"][1])
    probes = [
        [S2T.convert(p) for p in BASES["tongshan_pv"][1]],
        [*BASES["datacenter"][1], UPDATES["datacenter"]],
        BASES["suining_textile"][1][:3],
        SAME_EVENT["xcmg_loader"][1],
    ]
    before = [_check(engine, index, p) for p in probes]
    with session_scope(engine) as session:
        bands = session.execute(select(func.count()).select_from(LshBand)).scalar()
        paragraphs = session.execute(select(func.count()).select_from(ChunkHash)).scalar()
        assert index.rebuild(session) == 4
    after = [_check(engine, DedupeIndex(), p) for p in probes]
    assert after == before
    assert [v.verdict for v in after] == ["duplicate", "update", "duplicate", "new"]
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(LshBand)).scalar() == bands
        assert session.execute(select(func.count()).select_from(ChunkHash)).scalar() == paragraphs


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    dedupe_cmd.register(app)
    return app


def _jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_dedupe_check_prints_one_verdict_per_line_against_the_seeds(cli: typer.Typer, tmp_path: Path) -> None:
    from ingest.extract.split import split_seed_document

    seed = split_seed_document((ROOT / "seeds" / "004_caf9e2dfe59a60a2.txt").read_text(encoding="utf-8"))[2]
    paras = BASES["tongshan_pv"][1]
    rows = [
        {
            "id": "repost",
            "text": "\n".join(["来源：徐州日报", *seed.paragraphs, "责任编辑：王五"]),
            "title": seed.title,
        },
        {"id": "a", "text": "\n".join(paras), "url": "https://www.xz.gov.cn/a.html"},
        {"id": "a-mirror", "text": S2T.convert("\n".join(paras))},
        {"id": "a-update", "text": "\n".join([*paras, UPDATES["tongshan_pv"]])},
        {"id": "other", "text": "\n".join(SAME_EVENT["tongshan_pv"][1])},
    ]
    result = CliRunner().invoke(cli, ["dedupe", "check", "--jsonl", str(_jsonl(tmp_path / "in.jsonl", rows))])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["id"], o["verdict"], o["of"]) for o in out] == [
        ("repost", "duplicate", "004_caf9e2dfe59a60a2#2"),
        ("a", "new", None),
        ("a-mirror", "duplicate", "a"),
        ("a-update", "update", "a"),
        ("other", "new", None),
    ]
    assert out[0]["similarity"] == 1.0 and all(0.0 <= o["similarity"] <= 1.0 for o in out)


def test_dedupe_check_without_seeds_sees_only_its_input(cli: typer.Typer, tmp_path: Path) -> None:
    from ingest.extract.split import split_seed_document

    seed = split_seed_document((ROOT / "seeds" / "004_caf9e2dfe59a60a2.txt").read_text(encoding="utf-8"))[2]
    rows = [{"id": "x", "text": "\n".join(seed.paragraphs)}, {"id": "y", "text": "\n".join(seed.paragraphs)}]
    path = _jsonl(tmp_path / "in.jsonl", rows)
    result = CliRunner().invoke(cli, ["dedupe", "check", "--jsonl", str(path), "--no-against-seeds"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["verdict"], o["of"]) for o in out] == [("new", None), ("duplicate", "x")]


def test_dedupe_commands_have_help(cli: typer.Typer) -> None:
    for args in (["dedupe", "--help"], ["dedupe", "check", "--help"], ["dedupe", "rebuild", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_dedupe_rebuild_runs_on_the_configured_database(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xznews.cli import common

    monkeypatch.setenv("XZNEWS_DATABASE_URL", f"sqlite:///{tmp_path / 'conf.db'}")
    common.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["dedupe", "rebuild", "--json"])
    finally:
        common.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1]) == {"rebuilt": 0}


def _long_seed() -> list[str]:
    from ingest.extract.split import split_seed_document

    seeds = split_seed_document((ROOT / "seeds" / "003_5742430945ab99c5.txt").read_text(encoding="utf-8"))
    return list(max(seeds, key=lambda s: len("".join(s.paragraphs))).paragraphs)


def _rewrapped_excerpt(paras: list[str], share: float) -> list[str]:
    """The first ``share`` of the text, cut at a full stop, re-paragraphed three sentences at a time."""
    text = "".join(paras)
    text = text[: text.rfind("。", 0, int(len(text) * share)) + 1]
    sentences = [s + "。" for s in text.split("。") if s]
    return ["".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]


@pytest.mark.parametrize("purged", [False, True], ids=["body", "purged"])
def test_a_rewrapped_excerpt_of_a_long_article_is_a_duplicate(engine: Engine, purged: bool) -> None:
    index = DedupeIndex()
    paras = _long_seed()
    first, _v = _store(engine, index, paras)
    if purged:
        with session_scope(engine) as session:
            session.get(Article, first).body = ""
    excerpt = _rewrapped_excerpt(paras, 0.3)
    assert len("".join(excerpt)) < 0.35 * len("".join(paras)) and len(excerpt) != len(paras)
    verdict = _check(engine, DedupeIndex(), excerpt)
    assert (verdict.verdict, verdict.of_id, verdict.layer) == ("duplicate", first, "containment")


def test_an_update_of_a_purged_article_reports_the_added_paragraph(engine: Engine) -> None:
    index = DedupeIndex()
    paras = _long_seed()
    first, _v = _store(engine, index, paras)
    with session_scope(engine) as session:
        session.get(Article, first).body = ""
    at = len(paras) // 2
    updated = [*paras[:at], UPDATES["ic_packaging"], *paras[at:]]
    verdict = _check(engine, DedupeIndex(), updated)
    assert (verdict.verdict, verdict.of_id) == ("update", first)
    assert at in verdict.new_paragraphs and len(verdict.new_paragraphs) <= 2


def test_chunks_that_two_stories_share_are_boilerplate_and_identify_neither(engine: Engine) -> None:
    from ingest.dedupe import index as idx
    from ingest.dedupe.fingerprint import fingerprint
    from tests.gold.dedupe_calibration import BOILERPLATE_BOTTOM, BOILERPLATE_TOP

    def site(paras: list[str]) -> list[str]:
        return [*BOILERPLATE_TOP, *paras, *BOILERPLATE_BOTTOM]

    index = DedupeIndex()
    verdicts = [
        _store(engine, index, site(BASES[k][1]))[1] for k in ("xcmg_loader", "tongshan_pv", "datacenter")
    ]
    assert [v.verdict for v in verdicts] == ["new", "new", "new"]
    # The site's welcome line ends a chunk of its own, found in three stories: it identifies none of them.
    welcome = fingerprint(BOILERPLATE_TOP)
    assert len(welcome.chunks) == 1
    with session_scope(engine) as session:
        assert idx.common_chunks(session, welcome.chunk_hashes) == set(welcome.chunk_hashes)
    short = "4月28日，全市防汛防旱工作会议召开，会议总结去年防汛工作，部署今年防汛防旱重点任务，要求扎实做好隐患排查。"
    assert _check(engine, index, site([short])).verdict == "new"
