"""The second opinion: it runs only where the primary body looks collapsed, wins only when it measures better,
and the choice is recorded on the stored article (articles.extractor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract import article, fallback
from ingest.extract.article import extract_article
from store.models import Article
from tests.sources_helpers import ingest_once

SITES = Path(__file__).parent / "fixtures" / "sites"
SHARE_CLASS = (SITES / "shapes" / "share-class.html").read_bytes()  # body inside a furniture-named class
PDF_NOTICE = (SITES / "ewb-city/tzgg/004001/20201207/3f7a0c1e-aaaa-4bbb-8ccc-000000000002.html").read_bytes()
PLAIN = """<html><head><meta charset="utf-8"><title>双湖县新建三座污水处理站</title></head><body>
<h1>双湖县新建三座污水处理站</h1><div class="content">
<p>今年以来，双湖县在三个重点镇新建污水处理站，日处理能力合计达到一万二千吨，覆盖镇区常住人口五万余人。</p>
<p>县住建局表示，新站采用一体化处理设备，出水水质达到一级A标准，运行数据实时接入县级监管平台。</p>
</div></body></html>""".encode()


@pytest.fixture
def second_opinions(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the runs of the real second opinion (it stays the real readability-lxml call)."""
    calls: list[int] = []
    real = fallback.second_opinion

    def counted(html: str) -> list[str]:
        calls.append(1)
        return real(html)

    monkeypatch.setattr(fallback, "second_opinion", counted)
    return calls


def test_a_collapsed_primary_is_replaced_by_the_second_opinion_and_says_so(second_opinions):
    assert extract_article(SHARE_CLASS, policy=None).paragraphs == []  # the collapse being fixed
    extracted = extract_article(SHARE_CLASS)
    assert extracted.extractor == "fallback"
    assert extracted.paragraphs[0] == "九月二十三日，双湖县在城南广场举办农民丰收节。"
    assert len(extracted.paragraphs) == 6 and extracted.title == "双湖县举办农民丰收节"
    assert second_opinions == [1]


def test_a_healthy_page_never_runs_the_second_opinion(second_opinions):
    extracted = extract_article(PLAIN)
    assert extracted.extractor == "primary" and len(extracted.paragraphs) == 2
    assert second_opinions == []


def test_a_suspect_primary_is_kept_when_the_second_opinion_is_worse(second_opinions):
    extracted = extract_article(PDF_NOTICE)  # one short attachment line: suspect, but the right answer
    assert second_opinions == [1]
    assert extracted.extractor == "primary"
    assert extracted.paragraphs == ["附件：2020年12月份市政工程招标计划.pdf"]


def test_the_measured_rules():
    policy = fallback.Policy()
    prose = fallback.BodyStats.of(["今年以来，全县新建污水处理站三座，日处理能力合计达到一万二千吨。"] * 3)
    furniture = fallback.BodyStats.of(
        ["版权所有：双湖县人民政府，未经许可不得转载。", "首页", "关于我们", "联系方式", "网站地图"]
    )
    assert furniture.furniture > policy.max_furniture and prose.furniture == 0
    assert fallback.suspect(furniture, 500, policy) and not fallback.suspect(prose, 100, policy)
    assert fallback.suspect(fallback.BodyStats.of([]), 0, policy)
    assert fallback.prefer_second(furniture, prose, policy)
    assert not fallback.prefer_second(prose, furniture, policy)
    # Length alone decides nothing by default; a policy with a finite gain lets it.
    short = fallback.BodyStats.of(
        ["今年以来，全县新建污水处理站三座，日处理能力合计达到一万二千吨。", "覆盖镇区五万人。"]
    )
    assert not fallback.suspect(short, 5000, policy)
    eager = fallback.Policy(gain=1.5)
    assert fallback.suspect(short, 5000, eager) and fallback.prefer_second(short, prose, eager)


def test_the_second_opinion_reads_the_page_the_primary_read():
    ctx = article._prepare(SHARE_CLASS, None, None, None)
    paragraphs = article.second_paragraphs(ctx, "双湖县举办农民丰收节")
    assert paragraphs[0].startswith("九月二十三日") and "首页" not in paragraphs


def test_the_pipeline_stores_which_extractor_produced_each_article(engine, tmp_path, http_server):
    base = http_server.base_url
    items = "".join(f"<item><title>t{i}</title><link>{base}{p}</link></item>"
                    for i, p in enumerate(["/shapes/share-class.html", "/plain.html"]))  # fmt: skip
    http_server.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>',
                    content_type="application/rss+xml")  # fmt: skip
    http_server.add("/plain.html", PLAIN)
    report, stored = ingest_once(
        tmp_path,
        engine,
        f'[[sources]]\nname = "shapes"\nkind = "rss"\nurl = "{base}/feed.xml"\n'
        'allowed_hosts = ["127.0.0.1"]\nrobots = false\n',
    )
    assert report.error is None, report
    assert {title: a.extractor for title, a in stored.items()} == {
        "双湖县举办农民丰收节": "fallback",
        "双湖县新建三座污水处理站": "primary",
    }


def test_the_second_opinion_reads_a_gbk_page_as_gb18030():
    gbk = (
        SHARE_CLASS.decode("utf-8")
        .replace(
            '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
        )
        .replace("丰收节。", "丰收节（𠀾）。")  # a character GBK lacks and GB18030 has
        .encode("gb18030")
    )
    extracted = extract_article(gbk)
    assert extracted.extractor == "fallback" and extracted.encoding == "gb18030"
    assert extracted.paragraphs[0] == "九月二十三日，双湖县在城南广场举办农民丰收节（𠀾）。"


def test_an_installed_database_gains_the_extractor_column_in_place(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from store.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0002")
    row = Article(id=1, source_name="s", title="t", body="b", text_hash="h")
    with engine.begin() as conn:
        existing = {c["name"] for c in inspect(conn).get_columns("articles")}
        assert "extractor" not in existing
        values = {c.name: getattr(row, c.name) for c in Article.__table__.columns if c.name in existing}
        conn.execute(Article.__table__.insert().values(**values))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title, extractor FROM articles WHERE id = 1")).one() == ("t", None)
    engine.dispose()
