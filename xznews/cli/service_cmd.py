"""Commands that run the service: the daemon, one ingest pass, the seed corpus, configuration, the demo."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from xznews.cli.common import get_engine, get_settings, print_json


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("ingest")(ingest)
    seeds = typer.Typer(
        help="The seed corpus that new articles are deduplicated against.", no_args_is_help=True
    )
    seeds.command("load")(seeds_load)
    app.add_typer(seeds, name="seeds")
    config = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
    config.command("show")(config_show)
    app.add_typer(config, name="config")
    app.command("demo")(demo)


def run() -> None:
    """Run the daemon: ingest every source on its interval and send digests when they are due.

    Stops cleanly on SIGTERM or Ctrl-C: fetches in flight are cancelled and the jobs end at their next step.
    """
    from ingest.seeds import load_seeds
    from ingest.sources import load_sources
    from store import database_errors, init_db, make_engine
    from xznews.daemon import pool_size, run_daemon

    settings = get_settings()
    load_sources(settings.sources_file)  # a bad sources file is reported before anything else happens
    with database_errors():
        engine = make_engine(settings.db_url, pool_size=pool_size())
        init_db(engine)
        load_seeds(engine)
        run_daemon(settings, engine)


def ingest(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per source.")] = False,
) -> None:
    """Run one ingest pass over the configured sources (config/sources.toml) and exit.

    A source that the daemon (or another `ingest`) is reading right now is skipped: they share its job lock."""
    from ingest.pipeline import run_ingest
    from ingest.seeds import load_seeds
    from ingest.sources import load_sources
    from store import database_errors
    from xznews.cli.progress import progress

    settings = get_settings()
    load_sources(settings.sources_file)  # a bad sources file is reported before anything else happens
    with database_errors():
        engine = get_engine(settings)
        with progress("seeds", enabled=not as_json, unit="files") as report:
            load_seeds(engine, progress=report)
        with progress("ingest", enabled=not as_json, unit="sources") as report:
            reports = run_ingest(settings, engine, source or None, progress=report)
    failed = 0
    for r in reports:
        row = {
            "source": r.source,
            "listed": r.listed,
            "fetched": r.fetched,
            "new": r.new,
            "duplicates": r.duplicates,
            "updates": r.updates,
            "below_gate": r.below_gate,
            "skipped": [{"url": u, "reason": why} for u, why in r.skipped],
            "failed": [{"url": u, "reason": why} for u, why in r.failed],
            "clusters": dict(r.clusters),
            "error": r.error,
            "locked": r.locked,
            "not_modified": r.not_modified,
            "backlog": r.backlog,
        }
        failed += r.error is not None
        if as_json:
            print_json(row)
            continue
        if r.locked:
            print(f"{r.source}: skipped, another process is ingesting it")
            continue
        status = f"FAILED: {r.error}" if r.error else ("unchanged" if r.not_modified else "ok")
        print(
            f"{r.source}: {status}; listed {r.listed}, fetched {r.fetched}, new {r.new}, "
            f"duplicates {r.duplicates}, updates {r.updates}, skipped {len(r.skipped)}, failed {len(r.failed)}"
            + (", more left for the next pass" if r.backlog else "")
        )
        for url, why in r.skipped:
            print(f"  skipped {url}: {why}")
        for url, why in r.failed:
            print(f"  failed {url}: {why} (tried again next pass)")
    if reports and failed == len(reports):
        raise typer.Exit(1)


def seeds_load(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Split, clean and store the seed documents in seeds/ (loading twice adds nothing)."""
    from ingest.seeds import load_seeds
    from store import database_errors
    from xznews.cli.progress import progress

    with database_errors(), progress("seeds", enabled=not as_json, unit="files") as report:
        result = load_seeds(get_engine(), progress=report)
    if as_json:
        print_json({"files": result.files, "added": result.added, "already": result.already})
    else:
        print(f"seeds: {result.files} files, {result.added} articles added, {result.already} already stored")


def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings (file + environment), with secrets masked."""
    data = get_settings().masked()
    data["effective_database_url"] = get_settings().masked()["database_url"] or get_settings().db_url
    print(json.dumps(data, ensure_ascii=False, indent=None if as_json else 2))


def demo(
    smtp: Annotated[
        str | None, typer.Option(help="Deliver the digest to this SMTP server (HOST:PORT, no TLS, no auth).")
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Keep the demo database and outbox here (default: a new temporary folder)."),
    ] = None,
    email: Annotated[str, typer.Option(help="The demo subscriber's address.")] = "demo@example.com",
) -> None:
    """Run the whole flow offline: serve a fixture site on 127.0.0.1, ingest it into a fresh database,
    subscribe a demo address and mail it a digest (to --smtp, or to the outbox folder)."""
    import logging
    import os

    from xznews.demo import run_demo

    get_settings()
    if "XZNEWS_LOG_LEVEL" not in os.environ:  # the summary tells the story; the per-article log is opt-in
        logging.getLogger().setLevel(logging.WARNING)
    run_demo(smtp=smtp, data_dir=data_dir, email=email)
