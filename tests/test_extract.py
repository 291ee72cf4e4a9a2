"""extract_article / extract_articles on hand-written pages of each CMS family, fuzzing, and `xznews extract`."""

from __future__ import annotations

import html as html_lib
import json
import unicodedata
from datetime import datetime
from pathlib import Path

import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from core.tz import SHANGHAI
from ingest.extract.article import Extracted, extract_article, extract_articles
from ingest.extract.charset import decode_html
from xznews.cli.extract_cmd import register

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
FURNITURE = (
    "分享到",
    "打印本页",
    "关闭窗口",
    "字体",
    "责任编辑",
    "您所在的位置",
    "上一篇",
    "下一篇",
    "版权所有",
    "ICP备",
)


def _page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def _assert_no_furniture(article: Extracted) -> None:
    for word in FURNITURE:
        assert word not in article.body, word


def test_hanweb_article_reads_meta_tags_and_the_zoom_body() -> None:
    article = extract_article(_page("hanweb_article.html"), "http://www.xz.gov.cn/art/2024/3/12/art_1_2.html")
    assert article.title == "徐州工程机械集群获评国家先进制造业集群"
    assert article.published_at == datetime(2024, 3, 12, 10, 30, tzinfo=SHANGHAI)  # PubDate, not Maketime
    assert article.source == "徐州市工业和信息化局"
    assert article.editor == "李娜"
    assert article.encoding == "utf-8"
    assert article.paragraphs[0].startswith("3月11日，记者从市工信局获悉")
    assert article.paragraphs[-1].startswith("下一步，徐州将聚焦高端化")
    _assert_no_furniture(article)
    assert "供图" not in article.body and "本报记者" not in article.body


def test_hanweb_article_repairs_the_paragraph_split_by_a_page_break() -> None:
    article = extract_article(_page("hanweb_article.html"))
    assert any("关键零部件本地配套率提升到百分之六十以上" in p for p in article.paragraphs)
    assert len(article.paragraphs) == 3


def test_epoint_article_in_gbk() -> None:
    article = extract_article(_page("epoint_article.gbk.html"), family="epoint")
    assert article.encoding == "gb18030"
    assert article.title == "邳州高新区半导体材料项目开工"
    # The list line only gives the day; the PubDate meta adds the clock time.
    assert article.published_at == datetime(2024, 5, 6, 16, 20, tzinfo=SHANGHAI)
    assert article.source == "邳州市人民政府"
    assert article.editor == "陈静"
    assert article.paragraphs[1].startswith("该项目由江苏某新材料有限公司投资建设")  # dateline stripped
    assert "资料图片仅供参考" not in article.body
    _assert_no_furniture(article)


def test_epoint_family_is_sniffed_when_not_given() -> None:
    sniffed = extract_article(_page("epoint_article.gbk.html"))
    assert sniffed.paragraphs == extract_article(_page("epoint_article.gbk.html"), family="epoint").paragraphs


def test_trs_article_reads_the_baidu_ids() -> None:
    article = extract_article(
        _page("trs_article.html"), "https://jsnews.jschina.com.cn/xz/202402/t20240220_3251.shtml"
    )
    assert article.title == "徐州新能源产业链再添“硬核”项目"
    assert article.published_at == datetime(2024, 2, 20, 9, 15, 8, tzinfo=SHANGHAI)
    assert (article.source, article.author, article.editor) == ("徐州日报", "张涛", "王芳")
    assert len(article.paragraphs) == 3
    assert "相关阅读" not in article.body and "记者 刘洋 摄" not in article.body
    _assert_no_furniture(article)


def test_trs_article_without_a_time_takes_the_date_from_its_url() -> None:
    article = extract_article(
        _page("trs_no_time.html"), "https://jsnews.jschina.com.cn/xz/202402/t20240201_3345.shtml"
    )
    assert article.published_at == datetime(2024, 2, 1, tzinfo=SHANGHAI)
    assert article.published_at.tzinfo is not None


def test_the_list_page_date_wins_unless_the_page_adds_the_clock_time_on_that_day() -> None:
    page = _page("hanweb_article.html")
    same_day = extract_article(page, list_date=datetime(2024, 3, 12))
    assert same_day.published_at == datetime(2024, 3, 12, 10, 30, tzinfo=SHANGHAI)
    other_day = extract_article(page, list_date=datetime(2024, 3, 14, tzinfo=SHANGHAI))
    assert other_day.published_at == datetime(2024, 3, 14, tzinfo=SHANGHAI)


def test_a_newspaper_page_splits_into_its_articles() -> None:
    articles = extract_articles(
        _page("epaper_page.html"), "http://szb.cnxz.com.cn/xzrb/pc/layout/202211/22/node_2.html"
    )
    assert [a.title for a in articles] == [
        "徐州多渠道帮扶困难群体就业",
        "“徐州—青岛”海铁联运班列首发",
        "徐州9个项目获省级体育产业专项资金",
    ]
    assert all(a.published_at == datetime(2022, 11, 22, tzinfo=SHANGHAI) for a in articles)
    assert articles[0].paragraphs[0].startswith("自8月以来")
    assert len(articles[1].paragraphs) == 2
    assert "版权所有" not in "".join(a.body for a in articles)


def test_extract_article_on_a_newspaper_page_gives_its_first_article() -> None:
    article = extract_article(_page("epaper_page.html"))
    assert article.paragraphs[0].startswith("自8月以来")


def test_a_single_article_page_gives_one_article() -> None:
    assert len(extract_articles(_page("trs_article.html"))) == 1


