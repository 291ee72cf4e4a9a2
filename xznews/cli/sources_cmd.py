"""`xznews sources list|check`: the watched sites, their health, and a dry run of one source."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlmodel import Session, select

from core.errors import ConfigError
from core.tz import SHANGHAI
from store import Source
from xznews.cli.common import get_engine, get_settings, print_json

if TYPE_CHECKING:  # imported where used, so that other commands start without them
    from ingest.fetch import Fetcher
    from ingest.sources import ArticleRef, SourceConfig

_FAMILIES_WITH_RULES = {"hanweb", "epoint", "trs", "epaper"}  # extraction has family-specific selectors


def register(app: typer.Typer) -> None:
    sources = typer.Typer(
        help="The watched sites (config/sources.toml) and their health.", no_args_is_help=True
    )
    sources.command("list")(sources_list)
    sources.command("check")(sources_check)
    sources.command("reset")(sources_reset)
    app.add_typer(sources, name="sources")


def sources_reset(name: Annotated[str, typer.Argument(help="The source whose backoff to clear.")]) -> None:
    """Clear a source's failure count and backoff, so the daemon tries it on its next interval."""
    from store import session_scope

    with session_scope(get_engine()) as session:
        row = session.exec(select(Source).where(Source.name == name)).first()
        if row is None:
            raise ConfigError("sources", name, "no such source has run yet (see `xznews sources list`)")
        row.consecutive_failures, row.next_try_at, row.flagged = 0, None, None
    print(f"{name}: backoff cleared; the daemon tries it on its next interval")


def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per source.")] = False,
) -> None:
    """Show every configured source with its health: last success, failures, items per run, flags."""
    from ingest.sources import load_sources

    settings = get_settings()
    configs = load_sources(settings.sources_file)
    with Session(get_engine(settings)) as session:
        rows = {row.name: row for row in session.exec(select(Source)).all()}
    now = datetime.now(UTC)
    records = [_health_record(cfg, rows.get(cfg.name), now) for cfg in configs]
    # Rows left in the database by sources since removed from the file.
    for name in sorted(set(rows) - {c.name for c in configs}):
        row = rows[name]
        records.append({"name": name, "kind": row.kind, "url": row.url, "configured": False,
                        "flagged": "no longer in the sources file"})  # fmt: skip
    if as_json:
        for record in records:
            print_json(record)
        return
    if not records:
        typer.echo(f"no sources configured in {settings.sources_file}")
    for r in records:
        state = "enabled" if r.get("enabled") else "disabled" if r.get("configured", True) else "removed"
        verified = "verified" if r.get("verified") else "unverified"
        typer.echo(f"{r['name']}  [{r['kind']}, {state}, {verified}]  {r['url']}")
        if r.get("last_run_at"):
            typer.echo(
                f"    last run {_short(r['last_run_at'])}, last success {_short(r.get('last_success_at'))}, "
                f"failures {r.get('consecutive_failures', 0)}, items {r.get('last_items', 0)}, "
                f"new {r.get('last_new', 0)}, next try {_short(r.get('next_try_at'))}"
            )
        elif r.get("configured", True):
            typer.echo("    never run")
        if r.get("last_error"):
            typer.echo(f"    last error: {r['last_error']}")
        if r.get("flagged"):
            typer.echo(f"    FLAGGED: {r['flagged']}")


def _health_record(cfg: SourceConfig, row: Source | None, now: datetime) -> dict[str, Any]:
    from ingest.health import is_flagged

    record: dict[str, Any] = {
        "name": cfg.name, "kind": cfg.kind, "url": cfg.url, "configured": True, "enabled": cfg.enabled,
        "verified": cfg.verified, "interval_minutes": cfg.interval_minutes, "note": cfg.note,
    }  # fmt: skip
    if row is not None:
        for key in ("last_run_at", "last_success_at", "last_new_at", "next_try_at"):
            value = getattr(row, key)
            record[key] = value.isoformat() if value else None
        record.update(consecutive_failures=row.consecutive_failures, last_error=row.last_error,
                      last_items=row.last_items, last_new=row.last_new)  # fmt: skip
    record["flagged"] = is_flagged(row, cfg, now) if row is not None and cfg.enabled else None
    return record


