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
