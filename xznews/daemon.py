"""The daemon decides only *when*: each job calls the same plain functions the CLI runs once.

Jobs: an ingest per source at the source's interval (with jitter, one instance at a time, missed runs coalesced,
first runs staggered so a restart does not fire them all at once), digest dispatch every
`digest_check_interval_s`; beside them, unless `web_enabled` is off, the web pages behind the links in mail
(xznews.web). Each job holds a job lock (an advisory lock on PostgreSQL), so replicas share the work without
doing any of it twice. Ingest jobs run on their own thread pool and dispatch on another, so slow sources can
never starve the digests; all ingest jobs share one Fetcher, so per-host limits and robots.txt hold across
them. SIGTERM and Ctrl-C cancel the fetches in flight and let the jobs end at their next step, then exit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from core.settings import Settings
from store import DatabaseUnavailableError, database_errors, job_lock
from xznews.lifecycle import wait_for_stop

if TYPE_CHECKING:
    from ingest.fetch import Fetcher
    from xznews.web import WebServer

log = logging.getLogger(__name__)

INGEST_THREADS = 8
DISPATCH_THREADS = 2  # dispatch and maintenance: never behind an ingest
STAGGER_S = 60.0  # first ingest runs are spread over this much time


def tick_seconds(interval_minutes: int) -> float:
    """How often a source's job looks whether it is due: a quarter of its interval, at most a minute."""
    return max(5.0, min(60.0, interval_minutes * 60 / 4))


def pool_size(ingest_threads: int = INGEST_THREADS) -> int:
    """Database connections the daemon needs at once: one per job thread, and a few for the web pages."""
    return ingest_threads + DISPATCH_THREADS + 3


def _survive(name: str, fn: Callable[[], Any]) -> None:
    """Run one job; a failing job must never stop the daemon, and the next run tries again.

    A database outage is one line per job, not a traceback every tick until it is back."""
    try:
        with database_errors():
            fn()
    except DatabaseUnavailableError as exc:
        log.error("job failed job=%s reason=%s", name, exc)
    except Exception:
        log.exception("job failed job=%s", name)


def _guarded(engine: Engine, name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    def locked() -> None:
        with job_lock(engine, name) as held:
            if not held:
                log.info("job skipped job=%s reason=another replica holds its lock", name)
                return
            fn()

    return lambda: _survive(name, locked)


def build_scheduler(
    settings: Settings,
    engine: Engine,
    *,
    ingest_threads: int = INGEST_THREADS,
    fetcher: Fetcher | None = None,
    stagger_s: float = STAGGER_S,
) -> BackgroundScheduler:
    from alerts.dispatch import dispatch_due
    from alerts.maintenance import prune_empty_deliveries
    from ingest.classify import load_lexicon
    from ingest.dedupe import DedupeIndex
    from ingest.pipeline import run_ingest
    from ingest.sources import load_sources

    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={"max_instances": 1, "coalesce": True},
        executors={
            "default": ThreadPoolExecutor(ingest_threads),
            "dispatch": ThreadPoolExecutor(DISPATCH_THREADS),
        },
    )
    start = datetime.now(UTC) + timedelta(seconds=2)
    sources = [s for s in load_sources(settings.sources_file) if s.enabled]
    index = DedupeIndex()
    lexicon = load_lexicon(settings.clusters_file)

    def ingest(name: str) -> None:
        # run_ingest takes the source's job lock itself (so does a one-shot `xznews ingest`).
        _survive(
            f"ingest:{name}",
            lambda: run_ingest(
                settings, engine, [name], only_due=True, fetcher=fetcher, index=index, lexicon=lexicon
            ),
        )

    # First runs spread over STAGGER_S, or a quarter of the shortest interval if that is less.
    spread = min([stagger_s] + [s.interval_minutes * 15 for s in sources])
    for n, source in enumerate(sources):
        # The job only looks often (a tick); the source's row says whether it is due (run_ingest, under the
        # job lock). So a source is read once per interval however many replicas look, and never skipped.
        tick = tick_seconds(source.interval_minutes)
        scheduler.add_job(
            ingest,
            IntervalTrigger(seconds=tick, jitter=tick / 10),
            args=[source.name],
            id=f"ingest:{source.name}",
            name=f"ingest {source.name}",
            next_run_time=start + timedelta(seconds=spread * n / max(1, len(sources))),
            misfire_grace_time=round(tick),
        )
    scheduler.add_job(
        _guarded(engine, "digest:dispatch", lambda: dispatch_due(engine, settings)),
        IntervalTrigger(seconds=settings.digest_check_interval_s),
        id="digest:dispatch",
        name="digest dispatch",
        next_run_time=start,
        executor="dispatch",
    )
    scheduler.add_job(
        _guarded(engine, "maintenance:daily", lambda: prune_empty_deliveries(engine)),
        CronTrigger(hour=3, minute=17, timezone=settings.timezone),
        id="maintenance:daily",
        name="daily maintenance",
        executor="dispatch",
    )
    return scheduler


def _start_web(settings: Settings, engine: Engine, scheduler: Any = None) -> WebServer | None:
    """The confirm/unsubscribe pages beside the scheduler; a taken port is logged and the daemon goes on."""
    if not settings.web_enabled:
        return None
    from xznews.web import start_web_server

    try:
        return start_web_server(settings, engine, scheduler=scheduler)
    except OSError as exc:
        log.error(
            "web server not started host=%s port=%s error=%s: links in mail will not work from this process",
            settings.web_host,
            settings.web_port,
            exc.strerror or exc,
        )
        return None


def run_daemon(
    settings: Settings,
    engine: Engine,
    stop: threading.Event | None = None,
    *,
    ingest_threads: int = INGEST_THREADS,
    stagger_s: float = STAGGER_S,
    on_start: Callable[[BackgroundScheduler], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then cancel the fetches in flight, let the jobs end, return."""
    from ingest.fetch import Fetcher

    stop = stop or threading.Event()
    with Fetcher(settings.fetch, engine=engine) as fetcher:
        scheduler = build_scheduler(
            settings, engine, ingest_threads=ingest_threads, fetcher=fetcher, stagger_s=stagger_s
        )
        web = _start_web(settings, engine, scheduler)
        scheduler.start()
        if on_start is not None:
            on_start(scheduler)
        jobs = scheduler.get_jobs()
        log.info("daemon started jobs=%d (%s)", len(jobs), ", ".join(j.name for j in jobs))
        try:
            wait_for_stop(stop, "finishing current jobs")
        finally:
            fetcher.cancel()  # in-flight fetches end now, not at their deadline
            if web is not None:
                web.stop()
            scheduler.shutdown(wait=True)
            log.info("daemon stopped")
