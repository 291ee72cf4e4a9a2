from __future__ import annotations

from pathlib import Path

import pytest

from ingest.sources import sniff_family

SITES = Path(__file__).parent / "fixtures" / "sites"


@pytest.mark.parametrize(
    ("page", "family"),
    [
        ("hanweb/col/col33718/index.html", "hanweb"),
        ("epoint/xwzx/001001/subPage.html", "epoint"),
        ("trs/xz/index.shtml", "trs"),
        ("trs/xz/202405/t20240512_3361201.shtml", "trs"),
        ("epaper/xzrb/pc/layout/202405/12/node_1.html", "epaper"),
        ("epaper/xzrb/pc/con/202405/12/content_1.html", "epaper"),
        ("feeds/rss2.xml", "rss"),
        ("feeds/atom.xml", "rss"),
    ],
)
def test_it_recognises_each_family_from_its_fixture(page, family):
    sniffed = sniff_family((SITES / page).read_bytes())
    assert sniffed.family == family
    assert sniffed.kind == family
    assert sniffed.evidence[family]


def test_a_plain_page_has_no_family_and_suggests_listpage():
    sniffed = sniff_family((SITES / "listpage/news/index.html").read_text())
    assert sniffed.family is None
    assert sniffed.kind == "listpage"


def test_other_list_mechanisms_are_named_without_an_adapter():
    sniffed = sniff_family('<script>$.ajax({url: "/jpaas-publish-server/front/page/build/unit"})</script>')
    assert sniffed.family == "jpaas"
    assert sniffed.kind == "listpage"
