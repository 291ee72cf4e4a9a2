"""One test per failing page family (issue 12), against fixture sites written for the project: the adapter lists
the site, and `xznews sources check` shows the right title, time and first sentence of its first article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.sources import list_articles
from ingest.sources.epoint import parse_govinfo
from tests.servers import Reply, Request
from tests.sources_helpers import ingest_once, source, sources_cli, test_fetcher
from xznews.cli import common

SITES = Path(__file__).parent / "fixtures" / "sites"
EWB_API = "/ewb-city/EpointWebBuilder/rest/lightfrontaction/getgovinfolist"
EWB_GUID = "0a1b2c3d-1111-4222-8333-944455566677"
EWB_ARTICLE = "/ewb-city/tzgg/004001/{day}/3f7a0c1e-aaaa-4bbb-8ccc-00000000000{n}.html"


def _sources_toml(server) -> str:  # type: ignore[no-untyped-def]
    url = server.url
    return f"""
[[sources]]
name = "gov-table"
kind = "listpage"
url = "{url("/gov-table/col/index.html")}"
[sources.options]
item = "ul.list li"

[[sources]]
name = "short-notice"
kind = "listpage"
url = "{url("/gov-table/col/short.html")}"
[sources.options]
item = "ul.list li"

[[sources]]
name = "empty-column"
kind = "listpage"
url = "{url("/gov-table/col/empty.html")}"
[sources.options]
item = "ul.list li"

[[sources]]
name = "ewb-trade"
kind = "epoint"
url = "{url("/ewb-city/tzgg/004001/trade.html")}"

[[sources]]
name = "ewb-trade-empty"
kind = "epoint"
url = "{url("/ewb-city/tzgg/004002/trade.html")}"

[[sources]]
name = "ewb-api"
kind = "epoint"
url = "{url("/ewb-city/")}"
[sources.options]
mode = "govinfo"
categorynum = "004001"
site_root = "{url("/ewb-city/")}"

[[sources]]
name = "founder"
kind = "epaper"
url = "{url("/founder/html/{date:%Y-%m/%d}/node_1.htm")}"
max_pages = 4
[sources.options]
fallback_days = 0

