"""General rules that replaced site-specific ones (issue 12): URL dates by shape, widget labels by shape, the
Epoint info line, table layouts, and a headline beside the body instead of a site-name <title>."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from ingest.extract import boilerplate, pubtime
from ingest.extract.article import extract_article
from ingest.extract.clean import clean_paragraphs, parse_labelled_line

SITES = Path(__file__).parent / "fixtures" / "sites"
EXTRACT = Path(__file__).parents[1] / "ingest" / "extract"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a.example/gj/202405/t20240520_15263156.htm", date(2024, 5, 20)),
        ("http://a.example/art/2024/5/6/art_1_2.html", date(2024, 5, 6)),
        ("http://a.example/pc/con/202211/22/content_1.html", date(2022, 11, 22)),
        ("http://a.example/n1/2024/0510/c1004-4023.html", date(2024, 5, 10)),
        ("http://a.example/a/210120/8605520.html", date(2021, 1, 20)),
        ("http://a.example/politics/2023-12/01/content_1755244.html", date(2023, 12, 1)),
        ("http://a.example/c/2024-05-16/doc-x.shtml", date(2024, 5, 16)),
        ("http://a.example/xwzx/001001/20240513/6f1c2a9e.html", date(2024, 5, 13)),
        ("http://a.example/zwdt/t1234567.htm", None),  # a document id is not a date
        ("http://a.example/p/1716193079034519", None),
        ("http://a.example/a/123456.html", None),  # six digits as a file name: an id
        ("http://a.example/list?date=20240513", None),  # the query is not the article's path
    ],
)
def test_url_dates_are_read_by_the_shape_of_their_digit_groups(url, expected):
    got = pubtime.date_from_url(url)
    assert (got.date() if got else None) == expected


def test_no_extraction_rule_names_a_site():
    names = r"搜狐|网易|新浪|腾讯|头条|人民网|新华网|百度|people\.com|39\.net|sohu|sina|163\.com|qq\.com"
    for module in ("boilerplate.py", "pubtime.py", "clean.py", "density.py", "fallback.py"):
        assert not re.search(names, (EXTRACT / module).read_text(encoding="utf-8")), module


def test_runs_of_widget_labels_go_whatever_they_say_but_short_headings_stay():
    body = ["第一段正文，说明了事情的经过。", "甲乙", "丙丁", "戊己庚", "第二段正文，交代了后续安排。"]
    assert clean_paragraphs(body) == ["第一段正文，说明了事情的经过。", "第二段正文，交代了后续安排。"]
    headed = [
        "一、总体要求",
        "第一段正文，说明了事情的经过。",
        "二、主要任务",
        "第二段正文，交代了后续安排。",
    ]
    assert clean_paragraphs(headed) == headed


def test_notices_are_furniture_but_sentences_about_copyright_are_not():
    assert boilerplate.is_notice("版权声明：凡注明来源为本台的作品，未经书面授权不得转载。")
    assert boilerplate.is_notice("请文明发言，遵守国家法律法规，发表留言即表明您已阅读并接受上述条款。")
    assert not boilerplate.is_notice("市版权局表示，版权所有者的合法权益受法律保护。")


def test_the_epoint_info_line_is_a_labelled_time_line():
    fields = parse_labelled_line("【信息发布时间：2020-11-06阅读次数：】【我要打印】【关闭】")
    assert fields["time"] == "2020-11-06"
    assert clean_paragraphs(
        ["【信息发布时间：2020-11-06阅读次数：】【我要打印】【关闭】", "正文第一句。"]
    ) == ["正文第一句。"]


def test_a_gbk_table_layout_gives_the_cell_with_br_runs_as_paragraphs():
    page = SITES / "gov-table/art/2023/3/15/art_1_101.html"
    assert b"charset=gb2312" in page.read_bytes()
    extracted = extract_article(page.read_bytes(), "http://gov.example/art/2023/3/15/art_1_101.html")
    assert extracted.title == "双湖县开展冬季农田水利建设"
    assert extracted.published_at is not None and extracted.published_at.date() == date(2023, 3, 15)
    # The cell beside it holds punctuated health tips worth more than the article: the time line picks the column.
    assert [p[:6] for p in extracted.paragraphs] == ["入冬以来，双", "县水务局派出", "据介绍，今年"]
    assert extracted.extractor == "primary"


def test_a_headline_beside_the_body_beats_a_site_name_title():
    page = (SITES / "gov-table/art/2023/3/16/art_1_102.html").read_bytes()
    extracted = extract_article(page)
    assert extracted.title == "本周六早间节目调整的说明"  # <title> says only the site's name and column
    assert extracted.paragraphs == ["因设备检修，本周六早间新闻节目推迟半小时播出，敬请听众谅解。"]
    # A <title> that carries the headline still wins over headings elsewhere on the page.
    titled = page.replace(
        "<title>双湖广播 - 节目预告</title>".encode(),
        "<title>本周六早间节目调整的说明_双湖广播</title>".encode(),
    )
    assert extract_article(titled).title == "本周六早间节目调整的说明"


@pytest.mark.parametrize("day, n", [("20201106", 1), ("20201207", 2)])
def test_an_epoint_article_reads_right_even_when_its_family_is_not_recognised(day, n):
    page = (SITES / f"ewb-city/tzgg/004001/{day}/3f7a0c1e-aaaa-4bbb-8ccc-00000000000{n}.html").read_text(
        "utf-8"
    )
    generic = re.sub(r"ewb-|webBuilderCommon", "x", page).encode()  # no family marks left: the generic path
    extracted = extract_article(generic)
    assert extracted.title in ("关于2020年11月份市政道路养护计划的公告", "2020年12月份市政工程招标计划")
    assert extracted.published_at is not None and extracted.published_at.strftime("%Y%m%d") == day
    assert extracted.paragraphs[0].startswith(("为做好冬季道路养护工作", "附件："))
