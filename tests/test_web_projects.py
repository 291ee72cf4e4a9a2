"""The project pages and feed served for real over SQLite and PostgreSQL: projects come from articles stored
through the real code path (record_article_projects), as ingest and the seeds store them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import httpx
import pytest
from sqlmodel import Session, select

from store import Project
from tests.alerts_support import add_article, add_story
from tests.test_projects_store import _store, _three
from tests.test_web_app import live_app
from xznews.web import projects as project_routes

SIGNED = "江苏铜鑫机械有限公司挖掘机属具项目在铜山经济技术开发区签约，总投资3亿元。"
HOSTILE = '江苏铜鑫<b>机械</b>有限公司"<script>alert(1)</script>&挖掘机属具项目在铜山经济技术开发区签约，总投资3亿元。'


@pytest.fixture
def client(engine, tmp_path) -> Iterator[httpx.Client]:
    with live_app(engine, tmp_path) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def _four(engine) -> list[int]:
    """The 6GW project over three articles (signed → started → completed) and a small signed machinery one."""
    ids = _three(engine)
    _store(
        engine, "铜鑫机械签约", SIGNED, "d.cn", datetime(2026, 5, 1, tzinfo=UTC), ("engineering_machinery",)
    )
    return ids


def _ids(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {p.name: p.id for p in session.exec(select(Project))}  # type: ignore[misc]


def _names(page: httpx.Response) -> list[str]:
    return re.findall(r'<a href="/project/\d+">([^<]+)</a>', page.text)


SOLAR, DIGGER, FIBRE = "年产6GW异质结电池及组件项目", "挖掘机属具项目", "年产1万吨碳纤维项目"


def test_the_list_shows_each_project_with_its_facts_and_a_form_that_needs_no_script(engine, client):
    _four(engine)
    ids = _ids(engine)
    page = client.get("/projects")
    assert page.status_code == 200 and '<a href="/projects">项目</a>' in page.text  # the nav link
    assert (
        '<form class="filters" method="get" action="/projects">' in page.text and "<script" not in page.text
    )
    assert _names(page) == [SOLAR, DIGGER]  # most recently reported first
    assert f'<a href="/project/{ids[SOLAR]}">{SOLAR}</a>' in page.text
    row = page.text.split(SOLAR)[1].split("</li>")[0]
    for part in (
        "江苏辉光能源科技有限公司",
        "<strong>38</strong> 亿元",
        "竣工/投产",
        "徐州高新技术产业开发区",
    ):
        assert part in row
    assert "最近报道 2026-11-19 19:00" in row and "绿色低碳能源" in row
    assert "共 2 个项目" in page.text


def test_filters_as_the_cli_has_them_with_chinese_names_accepted(engine, client):
    _four(engine)
    get = lambda **params: _names(client.get("/projects", params=params))  # noqa: E731
    assert get(cluster="engineering_machinery") == [DIGGER]
    assert get(cluster="工程机械") == [DIGGER]
    assert get(stage="signed") == [DIGGER] == get(stage="签约")
    assert get(stage="signed,completed") == [SOLAR, DIGGER]
    assert get(place="铜山区") == [SOLAR, DIGGER]  # zones lie in their district
    assert get(place="铜山经开区") == [DIGGER]
    assert get(since="2026-10-01") == [SOLAR]
    assert get(min_amount="10") == [SOLAR]
    assert get(cluster="", stage="", place="", since="", min_amount="") == [SOLAR, DIGGER]  # an empty form
    for params, message in [
        ({"stage": "built"}, "未知的项目阶段"),
        ({"min_amount": "-1"}, "min_amount"),
        ({"min_amount": "nan"}, "min_amount"),
        ({"cluster": "nonsense"}, "未知的产业集群"),
        ({"since": "yesterday"}, "YYYY-MM-DD"),
        ({"sort": "price"}, "未知的排序"),
    ]:
        bad = client.get("/projects", params=params)
        assert bad.status_code == 400 and message in bad.text and _names(bad) == [], params


def test_sorts_and_pages_keep_the_filters(engine, client, monkeypatch):
    _four(engine)
    _store(
        engine,
        "",
        "江苏恒泰新材料有限公司年产1万吨碳纤维项目在邳州经济开发区开工建设，项目总投资20亿元。",
        "e.cn",
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert _names(client.get("/projects?sort=amount")) == [SOLAR, FIBRE, DIGGER]
    assert _names(client.get("/projects?sort=stage")) == [SOLAR, FIBRE, DIGGER]
    assert _names(client.get("/projects?sort=name")) == sorted([SOLAR, FIBRE, DIGGER])
    monkeypatch.setattr(project_routes, "PER_PAGE", 1)
    first = client.get("/projects?sort=amount&min_amount=5")
    assert (
        _names(first) == [SOLAR] and 'href="/projects?min_amount=5&amp;sort=amount&amp;page=2"' in first.text
    )
    second = client.get("/projects?sort=amount&min_amount=5&page=2")
    assert _names(second) == [FIBRE] and "下一页" not in second.text


def test_the_timeline_links_each_stage_to_its_story_and_original_and_keeps_every_figure(engine, client):
    earlier = add_article(engine, title="辉光能源项目开工（首发）", site="www.xz.gov.cn")
    ids = _three(engine)
    add_story(engine, [earlier, ids[1]])  # the June report is a copy in a story keyed by an earlier article
    pid = _ids(engine)[SOLAR]
    page = client.get(f"/project/{pid}")
    assert page.status_code == 200
    text = page.text
    stages = re.findall(r"(2026-\d\d-\d\d) \d\d:\d\d · ([^\s<]+)", text)
    assert stages == [("2026-03-06", "签约"), ("2026-06-09", "开工"), ("2026-11-19", "竣工/投产")]
    assert [f'href="/story/{i}"' in text for i in (ids[0], earlier, ids[2])] == [True] * 3
    assert f'href="/story/{ids[1]}"' not in text
    for site, day in (
        ("www.xzgxq.gov.cn", "20260306"),
        ("www.cnxz.com.cn", "20260609"),
        ("news.jstv.com", "20261119"),
    ):
        assert f'href="https://{site}/{day}.html"' in text
    assert "<strong>38</strong> 亿元" in text and "另报 36 亿元" in text  # the conflicting figure kept beside
    assert "来源（3 家）" in text and "江苏辉光能源科技有限公司" in text
    assert "新项目" in text and "项目总投资36亿元" in text  # the change marks and the evidence


@pytest.mark.parametrize(
    "path", ["/project/999999", "/project/abc", "/project/0", "/project/99999999999999999999"]
)
def test_an_unknown_project_is_a_404_page(engine, client, path):
    page = client.get(path)
    assert page.status_code == 404 and "<html" in page.text


def test_a_hostile_project_name_and_evidence_are_escaped(engine, client):
    _store(engine, "<img src=x onerror=alert(1)>", HOSTILE, "h.cn", datetime(2026, 5, 1, tzinfo=UTC))
    ((name, pid),) = _ids(engine).items()
    assert "<script>" in HOSTILE and "</script>" in name  # the extractor kept the markup in the name
    for page in (client.get("/projects"), client.get(f"/project/{pid}")):
        assert page.status_code == 200
        assert (
            "</script>&" not in page.text
            and "<script>alert" not in page.text
            and "<img src=x" not in page.text
        )
        assert "&lt;/script&gt;&amp;挖掘机属具项目" in page.text
    feed = client.get("/projects.atom")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo and "</script>&挖掘机属具项目" in parsed.entries[0].title


def test_the_feed_is_valid_atom_with_one_stable_entry_per_project_and_stage(engine, client):
    _four(engine)
    ids = _ids(engine)
    feed = client.get("/projects.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo and parsed.version == "atom10"
    solar, digger = ids[SOLAR], ids[DIGGER]
    assert [e.id for e in parsed.entries] == [  # newest change first
        f"tag:xznews,2026:project/{solar}/completed",
        f"tag:xznews,2026:project/{solar}/started",
        f"tag:xznews,2026:project/{digger}/signed",
        f"tag:xznews,2026:project/{solar}/signed",
    ]
    assert parsed.entries[0].title == f"进展 · 竣工/投产：{SOLAR}"
    assert parsed.entries[-1].title == f"新项目 · 签约：{SOLAR}"
    assert parsed.entries[0].link.endswith(f"/project/{solar}")
    assert "38 亿元" in parsed.entries[0].summary and "徐州高新技术产业开发区" in parsed.entries[0].summary
    assert [e.id for e in feedparser.parse(client.get("/projects.atom").content).entries] == [
        e.id for e in parsed.entries
    ]
    only = feedparser.parse(
        client.get("/projects.atom", params={"stage": "签约", "cluster": "绿色低碳能源"}).content
    )
    assert [e.id for e in only.entries] == [f"tag:xznews,2026:project/{solar}/signed"]
    assert client.get("/projects.atom?min_amount=x").status_code == 400
    assert 'href="/projects.atom?min_amount=10"' in client.get("/projects?min_amount=10").text
