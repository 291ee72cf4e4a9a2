from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.tz import SHANGHAI
from ingest.sources import list_articles
from ingest.sources.hanweb import discover_params, parse_records
from tests.servers import Reply, Request
from tests.sources_helpers import source, test_fetcher

SITE = Path(__file__).parent / "fixtures" / "sites" / "hanweb"
PROXY = "/module/web/jpage/dataproxy.jsp"
XUZHOU = "徐州|邳州|新沂|睢宁|沛县|丰县|铜山|贾汪"


def dataproxy(req: Request) -> Reply:
    """Answers the second page to either paging style; anything later is empty."""
    fields = parse_qs(urlsplit(req.path).query) | parse_qs(req.body.decode())
    if fields.get("page") == ["2"] or fields.get("startrecord") == ["4"]:
        body = (SITE / "module" / "dataproxy_page2.xml").read_bytes()
    else:
        body = b"<datastore><totalrecord>5</totalrecord><recordset></recordset></datastore>"
    return Reply(200, body, {"Content-Type": "text/xml;charset=UTF-8"})


def test_it_reads_the_inline_datastore(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "hanweb", "/hanweb/col/col33718/index.html"), fetcher)
    assert [r.url.rsplit("/", 1)[1] for r in refs] == ["art_33718_9003.html", "art_33718_9002.html",
                                                       "art_33718_9001.html"]  # fmt: skip
    assert refs[2].title == "徐州市推进工程机械产业集群高质量发展"  # from the title attribute
    assert refs[2].published_at == datetime(2024, 5, 12, tzinfo=SHANGHAI)  # from <b>, not <span>
    assert refs[0].extra["column"] == "地方动态"
    assert [r.path for r in http_server.requests] == ["/hanweb/col/col33718/index.html"]


def test_it_pages_through_dataproxy_sending_both_paging_styles(http_server):
    http_server.routes[PROXY] = dataproxy
    src = source(http_server, "hanweb", "/hanweb/col/col33718/index.html", max_pages=3)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert len(refs) == 5
    assert refs[3].title == "徐州高新区安全应急产业再添新项目"  # record markup in table cells
    assert refs[3].published_at == datetime(2024, 5, 11, tzinfo=SHANGHAI)
    page2 = next(r for r in http_server.requests if r.path.startswith(PROXY))
    query = parse_qs(urlsplit(page2.path).query)
    form = parse_qs(page2.body.decode())
    assert page2.method == "POST"
    assert (query["startrecord"], query["endrecord"], query["perpage"]) == (["4"], ["6"], ["3"])
    assert form["page"] == ["2"]
    assert (form["columnid"], form["unitid"], form["webid"]) == (["33718"], ["399999"], ["1"])
    assert form["webname"] == ["测试省人民政府"]
    # totalrecord = 5 is reached on page 2: no third request
    assert sum(r.path.startswith(PROXY) for r in http_server.requests) == 1


def test_the_get_style_puts_everything_in_the_query(http_server):
    http_server.routes[PROXY] = dataproxy
    src = source(
        http_server, "hanweb", "/hanweb/col/col33718/index.html", max_pages=2, options={"method": "get"}
    )
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert len(refs) == 5
    page2 = next(r for r in http_server.requests if r.path.startswith(PROXY))
    assert page2.method == "GET"
    query = parse_qs(urlsplit(page2.path).query)
    assert query["page"] == ["2"] and query["startrecord"] == ["4"] and query["columnid"] == ["33718"]


def test_a_server_that_ignores_paging_does_not_loop(http_server):
    http_server.add(PROXY, (SITE / "col" / "col33718" / "index.html").read_bytes())
    src = source(http_server, "hanweb", "/hanweb/col/col33718/index.html", max_pages=5)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert len(refs) == 3
    assert sum(r.path.startswith(PROXY) for r in http_server.requests) == 1


def test_the_title_filter_keeps_xuzhou_items_from_the_provincial_column(http_server):
    http_server.routes[PROXY] = dataproxy
    src = source(http_server, "hanweb", "/hanweb/col/col33718/index.html", max_pages=2, title_filter=XUZHOU)
    with test_fetcher() as fetcher:
        titles = [r.title for r in list_articles(src, fetcher)]
    assert titles == ["徐州：重大产业项目建设跑出加速度", "徐州市推进工程机械产业集群高质量发展",
                      "徐州高新区安全应急产业再添新项目"]  # fmt: skip


def test_params_are_discovered_from_the_jpage_script():
    params, hints = discover_params((SITE / "col" / "col33718" / "index.html").read_text())
    assert params["columnid"] == "33718" and params["unitid"] == "399999" and params["path"] == "/"
    assert hints == {"perpage": "3", "proxy_url": "/module/web/jpage/dataproxy.jsp"}


def test_records_without_links_are_skipped():
    text = (
        "<recordset><record><![CDATA[<li>暂无信息</li>]]></record><record><![CDATA[]]></record></recordset>"
    )
    assert parse_records(text, "http://x.example/") == []
