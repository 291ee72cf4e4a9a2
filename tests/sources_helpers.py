"""Helpers shared by the adapter tests: a test Fetcher and SourceConfig pointing at the fixture server."""

from __future__ import annotations

from typing import Any

from core.settings import FetchSettings
from ingest.fetch.http import Fetcher
from ingest.sources.config import SourceConfig


def test_fetcher(**over: Any) -> Fetcher:
    settings: dict[str, Any] = dict(per_host_delay_s=0, allow_private_addresses=True, backoff_s=0, retries=1,
                                    respect_robots=False)  # fmt: skip
    settings.update(over)
    return Fetcher(FetchSettings(**settings))


test_fetcher.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


def source(server: Any, kind: str, path: str, **kw: Any) -> SourceConfig:
    return SourceConfig(name=f"test-{kind}", kind=kind, url=server.url(path), **kw)


def sources_cli(tmp_path: Any, monkeypatch: Any, sources_toml: str) -> Any:
    """A Typer app with the `sources` commands, over a settings folder holding this sources file and fetch
    settings that reach the fixture server.  Call common.get_settings.cache_clear() when done."""
    import typer

    from xznews.cli import common, sources_cmd

    config = tmp_path / "config"
    config.mkdir()
    (config / "xznews.toml").write_text(
        "[fetch]\nallow_private_addresses = true\nper_host_delay_s = 0\nrespect_robots = false\nretries = 0\n",
        encoding="utf-8",
    )
    (config / "sources.toml").write_text(sources_toml, encoding="utf-8")
    monkeypatch.setenv("XZNEWS_CONFIG_DIR", str(config))
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("XZNEWS_CONFIG", raising=False)
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    common.get_settings.cache_clear()
    app = typer.Typer()
    sources_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `sources` a sub-command group
    return app


def ingest_once(tmp_path: Any, engine: Any, sources_toml: str) -> tuple[Any, dict[str, Any]]:
    """One real ingest pass over these sources (fetch settings that reach the fixture server, no relevance
    gate); returns the source's report and the stored articles by title."""
    from sqlmodel import select

    from core.settings import Settings
    from ingest.pipeline import run_ingest
    from store.db import session_scope
    from store.models import Article

    path = tmp_path / "sources.toml"
    path.write_text(sources_toml + "min_xuzhou = 0\nmin_development = 0\n", encoding="utf-8")
    fetch = FetchSettings(allow_private_addresses=True, per_host_delay_s=0, retries=0, respect_robots=False)
    (report,) = run_ingest(Settings(data_dir=tmp_path, sources_path=path, fetch=fetch), engine)
    with session_scope(engine) as session:
        stored = {a.title: a for a in session.exec(select(Article))}
        for article in stored.values():
            session.expunge(article)
    return report, stored
