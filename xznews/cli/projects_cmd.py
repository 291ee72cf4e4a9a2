"""`xznews projects`: the investment projects read from stored articles; `xznews project ID`: one timeline;
`projects extract --jsonl` (no database) and `projects rebuild`."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session

from core.tz import SHANGHAI
from store import Project
from xznews.cli.common import get_engine, get_settings, print_json

_CSV_FIELDS = ("id", "name", "company", "amount_yi", "stage", "place", "clusters", "last_reported_at")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Investment projects (name, company, 亿元, stage, place) followed across articles.",
        invoke_without_command=True,
    )
    group.callback()(projects_list)
    group.command("extract")(extract_cmd)
    group.command("rebuild")(rebuild_cmd)
    app.add_typer(group, name="projects")
    app.command("project")(project_show)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"invalid date {value!r}: expected ISO 8601, e.g. 2026-06-01") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def project_record(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "company": p.company,
        "amount_yi": p.amount_yi,
        "amounts": p.amounts,
        "stage": p.stage,
        "place": p.place,
        "clusters": p.clusters,
        "first_reported_at": p.first_reported_at.isoformat() if p.first_reported_at else None,
        "last_reported_at": p.last_reported_at.isoformat() if p.last_reported_at else None,
    }


def _date(when: datetime | None) -> str:
    return when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d") if when else "—"


def _amount(value: float | None) -> str:
    return f"{value:g}亿元" if value is not None else "—"


def projects_list(
    ctx: typer.Context,
    cluster: Annotated[str | None, typer.Option(help="Only projects of this cluster id.")] = None,
    stage: Annotated[
        str | None, typer.Option(help="Comma-separated stages: planned,signed,started,completed.")
    ] = None,
    place: Annotated[
        str | None, typer.Option(help="A district, county, zone or park (and what lies in it).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Reported on or after this date (ISO 8601).")] = None,
    min_amount: Annotated[float | None, typer.Option(help="Smallest total investment, in 亿元.")] = None,
    sort: Annotated[
        str, typer.Option(help="recent, amount, name or stage (checked against ingest.projects.SORTS).")
    ] = "recent",
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="CSV with a header row.")] = False,
) -> None:
    """List the tracked projects, most recently reported first."""
    from ingest.classify import CLUSTER_IDS
    from ingest.projects import SORTS, STAGE_ZH, ProjectFilter, list_projects, parse_stages

    if ctx.invoked_subcommand is not None:
        return
    if cluster and cluster not in CLUSTER_IDS:
        raise _fail(f"unknown cluster {cluster!r}: expected one of {', '.join(CLUSTER_IDS)}")
    if sort not in SORTS:
        raise _fail(f"unknown sort {sort!r}: expected one of {', '.join(SORTS)}")
    try:
        stages = parse_stages(stage)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    flt = ProjectFilter(
        cluster=cluster, stages=stages, place=place, since=_since(since), min_amount=min_amount
    )
    with Session(get_engine(get_settings())) as session:
        rows = list_projects(session, flt, sort)
    if json_out:
        for p in rows:
            print_json(project_record(p))
        return
    if csv_out:
        writer = csv.DictWriter(sys.stdout, fieldnames=_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for p in rows:
            record = project_record(p)
            record["clusters"] = " ".join(p.clusters or [])
            writer.writerow(record)
        return
    if not rows:
        print("no projects (run `xznews projects rebuild` after loading articles)")
        return
    for p in rows:
        print(
            f"{p.id:>5}  {STAGE_ZH.get(p.stage or '', '—'):<6}  {_amount(p.amount_yi):>9}  "
            f"{p.place or '—'}  {p.name}  {p.company or ''}".rstrip()
        )


def project_show(
    project_id: Annotated[int, typer.Argument(help="The project id, from `xznews projects`.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One project's timeline: each article's report, with its stage, date, figure and link."""
    from ingest.projects import STAGE_ZH, project_timeline

    with Session(get_engine(get_settings())) as session:
        found = project_timeline(session, project_id)
        if found is None:
            raise _fail(f"no project {project_id}")
        project, entries = found
        timeline = [
            {
                "date": e.report.reported_at.isoformat() if e.report.reported_at else None,
                "stage": e.report.stage,
                "amount_yi": e.report.amount_yi,
                "place": e.report.place,
                "change": e.report.change,
                "article_id": e.article.id,
                "title": e.article.title,
                "url": e.article.url or e.article.canonical_url,
                "site": e.article.site or e.article.source_name,
                "evidence": e.report.evidence,
            }
            for e in entries
        ]
        record = project_record(project)
    if json_out:
        print_json({**record, "timeline": timeline})
        return
    print(f"{record['name']}  (project {record['id']})")
    print(f"  company: {record['company'] or '—'}")
    print(f"  place:   {record['place'] or '—'}")
    print(f"  stage:   {STAGE_ZH.get(record['stage'] or '', '—')} ({record['stage'] or '—'})")
    print(f"  amount:  {_amount(record['amount_yi'])}", end="")
    others = [a["amount_yi"] for a in record["amounts"] if a["amount_yi"] != record["amount_yi"]]
    print(f" (also stated: {', '.join(f'{a:g}亿元' for a in others)})" if others else "")
    print("  timeline:")
    for t in timeline:
        when = _date(datetime.fromisoformat(t["date"])) if t["date"] else "—"
        print(f"    {when}  {STAGE_ZH.get(t['stage'] or '', '—'):<6}  {t['site']}  {t['title']}")
        if t["url"]:
            print(f"                {t['url']}")


def extract_cmd(
    jsonl: Annotated[
        Path, typer.Option("--jsonl", help='Input: one {"id", "title", "text"} a line; "-" = stdin.')
    ],
) -> None:
    """Print each input line's projects as {"id", "projects": [...]}, without a database."""
    from ingest.projects import extract_projects

    try:
        handle = sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {jsonl}: {exc.strerror}") from None
    with handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                    raise ValueError('needs a string "text"')
            except ValueError as exc:
                raise _fail(f"{jsonl}: line {n}: {exc}") from None
            facts = extract_projects(str(item.get("title") or ""), item["text"])
            print_json({"id": item.get("id"), "projects": [f.to_json() for f in facts]})


def rebuild_cmd() -> None:
    """Extract the projects of every stored article again (the seeds included) and re-merge them."""
    from ingest.projects import list_projects, rebuild_projects

    articles, facts = rebuild_projects(get_engine(get_settings()))
    with Session(get_engine(get_settings())) as session:
        count = len(list_projects(session))
    print(f"read {articles} articles: {facts} project facts, {count} projects")
