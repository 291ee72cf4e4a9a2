"""Issue 4's acceptance, through the real pipeline: a seed repost, a traditional mirror and an update, then a digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import opencc
from sqlmodel import select

from alerts.dispatch import dispatch_due
from alerts.subscribers import get_or_create
from alerts.subscriptions import SubscriptionSpec, create_subscription
from core.settings import FetchSettings, Settings, SmtpSettings
from ingest.pipeline import run_ingest
from ingest.seeds import SEEDS_DIR, load_seeds
from store.db import session_scope
from store.models import Article
from tests.test_pipeline import _rss

PARAS = [
    "11月21日，江苏鑫华半导体科技股份有限公司电子级多晶硅扩产项目在徐州经开区开工建设，项目建成后年产能将达到1万吨。",
    "电子级多晶硅是制造集成电路大硅片的关键基础材料，鑫华半导体的产品已批量供应国内主要的12英寸硅片企业。",
    "徐州集成电路与ICT产业已集聚中环、先导、中科智芯等重点企业，形成从材料、晶圆到封装测试的产业链条。",
]
UPDATE = "11月22日，项目一期主体厂房完成桩基施工，鑫华半导体表示将同步建设电子级多晶硅研发中心和检测实验室。"


def _page(title: str, paras: list[str], date: str, header: str = "", footer: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="PubDate" content="{date}"></head><body><h1>{title}</h1>'
        f'<div class="article">{header}{body}{footer}</div></body></html>'
    )


def test_repost_mirror_and_update_are_told_apart_and_the_digest_shows_one_story(
    engine, tmp_path, http_server, smtp_server
):
    s2t = opencc.OpenCC("s2t")
    seed_text = next(SEEDS_DIR.glob("003_*.txt")).read_text(encoding="utf-8")
    seed_paras = [p.strip() for p in seed_text.splitlines() if len(p.strip()) > 40][:6]
    title = "鑫华半导体电子级多晶硅扩产项目开工"
    pages = {
        # the first publisher, on the city's site
        "/city/a.html": _page(title, PARAS, "2026-11-21 09:00"),
        # a repost of a seed article with another portal's header and footer
        "/portal/seed-repost.html": _page(
            "经开区2024年工作动员部署会召开",
            seed_paras,
            "2026-11-21 10:00",
            header="<p>来源：徐州经开区 原文地址：http://example.cn/a</p>",
            footer="<p>责任编辑：王某</p>",
        ),
        # a traditional-character mirror of the new article, with a pinyin gloss inside the text
        "/mirror/b.html": _page(
            s2t.convert(title),
            [s2t.convert(p) for p in PARAS[:1]]
            + [s2t.convert(PARAS[1]).replace("發", "發(fā)", 1)]
            + [s2t.convert(p) for p in PARAS[2:]],
            "2026-11-21 12:00",
        ),
        # an update: the same article with a new paragraph
        "/city/a-update.html": _page(title + "（更新）", [*PARAS, UPDATE], "2026-11-22 09:00"),
    }
    for path, html in pages.items():
        http_server.add(path, html)
    base, alias = http_server.base_url, http_server.base_url.replace("127.0.0.1", "localhost")
    # The mirror is served under another host name, so it counts as another site.
    urls = [
        base + "/city/a.html",
        base + "/portal/seed-repost.html",
        alias + "/mirror/b.html",
        base + "/city/a-update.html",
    ]
    feed = _rss("", urls)
    http_server.add("/feed.xml", feed, content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[sources]]\nname = "feed"\nkind = "rss"\nurl = "{base}/feed.xml"\n'
        'allowed_hosts = ["127.0.0.1", "localhost"]\nrobots = false\n',
        encoding="utf-8",
    )
    settings = Settings(
        data_dir=tmp_path,
        sources_path=sources,
        fetch=FetchSettings(
            allow_private_addresses=True, per_host_delay_s=0, retries=0, respect_robots=False
        ),
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port, security="none"),
    )
    load_seeds(engine)
    with session_scope(engine) as session:
        subscriber, _ = get_or_create(session, "reporter@example.com", confirmed=True)
        create_subscription(session, subscriber, SubscriptionSpec(clusters=["ic_ict"], frequency="immediate"))

    (report,) = run_ingest(settings, engine)

    assert report.error is None and report.fetched == 4
    with session_scope(engine) as session:
        by_path = {a.url.split("/", 3)[3]: a for a in session.exec(select(Article).where(~Article.is_seed))}
        first, repost, mirror, update = (
            by_path[p]
            for p in ["city/a.html", "portal/seed-repost.html", "mirror/b.html", "city/a-update.html"]
        )
        seed = session.get(Article, repost.duplicate_of_id)
        assert first.verdict == "new"
        assert repost.verdict == "duplicate" and seed is not None and seed.seed_ref.startswith("003_")
        assert mirror.verdict == "duplicate" and mirror.duplicate_of_id == first.id
        assert (
            update.verdict == "update" and update.duplicate_of_id == first.id and update.new_paragraphs == [3]
        )
        assert first.story_id == mirror.story_id == update.story_id

    dispatch_due(engine, settings, now=datetime.now(UTC) + timedelta(minutes=5))

    (msg,) = smtp_server.messages
    text = msg.get_body(("plain",)).get_content()
    assert text.count("鑫华半导体电子级多晶硅扩产项目开工") == 1  # one story, folded
    assert "另有 1 家网站刊发（localhost）" in text
    assert "[更新]" in text
    assert "经开区2024年工作动员部署会召开" not in text
