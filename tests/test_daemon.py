"""The daemon as an operator runs it: a real process, real sources, stopped by SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.settings import load_settings
from xznews.daemon import build_scheduler
from xznews.demo import demo_sources_toml
from xznews.demo_server import DemoSite

DAEMON_CONFIG = """
data_dir = "{data}"
digest_check_interval_s = 5
[fetch]
allow_private_addresses = true
per_host_delay_s = 0
respect_robots = false
"""


def _environment(tmp_path: Path, base_url: str) -> dict[str, str]:
    (tmp_path / "sources.toml").write_text(demo_sources_toml(base_url), encoding="utf-8")
    (tmp_path / "xznews.toml").write_text(DAEMON_CONFIG.format(data=tmp_path / "data"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_")}
    env.update(XZNEWS_CONFIG=str(tmp_path / "xznews.toml"), XZNEWS_SOURCES=str(tmp_path / "sources.toml"))
    return env


def test_the_scheduler_has_one_ingest_job_per_enabled_source_and_a_dispatch_job(tmp_path, sqlite_engine):
    with DemoSite() as site:
        env = _environment(tmp_path, site.base_url)
        settings = load_settings(environ=env)
        scheduler = build_scheduler(settings, sqlite_engine)
    ids = sorted(job.id for job in scheduler.get_jobs())
    assert ids == [
        "digest:dispatch",
        "ingest:demo-daily",
        "ingest:demo-jschina",
        "ingest:demo-province",
        "maintenance:daily",
    ]


def test_the_daemon_ingests_every_source_and_stops_cleanly_on_sigterm(tmp_path):
    with DemoSite() as site:
        env = _environment(tmp_path, site.base_url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "xznews", "run"],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
        seen: list[str] = []
        done: set[str] = set()
        try:
            while len(done) < 3:
                line = lines.get(timeout=120)
                seen.append(line)
                if "ingest done source=" in line:
                    done.add(line.split("ingest done source=")[1].split()[0])
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        while not lines.empty():
            seen.append(lines.get())
    log = "".join(seen)
    assert done == {"demo-province", "demo-jschina", "demo-daily"}
    assert "daemon started jobs=5" in log
    assert "signal received signal=SIGTERM" in log
    assert "daemon stopped" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("key", ["ingest:a", "digest:dispatch"])
def test_job_lock_keys_are_stable_signed_64_bit(key):
    from store.locks import lock_key

    assert lock_key(key) == lock_key(key)
    assert -(2**63) <= lock_key(key) < 2**63


def test_a_postgres_job_lock_is_held_by_one_holder_at_a_time(pg_engine):
    from store.locks import job_lock

    with job_lock(pg_engine, "ingest:x") as first, job_lock(pg_engine, "ingest:x") as second:
        assert first and not second
    with job_lock(pg_engine, "ingest:x") as again:
        assert again


def test_slow_sources_never_starve_the_digests_and_shutdown_cancels_their_fetches(tmp_path, sqlite_engine):
    from apscheduler.events import EVENT_JOB_EXECUTED

    from core.settings import FetchSettings, Settings
    from tests.servers import FixtureHTTPServer, Reply
    from xznews.daemon import run_daemon

    server = FixtureHTTPServer().start()
    release = threading.Event()
    blocked: list[str] = []
    ingest_full = threading.Event()
    dispatched_while_full = threading.Event()

    def hang(req):  # type: ignore[no-untyped-def]
        blocked.append(req.path)
        if len(blocked) >= 2:
            ingest_full.set()  # both ingest threads are now stuck in a fetch
        release.wait(600)
        return Reply(200, b"", {})

    entries = ""
    for n in range(3):
        server.routes[f"/slow{n}.xml"] = hang
        entries += (
            f'[[sources]]\nname = "slow{n}"\nkind = "rss"\nurl = "{server.url(f"/slow{n}.xml")}"\n'
            'allowed_hosts = ["127.0.0.1"]\nrobots = false\n'
        )
    (tmp_path / "sources.toml").write_text(entries, encoding="utf-8")
    fetch = FetchSettings(allow_private_addresses=True, per_host_delay_s=0, per_host_concurrency=8,
                          retries=0, read_timeout_s=600, deadline_s=600)  # fmt: skip
    settings = Settings(
        data_dir=tmp_path, sources_path=tmp_path / "sources.toml", fetch=fetch, web_enabled=False,
        digest_check_interval_s=5,
    )  # fmt: skip

    def watch(scheduler):  # type: ignore[no-untyped-def]
        def on_executed(event):  # type: ignore[no-untyped-def]
            if event.job_id == "digest:dispatch" and ingest_full.is_set():
                dispatched_while_full.set()

        scheduler.add_listener(on_executed, EVENT_JOB_EXECUTED)

    stop = threading.Event()
    daemon = threading.Thread(
        target=run_daemon, args=(settings, sqlite_engine, stop),
        kwargs={"ingest_threads": 2, "stagger_s": 0, "on_start": watch},
    )  # fmt: skip
    daemon.start()
    try:
        assert ingest_full.wait(60)
        assert dispatched_while_full.wait(60)  # the digest job ran although every ingest thread was stuck
        stop.set()
        daemon.join(60)  # a bound for a broken build: the stuck reads are aborted, not waited out (600 s)
        assert not daemon.is_alive()
    finally:
        stop.set()
        release.set()
        daemon.join()
        server.stop()


def test_a_lost_database_costs_each_job_one_log_line_not_a_traceback(tmp_path, caplog):
    import logging
    import socket

    from core.settings import Settings
    from store import make_engine

    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # the database is gone
    (tmp_path / "sources.toml").write_text(
        '[[sources]]\nname = "s"\nkind = "rss"\nurl = "http://127.0.0.1:9/f.xml"\n', encoding="utf-8"
    )
    settings = Settings(data_dir=tmp_path, sources_path=tmp_path / "sources.toml", web_enabled=False)
    engine = make_engine(f"postgresql://u@127.0.0.1:{port}/db", connect_timeout_s=1)
    scheduler = build_scheduler(settings, engine)

    with caplog.at_level(logging.ERROR, logger="xznews.daemon"):
        for job_id in ("ingest:s", "digest:dispatch"):
            job = scheduler.get_job(job_id)
            job.func(*job.args)

    failures = [r for r in caplog.records if r.name == "xznews.daemon"]
    assert [r.getMessage().split(" reason=")[0] for r in failures] == [
        "job failed job=ingest:s",
        "job failed job=digest:dispatch",
    ]
    assert all("database unavailable" in r.getMessage() and r.exc_info is None for r in failures)
    engine.dispose()