def _short(iso: str | None) -> str:
    if not iso:
        return "never"
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def sources_check(
    name: Annotated[
        str, typer.Argument(help="A source name from the sources file, or the URL of an unknown list page.")
    ],
    limit: Annotated[
        int, typer.Option("--limit", min=0, max=20, help="How many articles to fetch and extract.")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Read the issue of this day (YYYY-MM-DD) instead of today's (e-papers)."),
    ] = None,
) -> None:
    """Fetch one listing and its first article(s); show what would be extracted and the sniffed CMS family.

    Exits 1 when the listing fails or lists no article link."""
    from ingest.fetch import Fetcher, FetchError
    from ingest.sources import issue_url, list_articles, load_sources

    settings = get_settings()
    if name.startswith(("http://", "https://")):
        source = _adhoc_source(name)
    else:
        configs = {c.name: c for c in load_sources(settings.sources_file)}
        if name not in configs:
            known = ", ".join(sorted(configs)) or "none"
            raise ConfigError(
                settings.sources_file, "sources", f"no source named {name!r} (configured: {known})"
            )
        source = configs[name]
    now = _issue_day(date) if date else datetime.now(SHANGHAI)
    result: dict[str, Any] = {
        "source": source.name,
        "kind": source.kind,
        "configured": source.name != "adhoc",
    }
    with Fetcher(settings.fetch) as fetcher:
        listing = issue_url(source, now) if source.kind == "epaper" else source.url
        result["listing_url"] = listing
        result["sniffed"] = _sniff(fetcher, source, listing)
        if not result["configured"]:
            source.kind = result["sniffed"]["kind"]
            result["kind"] = source.kind
        refs: list[ArticleRef] = []
        result["error"] = None
        # An ad-hoc URL's kind comes from sniffing it, so a failed sniff ends the check ("cannot resolve HOST",
        # not "no adapter"); a configured source may list through an API even when its page does not answer.
        if not result["configured"] and result["sniffed"].get("error"):
            result["error"] = f"cannot fetch the listing: {result['sniffed']['error']}"
        elif source.kind == "listpage" and not source.options.get("item"):
            result["error"] = (
                "no adapter recognised this page: configure kind = 'listpage' with CSS selectors"
            )
        else:
            try:
                refs = list_articles(source, fetcher, now=now)
            except FetchError as exc:
                result["error"] = str(exc)
        if not result["error"] and not refs:
            result["error"] = (
                f"the listing gave no article links: its {source.kind} template did not match "
                f"{listing} (check the URL, or set options.item)"
            )
        result["listed"] = len(refs)
        result["items"] = [_ref_record(r) for r in refs[:10]]
        result["articles"] = [_check_article(fetcher, source, ref, listing) for ref in refs[:limit]]
    if not result["configured"]:
        result["suggested_config"] = _suggest_toml(source)
    if as_json:
        print_json(result)
    else:
        _print_check(result)
    if result["error"]:
        raise typer.Exit(1)


def _issue_day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2024-05-12", param_hint="--date") from None
    # Noon: the adapters read the issue of this calendar day in China time.
    return day.replace(hour=12, tzinfo=SHANGHAI)


def _adhoc_source(url: str) -> SourceConfig:
    from ingest.sources import SourceConfig

    return SourceConfig(name="adhoc", kind="listpage", url=url, max_pages=1, max_items=20)


def _sniff(fetcher: Fetcher, source: SourceConfig, listing: str) -> dict[str, Any]:
    from ingest.fetch import FetchError
    from ingest.sources import sniff_family

    try:
        response = fetcher.get(listing, source=source)
    except FetchError as exc:
        return {"family": None, "kind": source.kind, "error": str(exc)}
    sniffed = sniff_family(response.content)
    return {
        "family": sniffed.family,
        "kind": sniffed.kind,
        "scores": sniffed.scores,
        "evidence": sniffed.evidence,
    }


