"""The daemon's memory: RSS after ingesting a generated site and dispatching digests, in one process (goal ≤ 300 MB).

    .venv/bin/python bench/memory.py [--articles 20000] [--subscribers 1000] [--backend sqlite|postgres]

Runs what the daemon's jobs run, in this process: ``ingest.pipeline.run_ingest`` over a generated CMS-shaped
site on 127.0.0.1 (bench/cms_site.py, 20 columns; no politeness delay), then one
``alerts.dispatch.dispatch_due`` round for ``--subscribers`` daily subscriptions to an aiosmtpd sink in its own
process.  Prints the resident set size (VmRSS) after start-up, after the ingest and after the dispatch, and the
peak (VmHWM).  Every cache the process keeps is bounded (see docs/performance.md), so the figure after the
ingest should not grow with the number of articles.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cms_site import CmsSite, bench_config_toml, iter_articles  # noqa: E402
from bench.digest import bench_engine, make_subscriptions, smtp_sink  # noqa: E402
from xznews.cli.progress import progress  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()

    from sqlalchemy import insert

    from alerts.dispatch import dispatch_due
    from core.settings import SmtpSettings, load_settings
    from ingest.pipeline import run_ingest
    from store import session_scope, utcnow
    from store.models import Subscriber, Subscription

    figures = {"start-up (imports)": rss_mb()}
    articles = list(iter_articles(args.articles, columns=args.columns, seed=3))
    with (
        tempfile.TemporaryDirectory(prefix="xznews-bench-memory-") as tmp,
        CmsSite(articles, args.columns) as site,
        bench_engine(args.backend) as engine,
        smtp_sink() as port,
    ):
        del articles  # the site keeps its pages; the bench process must not count them as the daemon's
        config = Path(tmp)
        shutil.copy(ROOT / "config" / "clusters.toml", config / "clusters.toml")
        (config / "xznews.toml").write_text(bench_config_toml(), encoding="utf-8")
        per_column = -(-args.articles // args.columns)
        (config / "sources.toml").write_text(site.sources_toml(max_items=per_column), encoding="utf-8")
        settings = load_settings(environ={"XZNEWS_CONFIG_DIR": str(config), "XZNEWS_DATA_DIR": tmp})
        settings = settings.model_copy(
            update={"smtp": SmtpSettings(host="127.0.0.1", port=port, security="none"), "digest_settle_s": 0}
        )
        site_mb = rss_mb()  # the generated pages are held by this process too: subtracted below
        start = time.perf_counter()
        with progress("ingest", unit="sources") as report:
            reports = run_ingest(settings, engine, progress=report)
        ingest_s = time.perf_counter() - start
        stored = sum(r.new + r.duplicates + r.updates for r in reports)
        figures["after ingest"] = rss_mb()
        rng = random.Random(1)
        now = utcnow()
        begin = now - timedelta(days=1)
        subs = make_subscriptions(args.subscribers, rng)
        with session_scope(engine) as session:
            session.execute(
                insert(Subscriber),
                [{"id": s.id, "email": f"reader{s.id}@example.com", "unsubscribe_token": f"t{s.id}",
                  "confirmed": True, "created_at": begin} for s in subs],
            )  # fmt: skip
            session.execute(
                insert(Subscription),
                [{"id": s.id, "subscriber_id": s.id, "name": "", "clusters": s.clusters, "keywords": s.keywords,
                  "sources": [], "include_mentions": s.include_mentions, "frequency": "immediate",
                  "at_time": "08:00", "weekday": 0, "timezone": "Asia/Shanghai", "send_empty": False,
                  "channels": ["email"], "active": True, "created_at": begin, "last_success_at": begin}
                 for s in subs],
            )  # fmt: skip
        start = time.perf_counter()
        dispatched = dispatch_due(engine, settings, now, settle_s=0)
        dispatch_s = time.perf_counter() - start
        figures["after dispatch"] = rss_mb()
        figures["peak (VmHWM)"] = rss_mb("VmHWM")
    print(
        f"ingested {stored} of {args.articles} generated articles in {ingest_s:.0f} s on {args.backend}; "
        f"dispatched {dispatched.sent} digests ({dispatched.empty} empty) in {dispatch_s:.0f} s"
    )
    held = site_mb - figures["start-up (imports)"]
    print(
        f"RSS of this process (the bench's own site pages, {held:.0f} MB, included); goal ≤ 300 MB for the daemon:"
    )
    for name, mb in figures.items():
        print(f"  {name:<20} {mb:7.1f} MB")
    print(f"  {'after dispatch, less the site pages':<20} {figures['after dispatch'] - held:7.1f} MB")


if __name__ == "__main__":
    main()
