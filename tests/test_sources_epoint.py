from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from core.tz import SHANGHAI
from ingest.fetch.http import PermanentFetchError
from ingest.sources import list_articles
from tests.servers import Reply, Request
from tests.sources_helpers import source, test_fetcher

SITE = Path(__file__).parent / "fixtures" / "sites" / "epoint"
API = "/epoint/EWB-FRONT/rest/lightfrontaction/getgovinfolist"
GUID = "7eb5f7f1-9041-43ad-8e13-8fcb82ea831a"


def govinfo(req: Request) -> Reply:
    body = json.loads(req.body)
    if req.method != "POST" or body.get("siteGuid") != GUID or body.get("categorynum") != "003006":
        return Reply(400, b'{"status": {"code": 400}}', {"Content-Type": "application/json"})
    page = SITE / f"govinfo_page{body['pageIndex']}.json"
    return Reply(200, page.read_bytes(), {"Content-Type": "application/json;charset=utf-8"})


def test_it_reads_a_static_column_and_takes_the_date_from_the_list(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "epoint", "/epoint/xwzx/001001/subPage.html"), fetcher)
    assert len(refs) == 3
    assert refs[0].title == "我市召开新能源产业发展大会 推动光伏储能项目落地"
    assert refs[0].url.endswith("/epoint/xwzx/001001/20240513/6f1c2a9e-2b1d-4c51-9d87-0c6a1b2e3f41.html")
    assert refs[2].published_at == datetime(2024, 5, 10, tzinfo=SHANGHAI)


def test_it_reads_getgovinfolist_discovering_the_site_guid(http_server):
    http_server.routes[API] = govinfo
    src = source(http_server, "epoint", "/epoint/", max_pages=5,
                 options={"mode": "govinfo", "categorynum": "003006", "page_size": 2,
                          "site_root": http_server.url("/epoint/")})  # fmt: skip
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert [r.title for r in refs] == ["徐州市关于加快发展数字经济的实施意见", "关于公布2024年市级重大产业项目名单的通知",
                                       "徐州市新材料产业发展规划"]  # fmt: skip
    assert refs[1].published_at == datetime(2024, 5, 11, 16, 20, tzinfo=SHANGHAI)
    assert refs[0].extra == {"category": "政策文件"}
    assert refs[2].url == http_server.url(
        "/epoint/xxgk/003006/20240509/a1b2c3d4-0000-4000-8000-000000000003.html"
    )
    paths = [r.path for r in http_server.requests]
    assert paths.count("/epoint/js/webBuilderCommon.js") == 1
    assert paths.count(API) == 2  # total 3 with pages of 2: stops after the second


def test_a_configured_site_guid_skips_discovery(http_server):
    http_server.routes[API] = govinfo
    src = source(http_server, "epoint", "/epoint/",
                 options={"mode": "govinfo", "categorynum": "003006", "siteGuid": GUID,
                          "site_root": http_server.url("/epoint/")})  # fmt: skip
    with test_fetcher() as fetcher:
        assert len(list_articles(src, fetcher)) == 2
    assert [r.path for r in http_server.requests] == [API]


def test_a_site_without_a_guid_names_the_option_to_set(http_server):
    http_server.add("/epoint2/js/webBuilderCommon.js", "var x = 1;", content_type="application/javascript")
    src = source(http_server, "epoint", "/epoint2/",
                 options={"mode": "govinfo", "categorynum": "003006", "site_root": http_server.url("/epoint2/")})  # fmt: skip
    with test_fetcher() as fetcher, pytest.raises(PermanentFetchError, match="options.siteGuid"):
        list_articles(src, fetcher)
