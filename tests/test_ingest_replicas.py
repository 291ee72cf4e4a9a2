"""Three `xznews run` replicas on one PostgreSQL share 50 sources: each source is read once per interval.

The proof is the local site's access log: when the last source has been read for the second time, every source
has been read exactly twice (none three times, none once), and each article is stored once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from urllib.parse import quote

import pytest
from sqlmodel import select

from store import Article, session_scope
from tests.conftest import PG_URL, drop_pg_schema, pg_engine_in_fresh_schema
from tests.servers import FixtureHTTPServer, Reply, Request
from tests.test_ingest_reliability import article_page
from tests.test_ingest_store import start_xznews
from tests.test_pipeline import _rss

SOURCES = 50
REPLICAS = 3

CONFIG = """
data_dir = "{data}"
web_enabled = false
digest_check_interval_s = 60
[fetch]
allow_private_addresses = true
per_host_delay_s = 0
per_host_concurrency = 8
respect_robots = false
retries = 0
"""


@pytest.mark.timeout(900)
def test_three_replicas_read_each_of_fifty_sources_once_per_interval(tmp_path, pg_engine):
    engine, schema = pg_engine_in_fresh_schema()
    server = FixtureHTTPServer().start()
    reads: Counter[str] = Counter()
    guard = threading.Lock()
    all_read_twice = threading.Event()
    snapshot: dict[str, int] = {}

    def feed(req: Request) -> Reply:
        name = req.path.split("?", 1)[0]
        with guard:
            reads[name] += 1
            if not all_read_twice.is_set() and len(reads) == SOURCES and min(reads.values()) >= 2:
                snapshot.update(reads)
                all_read_twice.set()
        n = int(name.removeprefix("/feed").removesuffix(".xml"))
        return Reply(
            200, _rss(server.base_url, [f"/a{n}.html"]).encode(), {"Content-Type": "application/rss+xml"}
        )

    entries = ""
    for n in range(SOURCES):
        server.routes[f"/feed{n}.xml"] = feed
        server.add(f"/a{n}.html", article_page(n))
        entries += (
            f'[[sources]]\nname = "s{n}"\nkind = "rss"\nurl = "{server.url(f"/feed{n}.xml")}"\n'
            'allowed_hosts = ["127.0.0.1"]\nrobots = false\ninterval_minutes = 1\n'
        )
    (tmp_path / "sources.toml").write_text(entries, encoding="utf-8")
    (tmp_path / "xznews.toml").write_text(CONFIG.format(data=tmp_path / "data"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_")}
    env.update(
        XZNEWS_CONFIG=str(tmp_path / "xznews.toml"),
        XZNEWS_SOURCES=str(tmp_path / "sources.toml"),
        XZNEWS_DATABASE_URL=f"{PG_URL}?options={quote(f'-csearch_path={schema}')}",
        XZNEWS_LOG_LEVEL="WARNING",
    )
    replicas = [start_xznews(["run"], env, stdout=subprocess.DEVNULL) for _ in range(REPLICAS)]
    try:
        finished = all_read_twice.wait(600)  # two intervals and start-up; a bound for a broken build
        for proc in replicas:
            proc.send_signal(signal.SIGTERM)
        errors = [proc.communicate(timeout=120)[1] for proc in replicas]
        assert finished, f"reads so far: {dict(reads)}"
        assert [proc.returncode for proc in replicas] == [0] * REPLICAS, errors
        assert set(snapshot.values()) == {2}, (
            snapshot
        )  # every source twice: none skipped, none read twice over
        with session_scope(engine) as session:
            urls = [a.url for a in session.exec(select(Article).where(Article.is_seed == False))]  # noqa: E712
        assert len(urls) == SOURCES and len(set(urls)) == SOURCES
        assert all("Traceback" not in err for err in errors), errors
    finally:
        for proc in replicas:
            if proc.poll() is None:
                proc.kill()
        server.stop()
        drop_pg_schema(engine, schema)
