from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from ingest.sources import KINDS, load_sources

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "sources.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_sources_file_loads_and_every_entry_is_unverified():
    sources = load_sources(SHIPPED)
    assert {s.kind for s in sources} >= {"hanweb", "epoint", "trs", "epaper"}
    assert all(s.kind in KINDS for s in sources)
    assert not any(s.verified for s in sources)
    difang = next(s for s in sources if s.name == "jiangsu-gov-difang")
    assert difang.title_pattern is not None and difang.title_pattern.search("徐州：重大项目开工")
    assert not difang.title_pattern.search("苏州：生物医药产业园")


def test_defaults_apply_and_allowed_hosts_default_to_the_url_host(tmp_path):
    path = write(
        tmp_path,
        """
[defaults]
interval_minutes = 15
[[sources]]
name = "a"
kind = "rss"
url = "https://news.example.cn/rss.xml"
""",
    )
    (source,) = load_sources(path)
    assert source.interval_minutes == 15
    assert source.allowed_hosts == ["news.example.cn", "www.news.example.cn"]
    assert source.enabled and not source.verified and source.robots


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ('[[sources]]\nname = "a"\nkind = "blog"\nurl = "http://x.cn/"', "sources[0].kind", "unknown kind"),
        ('[[sources]]\nname = "a"\nkind = "rss"\nurl = "ftp://x.cn/"', "sources[0].url", "not an absolute"),
        ('[[sources]]\nname = "a"\nkind = "rss"', "sources[0].url", "is required"),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\nintervall = 5',
            "sources[0].intervall",
            "unknown key",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\nmax_pages = "2"',
            "sources[0].max_pages",
            "expected an integer",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\nmax_pages = true',
            "sources[0].max_pages",
            "expected an integer",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\ntitle_filter = "徐州("',
            "sources[0].title_filter",
            "invalid regular expression",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\nmin_xuzhou = 3',
            "sources[0].min_xuzhou",
            "between 0 and 1",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "listpage"\nurl = "http://x.cn/"',
            "sources[0].options.item",
            "required",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "epoint"\nurl = "http://x.cn/"\n[sources.options]\nmode = "govinfo"',
            "sources[0].options.categorynum",
            "required",
        ),
        ('[[sources]]\nname = "a b"\nkind = "rss"\nurl = "http://x.cn/"', "sources[0].name", "no spaces"),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/{date:%Y}"',
            "sources[0].url",
            "only for",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://x.cn/"\n[[sources]]\nname = "a"\nkind = "rss"\n'
            'url = "http://y.cn/"',
            "sources[1].name",
            "duplicate",
        ),
        ("[defaults]\nurl = 'http://x.cn/'", "defaults.url", "cannot be set"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, body, key, problem):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.key == key
    assert problem in err.value.problem
    assert str(path) in str(err.value)


def test_a_missing_file_or_bad_toml_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_sources(write(tmp_path, "[[sources]\n"))
