"""The web app in a real browser: Debian's Chromium driven by Playwright, against a live uvicorn on 127.0.0.1.

The database is filled from a fixture site through the real pipeline. The flow is a reader's: front page, search
(highlighted hits), a story with its copies, subscribe → the confirmation mail in the outbox → confirm → manage →
edit clusters → unsubscribe. Pages and mails are checked for horizontal overflow at 390 px, and screenshots at
390 and 1280 px are written to var/screenshots/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from alerts.dispatch import dispatch_due
from core.settings import FetchSettings, Settings
from ingest.pipeline import run_ingest
from store.models import Project, Subscriber, Subscription
from tests.alerts_support import add_article
from tests.test_pipeline import _rss
from tests.test_projects_store import _store, _three
from xznews.web import WebServer

CHROMIUM = os.environ.get("XZNEWS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
PARAS = [
    "11月21日，徐工集团在徐州经开区发布新一代电动起重机，整机能耗较上一代降低三成，首批产品将出口欧洲市场。",
    "徐工集团表示，新产品采用自主研发的电驱系统，关键零部件本地配套率超过八成，带动上下游企业协同发展。",
    "徐州工程机械产业集群已集聚规上企业数百家，形成从核心零部件到整机制造的完整产业链条。",
]
SOLAR = [
    "11月21日，协鑫集团在徐州投资建设的光伏组件项目正式投产，年产能达到十吉瓦，产品主要供应国内外大型电站。",
    "项目采用先进的电池片技术，转换效率处于行业领先水平，将进一步壮大徐州绿色低碳能源产业集群。",
]


def _page(title: str, paras: list[str], date: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title><meta name="PubDate" content="{date}">'
        f'</head><body><h1>{title}</h1><div class="article">{body}</div></body></html>'
    )


@pytest.fixture
def browser_context(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium missing at {CHROMIUM}: .ci/run installs it with apt")
        pytest.skip(f"Chromium missing at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            locale="zh-CN",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def site(sqlite_engine, tmp_path, http_server):
    """A fixture site (an RSS feed, two articles, a mirror on another host name) ingested by the real pipeline."""
    http_server.add("/city/a.html", _page("徐工集团发布新一代电动起重机", PARAS, "2026-11-21 09:00"))
    http_server.add("/city/b.html", _page("协鑫光伏组件项目投产", SOLAR, "2026-11-21 10:00"))
    http_server.add("/mirror/a.html", _page("徐工集团发布新一代电动起重机", PARAS, "2026-11-21 12:00"))
    base, alias = http_server.base_url, http_server.base_url.replace("127.0.0.1", "localhost")
    urls = [base + "/city/a.html", base + "/city/b.html", alias + "/mirror/a.html"]
    http_server.add("/feed.xml", _rss("", urls), content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[sources]]\nname = "city"\nkind = "rss"\nurl = "{base}/feed.xml"\n'
        'allowed_hosts = ["127.0.0.1", "localhost"]\nrobots = false\n',
        encoding="utf-8",
    )
    settings = Settings(
        data_dir=tmp_path,
        sources_path=sources,
        fetch=FetchSettings(
            allow_private_addresses=True, per_host_delay_s=0, retries=0, respect_robots=False
        ),
    )
    (report,) = run_ingest(settings, sqlite_engine)
    assert report.error is None and report.fetched == 3
    with WebServer(sqlite_engine, "127.0.0.1", 0, settings) as server:
        server.app.state.settings = settings.model_copy(update={"public_base_url": server.url})
        yield server, server.app.state.settings


def _shots(page, name: str) -> None:
    """Screenshots at 390 and 1280 px; at 390 px nothing may stick out sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if width == 390:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 390, f"{name} is {overflow}px wide at 390px"


def _mails(settings) -> list:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(settings.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    ]


