from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.fetch.urls import absolute_url, canonical_url, host_allowed


def test_it_drops_tracking_parameters_fragments_and_default_ports():
    assert (
        canonical_url("HTTP://WWW.XZ.GOV.CN:80/xwzx/a.html?utm_source=wx&spm=1.2&id=7&from=timeline#top")
        == "http://www.xz.gov.cn/xwzx/a.html?id=7"
    )
    assert canonical_url("https://a.example:443") == "https://a.example/"
    assert canonical_url("http://a.example:8080/x") == "http://a.example:8080/x"


def test_it_keeps_the_scheme_because_some_sites_answer_only_over_http():
    assert canonical_url("http://fgw.xz.gov.cn/a.html").startswith("http://")


def test_it_sorts_parameters_and_resolves_dot_segments():
    assert canonical_url("http://a.example/x/../y/./z.html?b=2&a=1") == "http://a.example/y/z.html?a=1&b=2"


def test_host_aliases_merge_mobile_and_www_hosts():
    aliases = {"m.jschina.com.cn": "jsnews.jschina.com.cn", "xz.gov.cn": "www.xz.gov.cn"}
    assert (
        canonical_url("http://m.jschina.com.cn/xz/t1.shtml", aliases)
        == "http://jsnews.jschina.com.cn/xz/t1.shtml"
    )
    assert canonical_url("http://xz.gov.cn/", aliases) == "http://www.xz.gov.cn/"


def test_epaper_pad_pages_become_pc_pages():
    assert (
        canonical_url("http://szb.cnxz.com.cn/xzrb/pad/con/202405/12/content_3.html")
        == "http://szb.cnxz.com.cn/xzrb/pc/con/202405/12/content_3.html"
    )


def test_non_ascii_paths_are_percent_encoded_once():
    once = canonical_url("http://a.example/新闻/1.html")
    assert once == "http://a.example/%E6%96%B0%E9%97%BB/1.html"
    assert canonical_url(once) == once


def test_absolute_url_skips_script_and_mail_links():
    assert absolute_url("http://a.example/l/", "../x.html") == "http://a.example/x.html"
    assert absolute_url("http://a.example/", "javascript:void(0)") is None
    assert absolute_url("http://a.example/", "mailto:x@a.example") is None
    assert absolute_url("http://a.example/", "#top") is None


def test_host_allowed_supports_subdomain_wildcards():
    assert host_allowed("www.xz.gov.cn", ["www.xz.gov.cn"])
    assert not host_allowed("evil.example", ["www.xz.gov.cn"])
    assert host_allowed("fgw.xz.gov.cn", ["*.xz.gov.cn"])
    assert host_allowed("xz.gov.cn", [".xz.gov.cn"])
    assert not host_allowed("notxz.gov.cn", ["*.xz.gov.cn"])


_segment = st.text(alphabet="abc徐州-_.%2F", min_size=0, max_size=6)


@settings(max_examples=150)
@given(
    scheme=st.sampled_from(["http", "HTTP", "https"]),
    host=st.sampled_from(["www.xz.gov.cn", "A.Example", "szb.cnxz.com.cn"]),
    path=st.lists(_segment, max_size=4),
    params=st.lists(st.tuples(st.sampled_from(["id", "utm_x", "spm", "page", "q"]), _segment), max_size=4),
    fragment=_segment,
)
def test_canonical_url_is_idempotent(scheme, host, path, params, fragment):
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host}/{'/'.join(path)}?{query}#{fragment}"
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "#" not in once and "utm_" not in once and "spm=" not in once
