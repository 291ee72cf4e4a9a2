"""`xznews demo`: the whole flow, offline, in one command.

Serves the fixture site on 127.0.0.1, ingests it into a fresh database (seeds first, so the repost of a seed article
is caught), subscribes a demo address, sends the digest to an SMTP server or the outbox, and prints a summary.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine

from core.errors import XznewsError
from core.settings import FetchSettings, Settings, SmtpSettings, load_settings
from ingest.classify import CLUSTER_IDS
from store import init_db, make_engine, session_scope
from xznews.demo_server import DemoSite

# Written into every folder the demo uses: a folder without it that is not empty holds someone's real data.
MARKER = ".xznews-demo"

# (name, CMS family, path on the fixture site, family options)
DEMO_SOURCES = [
    ("demo-province", "hanweb", "/col/col33718/index.html", {"columnid": "33718"}),
    ("demo-jschina", "trs", "/xwzx/index.shtml", {}),
    ("demo-daily", "rss", "/rss.xml", {}),
]


def demo_sources_toml(base_url: str) -> str:
    """One source per shape of the fixture site, in the format of config/sources.toml."""
    host = base_url.removeprefix("http://").split(":")[0]
    parts = []
    for name, kind, path, options in DEMO_SOURCES:
        parts.append(
            f'[[sources]]\nname = "{name}"\nkind = "{kind}"\nurl = "{base_url}{path}"\n'
            f'allowed_hosts = ["{host}"]\nrobots = false\n'
        )
        if options:
            parts.append("[sources.options]\n" + "".join(f'{k} = "{v}"\n' for k, v in options.items()))
    return "\n".join(parts)


def parse_smtp(value: str) -> SmtpSettings:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise XznewsError(f"--smtp wants HOST:PORT, got {value!r}")
    return SmtpSettings(host=host, port=int(port), security="none")


def demo_settings(data_dir: Path, sources_file: Path, smtp: str | None) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "database_url": "",
            "data_dir": data_dir,
            "outbox_dir": data_dir / "outbox",
            "sources_path": sources_file,
            # The fixture site is on loopback: the demo allows it; real configurations never need to.
            "fetch": FetchSettings(
                allow_private_addresses=True,
                per_host_delay_s=0,
                retries=0,
                respect_robots=False,
                user_agent=base.fetch.user_agent,
            ),
            "smtp": parse_smtp(smtp) if smtp else SmtpSettings(),
        }
    )


def run_demo(*, smtp: str | None, data_dir: str | None, email: str) -> dict[str, object]:
    from alerts.dispatch import dispatch_due
    from alerts.subscribers import get_or_create, validate_email
    from alerts.subscriptions import SubscriptionSpec, create_subscription
    from ingest.pipeline import run_ingest
    from ingest.seeds import load_seeds

    email = validate_email(email)
    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="xznews-demo-"))
    check_demo_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `xznews demo`; safe to delete with the folder\n", encoding="utf-8")
    with DemoSite() as site:
        sources_file = folder / "sources.toml"
        sources_file.write_text(demo_sources_toml(site.base_url), encoding="utf-8")
        settings = demo_settings(folder, sources_file, smtp)
        engine = make_engine(settings.db_url)
        init_db(engine)
        print(f"demo site:  {site.base_url}  (Hanweb column, TRS list with a GBK page, RSS feed)")
        print(f"database:   {settings.db_url}")
        seeds = load_seeds(engine)
        print(f"seeds:      {seeds.added} seed articles stored ({seeds.already} already there)")
        demo_sub = _subscribe(engine, email, get_or_create, SubscriptionSpec, create_subscription)
        reports = run_ingest(settings, engine)
    fetched = sum(r.fetched for r in reports)
    new = sum(r.new + r.updates for r in reports)
    dups = sum(r.duplicates for r in reports)
    clusters: Counter[str] = Counter()
    for r in reports:
        clusters.update(r.clusters)
    print(f"ingest:     fetched {fetched}, new {new}, duplicates {dups}")
    for r in reports:
        state = f"failed: {r.error}" if r.error else "ok"
        print(
            f"  {r.source:15} {state}; fetched {r.fetched}, new {r.new + r.updates}, duplicates {r.duplicates}"
        )
        for url, why in r.skipped:
            print(f"    skipped {url}: {why}")
    print("per cluster: " + (", ".join(f"{k} {v}" for k, v in sorted(clusters.items())) or "none"))
    # Nothing else writes to this database: the digest window may close right now, with no settle lag.
    report = dispatch_due(
        engine, settings, settle_s=0, subscription_ids={demo_sub}
    )  # only its own subscriber
    where = (
        f"SMTP {settings.smtp.host}:{settings.smtp.port}"
        if settings.smtp.configured
        else str(settings.outbox)
    )
    print(f"digest:     {report.sent} sent, {report.failed} failed, {report.retrying} to retry → {where}")
    for sub_id, address, status, message_id, via in report.deliveries:
        print(f"  subscription {sub_id} <{address}>: {status} {message_id or ''} via {via}")
    return {
        "fetched": fetched,
        "new": new,
        "duplicates": dups,
        "clusters": dict(clusters),
        "sent": report.sent,
    }


def check_demo_folder(folder: Path) -> None:
    """The demo writes only into an empty folder or one it made: never over a real database or outbox."""
    if not folder.exists() or (folder / MARKER).exists():
        return
    if not folder.is_dir():
        raise XznewsError(f"--data-dir {folder} is not a folder")
    if any(folder.iterdir()):
        raise XznewsError(
            f"--data-dir {folder} is not empty and was not made by `xznews demo`: "
            "give an empty or new folder (the demo never touches real data)"
        )


def _subscribe(engine: Engine, email: str, get_or_create, spec_cls, create) -> int:  # type: ignore[no-untyped-def]
    """The demo's own subscription (created on first use); the only one the demo mails."""
    from sqlmodel import select

    from store import Subscription

    with session_scope(engine) as session:
        subscriber, _ = get_or_create(session, email, confirmed=True)
        sub = session.exec(
            select(Subscription)
            .where(Subscription.subscriber_id == subscriber.id)
            .where(Subscription.name == "demo")
        ).first()
        if sub is None:
            sub = create(
                session, subscriber, spec_cls(clusters=list(CLUSTER_IDS), frequency="immediate", name="demo")
            )
        sub_id = sub.id
    print(f"subscriber: {email} (immediate digest, all 343 clusters)")
    return sub_id
