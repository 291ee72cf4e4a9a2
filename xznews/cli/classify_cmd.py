"""`xznews classify FILE…` / `--jsonl F`: tag articles by the 343 clusters and show the evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xznews.cli.common import read_text_articles

if TYPE_CHECKING:  # imported where used, so that other commands start without them
    from ingest.classify import Classification, Lexicon


class InputError(Exception):
    """One input could not be read; reported on its line, the others go on."""


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_command)


def classify_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE...", help="Text (title on the first line) or .html files."),
    ] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help='A file of {"id", "title", "text"} lines.')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input, one per line.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show clusters, evidence and relevance for a person.")
    ] = False,
    lexicon_path: Annotated[
        Path | None, typer.Option("--lexicon", help="Another clusters.toml (default: config/clusters.toml).")
    ] = None,
) -> None:
    """Classify articles into the 343 clusters, with the terms that decided it."""
    from ingest.classify import LexiconError, classify, load_lexicon

    if not files and jsonl is None:
        raise typer.BadParameter("give FILE... or --jsonl FILE")
    try:
        lexicon = load_lexicon(lexicon_path)
    except LexiconError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    failures = total = 0
    for item_id, read in _inputs(files or [], jsonl):
        total += 1
        try:
            title, text = read()
        except InputError as exc:
            failures += 1
            typer.echo(json.dumps({"id": item_id, "error": str(exc)}, ensure_ascii=False))
            continue
        result = classify(title, text, lexicon)
        if explain and not as_json:
            typer.echo(render_explanation(item_id, title, result, lexicon))
        else:
            typer.echo(json.dumps({"id": item_id, **result.to_json()}, ensure_ascii=False))
    if failures and failures == total:
        raise typer.Exit(1)


def _inputs(files: list[Path], jsonl: Path | None) -> Iterator[tuple[str, Any]]:
    for path in files:
        if path.suffix.lower() in {".html", ".htm"}:
            yield str(path), lambda path=path: read_article_file(path)
            continue
        try:  # a text file is split into articles the way `seeds load` splits the seed corpus
            articles = read_text_articles(path, path.read_bytes())
        except (OSError, UnicodeDecodeError):
            yield str(path), lambda path=path: read_article_file(path)  # reports why on its line
            continue
        for item_id, title, body in articles:
            yield item_id, lambda title=title, body=body: (title, body)
    if jsonl is not None:
        try:
            lines = jsonl.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            yield str(jsonl), _raiser(f"cannot read {jsonl}: {exc}")
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                item_id = str(record.get("id", f"{jsonl}:{number}"))
                pair = (str(record.get("title") or ""), str(record.get("text") or ""))
            except (json.JSONDecodeError, AttributeError) as exc:
                yield f"{jsonl}:{number}", _raiser(f"line {number} is not a JSON object: {exc}")
                continue
            yield item_id, lambda pair=pair: pair


def _raiser(message: str):
    def read() -> tuple[str, str]:
        raise InputError(message)

    return read


def read_article_file(path: Path) -> tuple[str, str]:
    """(title, text): for text files the first non-empty line (without leading '#') and the rest; for
    .html files what ingest.extract.article finds."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in {".html", ".htm"}:
        return _read_html(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (use an .html name for pages in other charsets)") from exc
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip():
            return line.strip().lstrip("#").strip(), "\n".join(lines[i + 1 :]).strip()
    return "", ""


def _read_html(data: bytes) -> tuple[str, str]:
    from ingest.extract import extract_article

    extracted = extract_article(data)
    return extracted.title, "\n".join(extracted.paragraphs)


def render_explanation(item_id: str, title: str, result: Classification, lexicon: Lexicon) -> str:
    lines = [f"{item_id}", f"  title: {title or '(none)'}"]
    if not result.clusters:
        lines.append("  clusters: none")
    for cid in result.clusters:
        cluster = lexicon.cluster(cid)
        lines.append(
            f"  ● {cluster.name_zh} / {cluster.name_en} [{cid}] — {cluster.tier_zh} {cluster.tier}, "
            f"score {result.scores[cid]:.2f}"
        )
        lines.extend(_evidence_lines(result, cid))
    if result.mentions:
        lines.append("  mentioned only:")
        for cid in result.mentions:
            cluster = lexicon.cluster(cid)
            lines.append(f"  ○ {cluster.name_zh} / {cluster.name_en} [{cid}], score {result.scores[cid]:.2f}")
            lines.extend(_evidence_lines(result, cid))
    lines.append(f"  relevance: Xuzhou {result.xuzhou:.2f}, development {result.development:.2f}")
    return "\n".join(lines)


def _evidence_lines(result: Classification, cid: str) -> list[str]:
    out = []
    for ev in result.details.get(cid, []):
        where = "title+body" if 0 < ev.in_title < ev.count else ("title" if ev.in_title else "body")
        sign = "−" if ev.kind == "negative" else ""
        out.append(f"      {sign}{ev.term} ×{ev.count} ({where}, {ev.kind}, {ev.weight:+.1f})")
    return out
