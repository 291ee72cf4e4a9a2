"""`xznews dedupe`: check texts against the seeds in a throw-away index, and rebuild the stored index."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from core.resources import seeds_dir as seeds_dir_default
from xznews.cli.common import get_engine, print_json


def register(app: typer.Typer) -> None:
    dedupe = typer.Typer(help="Find reposts, mirrors and updates of known articles.", no_args_is_help=True)
    dedupe.command("check")(check)
    dedupe.command("rebuild")(rebuild)
    app.add_typer(dedupe, name="dedupe")


def check(
    jsonl: Annotated[
        Path,
        typer.Option(
            "--jsonl", help='Input: one JSON object a line, {"id", "text", "title"?, "url"?}; "-" = stdin.'
        ),
    ],
    against_seeds: Annotated[
        bool,
        typer.Option("--against-seeds/--no-against-seeds", help="Load the seed corpus into the index first."),
    ] = True,
    seeds_dir: Annotated[
        Path | None,
        typer.Option(
            "--seeds-dir", help="Where the seed documents (*.txt) are (default: the shipped corpus)."
        ),
    ] = None,
) -> None:
    """Judge each input line in order against the seeds and the lines before it, in a temporary database.

    Prints one JSON line per input: {"id", "verdict": new|duplicate|update, "of": earlier id or seed id or null,
    "similarity"}.  Seed articles are named "<file stem>#<index>".  The configured database is never touched.
    """
    from ingest.dedupe import DedupeIndex, index_seed_articles
    from store import Article, init_db, make_engine, session_scope

    items = _read_jsonl(jsonl)
    with tempfile.TemporaryDirectory(prefix="xznews-dedupe-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'check.db'}")
        try:
            init_db(engine)
            index = DedupeIndex()
            names: dict[int, str] = {}
            if against_seeds:
                with session_scope(engine) as session:
                    names.update(index_seed_articles(session, index, seeds_dir or seeds_dir_default()))
            for n, item in enumerate(items, 1):
                ext_id = str(item.get("id", n))
                paragraphs = [p.strip() for p in str(item.get("text", "")).splitlines() if p.strip()]
                url = item.get("url") or None
                with session_scope(engine) as session:
                    article = Article(
                        url=None,
                        canonical_url=url,
                        source_name="check",
                        site=urlsplit(url).hostname if url else None,
                        title=str(item.get("title") or ""),
                        body="\n".join(paragraphs),
                        text_hash="",
                    )
                    verdict = index.store_article(session, article, paragraphs)
                    assert article.id is not None
                    names[article.id] = ext_id
                of = names.get(verdict.of_id) if verdict.of_id is not None else None
                print_json(
                    {"id": ext_id, "verdict": verdict.verdict, "of": of, "similarity": verdict.similarity}
                )
        finally:
            engine.dispose()


def rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rebuild the dedupe index (LSH bands, chunk hashes, fingerprints) of the configured database.

    Holds the dedupe lock that ingest takes for each article, so no article is judged while the index is rebuilt.
    """
    from ingest.dedupe import rebuild_index
    from xznews.cli.progress import progress

    engine = get_engine()
    with progress("re-indexing", enabled=not as_json, unit="articles") as report:
        count = rebuild_index(engine, progress=report)
    if as_json:
        print_json({"rebuilt": count})
    else:
        print(f"dedupe index rebuilt from {count} articles")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = (
        sys.stdin.read().splitlines() if str(path) == "-" else path.read_text(encoding="utf-8").splitlines()
    )
    items = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"line {n}: not JSON ({exc.msg})", param_hint="--jsonl") from None
        if not isinstance(item, dict) or "text" not in item:
            raise typer.BadParameter(
                f'line {n}: expected an object with "id" and "text"', param_hint="--jsonl"
            )
        items.append(item)
    return items