def test_gbk_only_characters_in_a_gb2312_page_survive() -> None:
    article = extract_article(_page("gb2312_with_gbk_chars.html"))
    assert article.title == "朱镕基题词的徐州老厂区焕发新生"
    assert "王堃" in article.body
    assert "首页" not in article.body


def test_a_utf8_page_labelled_gbk() -> None:
    article = extract_article(_page("utf8_labelled_gbk.html"))
    assert article.encoding == "utf-8"
    assert article.title == "新沂召开招商引资项目建设誓师大会"
    assert len(article.paragraphs) == 2


def test_str_input_is_accepted() -> None:
    article = extract_article(_page("trs_article.html").decode("utf-8"))
    assert article.title == "徐州新能源产业链再添“硬核”项目"
    assert article.encoding is None


def test_empty_and_non_html_input_give_an_empty_article() -> None:
    for data in (b"", b"   ", b"\x00\xff\xfe", "<html></html>", b"<?xml version='1.0' encoding='gbk'?><a/>"):
        article = extract_article(data)
        assert article.paragraphs == []
        assert article.body == ""


def _chars(text: str) -> set[str]:
    return {ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace()}


def _page_chars(data: bytes) -> set[str]:
    text, _ = decode_html(data)
    return _chars(text) | _chars(html_lib.unescape(text))


_FRAGMENTS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='content'>",
        "<div class='share'>",
        "</div>",
        "<a href='/x'>",
        "</a>",
        "<br>",
        "<h1>",
        "</h1>",
        "<script>var a=1;</script>",
        "<!--enpcontent-->",
        "<!--/enpcontent-->",
        "<meta name='PubDate' content='2024-05-06 16:20'>",
        "<meta name='ArticleTitle' content='徐州新闻'>",
        "徐州工程机械集群规上企业超过400家，",
        "实现产值1700亿元。",
        "分享到：",
        "责任编辑：李娜",
        "本报讯（记者 李刚）",
        "版权所有",
        "&amp;",
        "&#20013;",
        " ",
        "\n",
    ]
)
_HTML = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), _HTML.map(lambda s: s.encode("utf-8"))))
def test_extraction_never_raises_and_never_invents_text(data: bytes) -> None:
    for article in (extract_article(data), *extract_articles(data)):
        assert isinstance(article, Extracted)
        assert _chars(article.body) <= _page_chars(data)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # a group, so the command is invoked by name as in the real CLI
        pass

    return app


def test_the_extract_command_prints_one_json_line_per_input_in_order(tmp_path: Path) -> None:
    missing = tmp_path / "missing.html"
    result = CliRunner().invoke(
        _cli(),
        [
            "extract",
            str(PAGES / "trs_article.html"),
            str(missing),
            str(PAGES / "hanweb_article.html"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [
        str(PAGES / "trs_article.html"),
        str(missing),
        str(PAGES / "hanweb_article.html"),
    ]
    assert lines[0]["title"] == "徐州新能源产业链再添“硬核”项目"
    assert lines[0]["published_at"] == "2024-02-20T09:15:08+08:00"
    assert lines[0]["source"] == "徐州日报" and lines[0]["author"] == "张涛"
    assert lines[0]["body"].count("\n") == 2 and lines[0]["error"] is None
    assert lines[1]["error"] and lines[1]["body"] is None
    assert set(lines[2]) == {
        "input",
        "title",
        "published_at",
        "source",
        "author",
        "body",
        "extractor",
        "error",
    }


def test_the_extract_command_uses_url_for_the_date(tmp_path: Path) -> None:
    url = "https://jsnews.jschina.com.cn/xz/202402/t20240201_3345.shtml"
    result = CliRunner().invoke(_cli(), ["extract", str(PAGES / "trs_no_time.html"), "--url", url, "--json"])
    assert json.loads(result.stdout)["published_at"] == "2024-02-01T00:00:00+08:00"


def test_the_extract_command_fails_only_when_every_input_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _cli(), ["extract", str(tmp_path / "a.html"), str(tmp_path / "b.html"), "--json"]
    )
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2


def test_the_extract_command_prints_a_readable_form() -> None:
    result = CliRunner().invoke(_cli(), ["extract", str(PAGES / "trs_article.html")])
    assert result.exit_code == 0
    assert "title:  徐州新能源产业链再添“硬核”项目" in result.stdout
    assert "2月19日，位于徐州经开区的储能电池项目" in result.stdout


def test_the_extract_command_fetches_urls(http_server, tmp_path, monkeypatch) -> None:
    from xznews.cli.common import get_settings

    # The fixture server is on loopback, which the fetcher refuses unless configured to allow it.
    config = tmp_path / "xznews.toml"
    config.write_text("[fetch]\nallow_private_addresses = true\nper_host_delay_s = 0\nretries = 0\n")
    monkeypatch.setenv("XZNEWS_CONFIG", str(config))
    get_settings.cache_clear()
    http_server.add("/xz/202402/t20240220_3251.shtml", _page("trs_article.html"))
    http_server.add("/gone.html", b"gone", status=404)
    result = CliRunner().invoke(
        _cli(),
        [
            "extract",
            http_server.url("/xz/202402/t20240220_3251.shtml"),
            http_server.url("/gone.html"),
            "--json",
        ],
    )
    assert result.exit_code == 0
    ok, gone = (json.loads(line) for line in result.stdout.splitlines())
    assert ok["title"] == "徐州新能源产业链再添“硬核”项目" and ok["error"] is None
    assert "404" in gone["error"]