def _ref_record(ref: ArticleRef) -> dict[str, Any]:
    return {"url": ref.url, "title": ref.title,
            "published_at": ref.published_at.isoformat() if ref.published_at else None}  # fmt: skip


def _check_article(fetcher: Fetcher, source: SourceConfig, ref: ArticleRef, listing: str) -> dict[str, Any]:
    from ingest.fetch import FetchError

    record = _ref_record(ref)
    from ingest.extract import extract_article

    try:
        response = fetcher.get(ref.url, source=source, referer=listing)
    except FetchError as exc:
        record["error"] = str(exc)
        return record
    family = source.kind if source.kind in _FAMILIES_WITH_RULES else None
    extracted = extract_article(response.content, response.url, http_charset=response.charset,
                                list_date=ref.published_at, family=family)  # fmt: skip
    record.update(
        extracted_title=extracted.title,
        extracted_published_at=extracted.published_at.isoformat() if extracted.published_at else None,
        origin=extracted.source,
        author=extracted.author,
        paragraphs=len(extracted.paragraphs),
        first_paragraphs=extracted.paragraphs[:3],
        extractor=extracted.extractor,
        error=None,
    )
    return record


def _suggest_toml(source: SourceConfig) -> str:
    lines = [
        "[[sources]]",
        'name = "CHANGE-ME"',
        f'kind = "{source.kind}"',
        f"url = {json.dumps(source.url)}",
        "verified = false",
    ]
    if source.kind == "listpage":
        lines += ["[sources.options]", 'item = "ul li"  # CSS selector for one list item: adjust']
    return "\n".join(lines)


def _print_check(result: dict[str, Any]) -> None:
    sniffed = result["sniffed"]
    typer.echo(f"source: {result['source']} ({result['kind']})  listing: {result['listing_url']}")
    if sniffed.get("error"):
        typer.echo(f"sniffed family: unknown (listing fetch failed: {sniffed['error']})")
    else:
        marks = "; ".join(f"{f}: {', '.join(e)}" for f, e in sniffed.get("evidence", {}).items())
        typer.echo(
            f"sniffed family: {sniffed['family'] or 'none recognised'}" + (f"  ({marks})" if marks else "")
        )
        if result["configured"] and sniffed["family"] and sniffed["kind"] != result["kind"]:
            typer.echo(
                f"  note: configured as {result['kind']!r} but the page looks like {sniffed['kind']!r}"
            )
    if result["error"]:
        typer.echo(f"listing FAILED: {result['error']}")
    typer.echo(f"listed {result['listed']} article link(s)")
    for item in result["items"]:
        typer.echo(f"  {_date(item['published_at'])}  {item['title'] or '(no title)'}  {item['url']}")
    for art in result["articles"]:
        typer.echo("")
        typer.echo(f"article: {art['url']}")
        if art.get("error"):
            typer.echo(f"  FAILED: {art['error']}")
            continue
        typer.echo(f"  title:  {art['extracted_title'] or '(none)'}")
        typer.echo(f"  time:   {art['extracted_published_at'] or '(none)'}")
        typer.echo(
            f"  source: {art['origin'] or '(none)'}"
            + (f"   author: {art['author']}" if art["author"] else "")
        )
        typer.echo(f"  body:   {art['paragraphs']} paragraph(s), by the {art['extractor']} extractor")
        for para in art["first_paragraphs"]:
            typer.echo(f"    {para[:160]}{'…' if len(para) > 160 else ''}")
    if "suggested_config" in result:
        typer.echo("\nsuggested entry for config/sources.toml:\n" + result["suggested_config"])


def _date(iso: str | None) -> str:
    return iso[:10] if iso else "----------"
