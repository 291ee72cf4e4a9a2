"""`xznews stories`, `xznews story ID` and `xznews search rebuild`: the web archive from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from store import rebuild_search_index
from xznews.cli.common import get_engine, print_json

search_app = typer.Typer(help="The full-text index behind search.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def stories(
    q: Annotated[str, typer.Option("--q", help="Watched-keyword query, e.g. '徐工 -招聘'.")] = "",
    cluster: Annotated[str, typer.Option(help="Cluster id or Chinese name (工程机械).")] = "",
    source: Annotated[str, typer.Option(help="Source name.")] = "",
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (Asia/Shanghai).")] = "",
    until: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (Asia/Shanghai).")] = "",
    limit: Annotated[int, typer.Option(help="At most this many stories.", min=1, max=500)] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per story.")] = False,
) -> None:
    """Latest stories (one line per story), or those matching --q; newest first."""
    from xznews.web import stories as web_stories
    from xznews.web.params import BadParam, cluster_param, parse_day, query_param

    try:
        filters = web_stories.Filters(
            cluster=cluster_param(cluster),
            source=source.strip() or None,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until", end=True),
        )
        query = query_param(q)
    except BadParam as exc:
        raise _fail(str(exc)) from None
    with Session(get_engine()) as session:
        if query is not None:
            rows, _ = web_stories.search_stories(session, query, filters, 1, limit)
        else:
            rows, _ = web_stories.list_stories(session, filters, 1, limit)
    for row in rows:
        if json_out:
            print_json(row.to_json())
            continue
        others = f"  (+{row.other_sites} 家网站)" if row.other_sites else ""
        update = "  [有更新]" if row.updated else ""
        when = row.when.strftime("%Y-%m-%d") if row.when else "          "
        typer.echo(f"{row.key:>7}  {when}  {row.site}  {row.title}{others}{update}")


def story(
    story_id: Annotated[int, typer.Argument(help="A story id (any copy's article id finds its story).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """One story: the first publisher, every copy with its site and time, clusters and scores."""
    from xznews.web import stories as web_stories

    with Session(get_engine()) as session:
        row = web_stories.story(session, story_id)
    if row is None:
        raise _fail(f"no story {story_id}")
    if json_out:
        data = row.to_json()
        data["copies"] = [
            {
                "id": c.id,
                "site": c.site,
                "url": c.url,
                "published_at": c.when.isoformat() if c.when else None,
                "verdict": c.verdict,
                "new_paragraphs": c.new_paragraphs,
            }
            for c in row.copies
        ]
        data["evidence"] = row.evidence
        data["xuzhou_score"], data["development_score"] = row.xuzhou_score, row.development_score
        print_json(data)
        return
    typer.echo(row.title)
    typer.echo(f"首发: {row.site}  {row.url or ''}")
    typer.echo("集群: " + ("、".join(name for _, name in row.clusters) or "-"))
    typer.echo(f"徐州相关度 {row.xuzhou_score:.2f}  产业发展相关度 {row.development_score:.2f}")
    for i, c in enumerate(row.copies):
        kind = "首发" if i == 0 else ("更新" if c.verdict == "update" else "转载")
        when = c.when.strftime("%Y-%m-%d %H:%M") if c.when else ""
        typer.echo(f"  {kind}  {when}  {c.site}  {c.url or ''}")
        for p in c.new_paragraphs:
            typer.echo(f"      + {p}")


def search_rebuild() -> None:
    """Index every stored article again (after a restore, or if the index was lost)."""
    import ingest.normalize  # noqa: F401  (hands the text normalizer to the index)

    count = rebuild_search_index(get_engine())
    typer.echo(f"search index rebuilt: {count} articles")


def register(app: typer.Typer) -> None:
    app.command("stories")(stories)
    app.command("story")(story)
    search_app.command("rebuild")(search_rebuild)
    app.add_typer(search_app, name="search")
