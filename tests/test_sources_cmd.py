"""`xznews sources list|check` against the fixture sites, through a real settings file and database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.health import record_run
from ingest.sources import load_sources
from store.db import session_scope
from tests.sources_helpers import sources_cli
from xznews.cli import common


@pytest.fixture
def cli(tmp_path: Path, http_server, monkeypatch):  # type: ignore[no-untyped-def]
    sources = f"""
[[sources]]
name = "fixture-trs"
kind = "trs"
url = "{http_server.url("/trs/xz/index.shtml")}"
interval_minutes = 30

[[sources]]
name = "fixture-dead"
kind = "listpage"
url = "{http_server.url("/gone/index.html")}"
enabled = false
[sources.options]
item = "li"
"""
    app = sources_cli(tmp_path, monkeypatch, sources)
    yield app, tmp_path / "config"
    common.get_settings.cache_clear()


def invoke(app, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_list_shows_each_source_with_its_health(cli):
    app, config = cli
    settings = common.get_settings()
    trs = load_sources(config / "sources.toml")[0]
    with session_scope(common.get_engine(settings)) as session:
        for _ in range(3):
            record_run(session, trs, ok=False, items=0, new=0, error="HTTP 503: x", now=datetime.now(UTC))
    result = invoke(app, "sources", "list", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in records] == ["fixture-trs", "fixture-dead"]
    assert records[0]["consecutive_failures"] == 3
    assert "3 consecutive failures" in records[0]["flagged"]
    assert records[1]["flagged"] is None and records[1]["enabled"] is False
    text = invoke(app, "sources", "list").output
    assert "FLAGGED" in text and "never run" in text


def test_check_lists_a_source_and_extracts_its_first_article(cli):
    app, _ = cli
    result = invoke(app, "sources", "check", "fixture-trs", "--json", "--limit", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sniffed"]["family"] == "trs"
    assert data["listed"] == 2
    article = data["articles"][0]
    assert article["url"].endswith("t20240513_s5f2e9a0c1b2d3e4f5a6b7c8d.shtml")
    assert article["extracted_title"] == "徐州：“343”创新产业集群建设提速"
    assert article["extracted_published_at"].startswith("2024-05-13T18:02")
    assert article["first_paragraphs"][0].startswith("记者从徐州市工业和信息化局获悉")


def test_check_an_unknown_url_suggests_a_family(cli, http_server):
    app, _ = cli
    result = invoke(
        app, "sources", "check", http_server.url("/hanweb/col/col33718/index.html"), "--limit", "1"
    )
    assert result.exit_code == 0, result.output
    assert "sniffed family: hanweb" in result.output
    assert 'kind = "hanweb"' in result.output
    assert "徐州市推进工程机械产业集群高质量发展" in result.output


def test_check_a_dead_listing_exits_non_zero(cli):
    app, _ = cli
    result = invoke(app, "sources", "check", "fixture-dead")
    assert result.exit_code == 1
    assert "listing FAILED" in result.output and "HTTP 404" in result.output


def test_an_unknown_name_or_a_bad_file_names_the_file(cli):
    app, config = cli
    with pytest.raises(Exception, match="no source named 'nope'") as err:
        invoke(app, "sources", "check", "nope")
    assert str(config / "sources.toml") in str(err.value)
    (config / "sources.toml").write_text('[[sources]]\nname = "x"\nkind = "rss"\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"sources\[0\]\.url: is required"):
        invoke(app, "sources", "list")


def test_every_command_and_option_has_help(cli):
    app, _ = cli
    for args in (["sources", "--help"], ["sources", "list", "--help"], ["sources", "check", "--help"]):
        result = invoke(app, *args)
        assert result.exit_code == 0
    assert "--limit" in invoke(app, "sources", "check", "--help").output
