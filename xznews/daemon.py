"""The daemon decides only *when*: each job calls the same plain functions the CLI runs once.

Jobs: an ingest per source at the source's interval (with jitter, one instance at a time, missed runs coalesced),
digest dispatch every `digest_check_interval_s`; beside them, unless `web_enabled` is off, the web pages
behind the links in mail (xznews.web). Each job holds a job lock (an advisory lock on PostgreSQL), so
replicas share the work without doing any of it twice. SIGTERM and Ctrl-C let the running jobs finish, then exit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from core.settings import Settings
from store import job_lock
from xznews.lifecycle import wait_for_stop

if TYPE_CHECKING:
    from xznews.web import WebServer

log = logging.getLogger(__name__)


def _guarded(engine: Engine, name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with job_lock(engine, name) as held:
            if not held:
                log.info("job skipped job=%s reason=another replica holds its lock", name)
                return
            try:
                fn()
            except Exception:  # a failing job must never stop the daemon; the next run tries again
                log.exception("job failed job=%s", name)

    return run


def build_scheduler(settings: Settings, engine: Engine) -> BackgroundScheduler:
    from alerts.dispatch import dispatch_due
    from alerts.maintenance import prune_empty_deliveries
    from ingest.pipeline import run_ingest
    from ingest.sources import load_sources

    scheduler = BackgroundScheduler(
        timezone=settings.timezone, job_defaults={"max_instances": 1, "coalesce": True}
    )
    start = datetime.now(UTC) + timedelta(seconds=2)
    for source in load_sources(settings.sources_file):
        if not source.enabled:
            continue
        scheduler.add_job(
            _guarded(
                engine,
                f"ingest:{source.name}",
                lambda n=source.name: run_ingest(settings, engine, [n], only_due=True),
            ),
            IntervalTrigger(minutes=source.interval_minutes, jitter=min(60, source.interval_minutes * 6)),
            id=f"ingest:{source.name}",
            name=f"ingest {source.name}",
            next_run_time=start,
            misfire_grace_time=source.interval_minutes * 60,
        )
    scheduler.add_job(
        _guarded(engine, "digest:dispatch", lambda: dispatch_due(engine, settings)),
        IntervalTrigger(seconds=settings.digest_check_interval_s),
        id="digest:dispatch",
        name="digest dispatch",
        next_run_time=start,
    )
    scheduler.add_job(
        _guarded(engine, "maintenance:daily", lambda: prune_empty_deliveries(engine)),
        CronTrigger(hour=3, minute=17, timezone=settings.timezone),
        id="maintenance:daily",
        name="daily maintenance",
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


def run_daemon(settings: Settings, engine: Engine, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then let the current jobs finish and return."""
    stop = stop or threading.Event()
    scheduler = build_scheduler(settings, engine)
    web = _start_web(settings, engine, scheduler)
    scheduler.start()
    jobs = scheduler.get_jobs()
    log.info("daemon started jobs=%d (%s)", len(jobs), ", ".join(j.name for j in jobs))
    try:
        wait_for_stop(stop, "finishing current jobs")
    finally:
        if web is not None:
            web.stop()
        scheduler.shutdown(wait=True)
        log.info("daemon stopped")