[[sources]]
name = "trs-t"
kind = "trs"
url = "{url("/trs-t/zwdt/index.htm")}"
"""


@pytest.fixture
def cli(tmp_path: Path, http_server, monkeypatch):  # type: ignore[no-untyped-def]
    yield sources_cli(tmp_path, monkeypatch, _sources_toml(http_server))
    common.get_settings.cache_clear()


def check(app, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["sources", "check", *args], catch_exceptions=False)
    return result.exit_code, result.output


def check_json(app, *args: str) -> dict:  # type: ignore[no-untyped-def]
    code, output = check(app, *args, "--json")
    assert code == 0, output
    return json.loads(output)


# -- 1. nested-table government template (GBK) ------------------------------------------------------------


def test_a_nested_table_template_gives_its_headline_time_and_body(cli):
    code, output = check(cli, "gov-table")
    assert code == 0, output
    assert "title:  双湖县开展冬季农田水利建设" in output
    assert "time:   2023-03-15" in output
    assert "    入冬以来，双湖县组织各乡镇集中开展农田水利建设" in output  # first sentence, first paragraph
    # Beside the article's cell: prose tips, linked ads, related news and a copyright line.
    for furniture in ("健康提示", "健康讲座", "农业机械推广", "版权所有"):
        assert furniture not in output


# -- 2. a short body beside long furniture ----------------------------------------------------------------


def test_a_short_notice_beats_the_comment_rules_and_copyright_beside_it(cli):
    data = check_json(cli, "short-notice")
    article = data["articles"][0]
    assert article["extracted_title"] == "本周六早间节目调整的说明"
    assert article["extracted_published_at"].startswith("2023-03-16T09:30")
    assert article["first_paragraphs"] == ["因设备检修，本周六早间新闻节目推迟半小时播出，敬请听众谅解。"]


# -- 3. Epoint WebBuilder article pages -------------------------------------------------------------------


def test_epoint_articles_get_the_h1_as_title_and_start_with_their_first_sentence(cli):
    data = check_json(cli, "ewb-trade", "--limit", "3")
    by_title = {a["extracted_title"]: a for a in data["articles"]}
    assert set(by_title) == {
        "关于2020年11月份市政道路养护计划的公告",
        "2020年12月份市政工程招标计划",
        "2021年1月份市政工程招标计划",
    }
    notice = by_title["关于2020年11月份市政道路养护计划的公告"]
    assert notice["first_paragraphs"][0].startswith("为做好冬季道路养护工作")
    assert notice["extracted_published_at"].startswith("2020-11-06")
    # PDF-only notices keep their attachment line, so two months of one template differ.
    dec, jan = by_title["2020年12月份市政工程招标计划"], by_title["2021年1月份市政工程招标计划"]
    assert dec["first_paragraphs"] == ["附件：2020年12月份市政工程招标计划.pdf"]
    assert dec["first_paragraphs"] != jan["first_paragraphs"]
    assert not any("信息发布时间" in p for a in data["articles"] for p in a["first_paragraphs"])


# -- 4. Epoint listings: trade tables, projectName, reply shapes, empty columns ---------------------------


def test_a_trade_table_column_is_listed_with_the_dates_of_its_rows(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "epoint", "/ewb-city/tzgg/004001/trade.html"), fetcher)
    assert [r.title for r in refs] == [
        "2021年1月份市政工程招标计划",
        "2020年12月份市政工程招标计划",
        "关于2020年11月份市政道路养护计划的公告",
    ]
    assert refs[0].published_at is not None and refs[0].published_at.date().isoformat() == "2021-01-08"


def _api(shape: str):  # type: ignore[no-untyped-def]
    rows = [
        {"title": "2021年1月份市政工程招标计划", "infourl": EWB_ARTICLE.format(day="20210108", n=3),
         "infodate": "2021-01-08"},
        {"title": "2020年12月份市政工程招标计划", "infourl": EWB_ARTICLE.format(day="20201207", n=2),
         "infodate": "2020-12-07"},
    ]  # fmt: skip
    replies = {
        "infodata": {"custom": {"infodata": rows, "count": 2}},
        "Table": {"Table": rows, "RowCount": 2},
        "string": {"custom": json.dumps({"data": rows, "total": 2})},
    }

    def handler(req: Request) -> Reply:
        body = json.loads(req.body)
        if body.get("siteGuid") != EWB_GUID or body.get("categorynum") != "004001":
            return Reply(400, b"{}", {"Content-Type": "application/json"})
        return Reply(200, json.dumps(replies[shape]).encode(), {"Content-Type": "application/json"})

    return handler


@pytest.mark.parametrize("shape", ["infodata", "Table", "string"])
def test_the_api_path_comes_from_project_name_and_every_reply_shape_is_read(cli, http_server, shape):
    http_server.routes[EWB_API] = _api(shape)
    data = check_json(cli, "ewb-api")
    assert [i["title"] for i in data["items"]] == [
        "2021年1月份市政工程招标计划",
        "2020年12月份市政工程招标计划",
    ]
    assert data["articles"][0]["first_paragraphs"] == ["附件：2021年1月份市政工程招标计划.pdf"]
    paths = [r.path for r in http_server.requests]
    assert EWB_API in paths and "/ewb-city/js/webBuilderCommon.js" in paths


def test_a_reply_without_rows_is_a_clear_error():
    with pytest.raises(Exception, match=r"no rows \(keys: custom, status, x\)"):
        parse_govinfo(b'{"custom": {"x": 1}, "status": {"code": 200}}', "http://h/")


@pytest.mark.parametrize("name", ["ewb-trade-empty", "empty-column"])
def test_a_listing_with_no_links_fails_the_check_loudly(cli, name):
    code, output = check(cli, name)
    assert code == 1
    assert "listing FAILED: the listing gave no article links" in output


# -- 5. Founder e-paper with .htm pages -------------------------------------------------------------------


def test_a_founder_paper_lists_each_article_once_with_the_list_title(cli):
    data = check_json(cli, "founder", "--date", "2024-05-12", "--limit", "1")
    assert data["listing_url"].endswith("/founder/html/2024-05/12/node_1.htm")
    assert data["sniffed"]["family"] == "epaper"
    items = {i["url"]: i["title"] for i in data["items"]}
    assert len(items) == 2  # the image map and the title list name the same two articles
    assert all("div=" not in url for url in items)
    assert set(items.values()) == {"双湖港新增两条集装箱航线", "县域工业用电量同比增长一成"}
    article = data["articles"][0]
    assert article["extracted_published_at"].startswith("2024-05-12")
    assert article["first_paragraphs"][0].startswith(article["extracted_title"])


def test_a_past_issue_is_read_with_date(cli):
    data = check_json(cli, "founder", "--date", "2024-05-11")
    assert [i["title"] for i in data["items"]] == ["新能源汽车零部件产业园开工"]
    assert data["articles"][0]["extracted_title"] == "新能源汽车零部件产业园开工"


def test_a_bad_date_is_one_clear_line(cli):
    code, output = check(cli, "founder", "--date", "May 11")
    assert code != 0 and "is not a date like 2024-05-12" in output and "Traceback" not in output


# -- 6. TRS columns that name articles ./tNNNNNNN.htm -----------------------------------------------------


def test_trs_articles_named_by_id_are_listed_without_a_pattern(cli):
    code, output = check(cli, "trs-t")
    assert code == 0, output
    assert "listed 2 article link(s)" in output
    assert "title:  双湖县召开重点项目推进会" in output
    assert "time:   2024-05-14T10:00" in output
    assert "    05月14日，召开重点项目推进会" in output


def test_two_monthly_pdf_notices_of_one_template_are_two_articles(engine, tmp_path, http_server):
    listing = http_server.url("/ewb-city/tzgg/004001/trade.html")
    report, stored = ingest_once(
        tmp_path, engine, f'[[sources]]\nname = "ewb-trade"\nkind = "epoint"\nurl = "{listing}"\n'
    )
    assert report.error is None and report.duplicates == 0, report
    for month in ("2020年12月份", "2021年1月份"):
        notice = stored[f"{month}市政工程招标计划"]
        assert (notice.verdict, notice.body) == ("new", f"附件：{month}市政工程招标计划.pdf")
