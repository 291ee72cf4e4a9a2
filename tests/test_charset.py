"""decode_html: BOM → HTTP charset → meta → strict UTF-8 → GB18030, with mislabelled pages repaired."""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.extract.charset import decode_html, normalize_label

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
TEXT = "徐州工程机械集群规上企业超过400家，镕堃"


def test_it_reads_a_utf8_page_without_declaration() -> None:
    text, encoding = decode_html(f"<p>{TEXT}</p>".encode())
    assert encoding == "utf-8"
    assert TEXT in text


def test_a_bom_wins_over_everything() -> None:
    data = codecs.BOM_UTF8 + '<meta charset="gbk"><p>徐州</p>'.encode()
    text, encoding = decode_html(data, http_charset="big5")
    assert encoding == "utf-8"
    assert "徐州" in text and not text.startswith("\ufeff")


def test_utf16_with_bom() -> None:
    text, encoding = decode_html(codecs.BOM_UTF16_LE + "<p>徐州</p>".encode("utf-16-le"))
    assert encoding.startswith("utf-16")
    assert "徐州" in text


def test_the_http_charset_is_used_before_the_meta_tag() -> None:
    data = '<meta charset="utf-8"><p>徐州发布</p>'.encode("gbk")
    text, encoding = decode_html(data, http_charset="GBK")
    assert encoding == "gb18030"
    assert "徐州发布" in text


def test_gb2312_is_decoded_as_gb18030_so_gbk_only_characters_survive() -> None:
    text, encoding = decode_html((PAGES / "gb2312_with_gbk_chars.html").read_bytes())
    assert encoding == "gb18030"
    assert "朱镕基" in text and "王堃" in text
    assert "\ufffd" not in text


def test_a_utf8_page_labelled_gbk_is_decoded_as_utf8(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="ingest.extract.charset"):
        text, encoding = decode_html((PAGES / "utf8_labelled_gbk.html").read_bytes())
    assert encoding == "utf-8"
    assert "新沂召开招商引资项目建设誓师大会" in text
    assert any("utf-8" in r.getMessage() for r in caplog.records)


def test_a_gbk_page_without_declaration_falls_back_to_gb18030() -> None:
    text, encoding = decode_html(f"<p>{TEXT}</p>".encode("gbk"))
    assert encoding == "gb18030"
    assert TEXT in text


def test_a_gbk_page_labelled_utf8_is_repaired() -> None:
    text, encoding = decode_html(f'<meta charset="utf-8"><p>{TEXT}</p>'.encode("gbk"))
    assert encoding == "gb18030"
    assert TEXT in text


def test_a_utf8_page_labelled_latin1_by_the_server_is_decoded_as_utf8() -> None:
    text, encoding = decode_html(f"<p>{TEXT}</p>".encode(), http_charset="ISO-8859-1")
    assert encoding == "utf-8"
    assert TEXT in text


def test_an_unknown_label_is_ignored() -> None:
    text, encoding = decode_html(f'<meta charset="x-no-such-charset"><p>{TEXT}</p>'.encode())
    assert encoding == "utf-8"
    assert TEXT in text


def test_big5_declared_page() -> None:
    text, encoding = decode_html('<meta charset="big5"><p>發展經濟</p>'.encode("big5"))
    assert encoding.startswith("big5")
    assert "發展經濟" in text


def test_label_normalisation() -> None:
    assert normalize_label("GB2312") == "gb18030"
    assert normalize_label("x-gbk") == "gb18030"
    assert normalize_label("gb_2312-80") == "gb18030"
    assert normalize_label("UTF8") == "utf-8"
    assert normalize_label("nonsense") is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([None, "utf-8", "gb2312", "big5", "latin-1", "bogus"]))
def test_it_never_raises_and_always_names_an_encoding(data: bytes, http_charset: str | None) -> None:
    text, encoding = decode_html(data, http_charset)
    assert isinstance(text, str)
    assert codecs.lookup(encoding)