def test_a_reader_finds_searches_subscribes_confirms_edits_and_unsubscribes(
    site, browser_context, sqlite_engine
):
    server, settings = site
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    page = browser_context.new_page()

    page.goto(server.url + "/")
    assert page.locator(".stories li").count() == 2  # the mirror is folded into its story
    assert "另有 1 家网站刊发" in page.inner_text("main")
    _shots(page, "01-index")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("header >> text=搜索")
    page.fill("input[name=q]", "徐工 起重机")
    page.click("form.filters button")
    assert page.url.startswith(server.url + "/search?q=")
    marks = page.locator("mark")
    assert marks.count() >= 2 and {"徐工集团", "起重机"} <= set(marks.all_inner_texts())
    assert "协鑫" not in page.inner_text(".stories")
    _shots(page, "02-search")

    page.click("text=详情")
    assert page.url.startswith(server.url + "/story/")
    copies = page.inner_text("main")
    assert "首发" in copies and "转载" in copies and "localhost" in copies and "工程机械" in copies
    _shots(page, "03-story")

    page.goto(server.url + "/search?q=" + "(徐工")
    assert "unclosed parenthesis" in page.inner_text(".error") and "^" in page.inner_text(".error")
    _shots(page, "04-search-error")

    page.goto(server.url + "/subscribe")
    _shots(page, "05-subscribe")
    page.fill("input[name=email]", "analyst@example.com")
    page.check("input[value=engineering_machinery]")
    page.fill("input[name=keywords]", "徐工 | 卡特彼勒")
    page.click("form[action='/subscribe'] button[type=submit]")
    assert "确认邮件" in page.inner_text("main")

    [mail] = _mails(settings)
    html = mail.get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/confirm/[^"]+)"', html).group(1)  # type: ignore[union-attr]
    mail_page = browser_context.new_page()
    mail_page.set_content(html)
    _shots(mail_page, "06-mail-confirm")
    mail_page.close()

    page.goto(link)
    page.click("text=确认订阅 / Confirm")
    assert "订阅已确认" in page.inner_text("main")
    page.click("text=管理我的订阅")
    assert "/manage/" in page.url
    _shots(page, "07-manage")

    page.set_viewport_size({"width": 390, "height": 844})
    page.check(".sub input[value=new_materials]")
    page.click(".sub button[value=save]")
    assert "已保存" in page.inner_text("main")
    with Session(sqlite_engine) as session:
        sub = session.exec(select(Subscription)).one()
        assert sub.active and sub.clusters == ["engineering_machinery", "new_materials"]

    # A digest for the subscription (an article stored after it), read at 390 px like the confirmation.
    now = datetime.now(UTC)
    add_article(
        sqlite_engine,
        title="徐工" + "超长标题" * 12,
        url="https://www.xz.gov.cn/" + "x" * 120,
        fetched_at=now,
    )
    dispatch_due(sqlite_engine, settings, now + timedelta(days=1, hours=1))
    digest = [m for m in _mails(settings) if "confirm" not in m["Message-ID"]]
    assert digest, "no digest was sent"
    digest_page = browser_context.new_page()
    digest_page.set_content(digest[-1].get_body(("html",)).get_content())
    _shots(digest_page, "08-mail-digest")
    assert "管理订阅" in digest_page.inner_text("body")
    digest_page.close()

    page.click("text=退订全部")
    assert "已退订" in page.inner_text("main")
    _shots(page, "09-unsubscribed")
    with Session(sqlite_engine) as session:
        assert session.exec(select(Subscriber)).one().unsubscribed_at is not None
        assert not session.exec(select(Subscription)).one().active


def test_the_project_pages_read_at_390_px(browser_context, sqlite_engine, tmp_path):
    """The projects list and a timeline (long names, three reports) fit a phone's width."""
    _three(sqlite_engine)
    _store(
        sqlite_engine,
        "铜鑫机械签约",
        "江苏铜鑫机械有限公司挖掘机属具项目在铜山经济技术开发区签约，总投资3亿元。",
        "d.cn",
        datetime(2026, 5, 1, tzinfo=UTC),
        ("engineering_machinery",),
    )
    with Session(sqlite_engine) as session:
        solar = session.exec(select(Project).where(Project.amount_yi == 38.0)).one().id
    with WebServer(sqlite_engine, "127.0.0.1", 0, Settings(data_dir=tmp_path)) as server:
        page = browser_context.new_page()
        page.goto(server.url + "/projects")
        assert page.locator(".stories li").count() == 2
        page.click("header >> text=项目")
        page.select_option("select[name=stage]", "signed")
        page.click("form.filters button")
        assert "stage=signed" in page.url and page.locator(".stories li").count() == 1
        page.goto(server.url + "/projects")
        _shots(page, "10-projects")
        page.click("text=年产6GW异质结电池及组件项目")
        assert page.url == f"{server.url}/project/{solar}" and "竣工/投产" in page.inner_text("main")
        _shots(page, "11-project")
