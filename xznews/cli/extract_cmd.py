"""`xznews extract PATH_OR_URL…`: run the extraction stages on files or URLs and print what they found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xznews.cli.common import looks_like_html, read_text_articles

if TYPE_CHECKING:  # imported where used, so that other commands start without them
    from ingest.extract import Extracted


class InputError(Exception):
    """One input could not be read or fetched; reported on its line, the others go on."""


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)


def extract(
    inputs: Annotated[
        list[str], typer.Argument(metavar="PATH_OR_URL...", help="HTML files or http(s) URLs.")
    ],
    url: Annotated[
        str | None,
        typer.Option("--url", help="The page URL of a single file input (helps the date-from-URL)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input, one per line.")] = False,
) -> None:
    """Extract title, publish time, source, author and clean body from saved pages or live URLs."""
    if url and len(inputs) != 1:
        raise typer.BadParameter("--url applies to a single input", param_hint="--url")
    failures = total = 0
    for item in inputs:
        for record in _extract_any(item, url):
            total += 1
            failures += record["error"] is not None
            if as_json:
                typer.echo(json.dumps(record, ensure_ascii=False))
            else:
                typer.echo(_readable(record))
    if failures and failures == total:
        raise typer.Exit(1)


def _extract_any(item: str, url: str | None) -> list[dict[str, Any]]:
    """A page gives one record; a seed-style text file one per article; anything else says what it is."""
    if _is_url(item):
        return [_extract_one(item, url)]
    try:
        data = _read_file(item)
    except InputError as exc:
        return [_record(item, None, str(exc))]
    if looks_like_html(data):
        return [_extract_one(item, url, data)]
    try:
        articles = read_text_articles(Path(item), data)
    except UnicodeDecodeError:
        return [_record(item, None, "not an HTML page (nor UTF-8 text)")]
    if not articles:
        return [_record(item, None, "not an HTML page, and no article text in it")]
    return [
        {"input": aid, "title": title, "published_at": None, "source": None, "author": None, "body": body,
         "error": None}
        for aid, title, body in articles
    ]  # fmt: skip


def _extract_one(item: str, url: str | None, data: bytes | None = None) -> dict[str, Any]:
    from ingest.extract import extract_article

    try:
        if _is_url(item):
            data, final_url, charset = _fetch(item)
            extracted = extract_article(data, final_url, http_charset=charset)
        else:
            extracted = extract_article(data if data is not None else _read_file(item), url)
    except InputError as exc:
        return _record(item, None, str(exc))
    error = None if extracted.paragraphs else "no article text found"
    return _record(item, extracted, error)


def _record(item: str, extracted: Extracted | None, error: str | None) -> dict[str, Any]:
    published = extracted.published_at.isoformat() if extracted and extracted.published_at else None
    return {
        "input": item,
        "title": extracted.title if extracted else None,
        "published_at": published,
        "source": extracted.source if extracted else None,
        "author": extracted.author if extracted else None,
        "body": extracted.body if extracted else None,
        "extractor": extracted.extractor if extracted else None,  # primary | fallback
        "error": error,
    }


def _is_url(item: str) -> bool:
    return item.lower().startswith(("http://", "https://"))


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()  # raw bytes: decoding is the extractor's job
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _fetch(url: str) -> tuple[bytes, str, str | None]:
    """The service's own fetcher and its limits (timeouts, byte cap, redirects on the same host, robots.txt)."""
    from ingest.fetch import Fetcher, FetchError
    from xznews.cli.common import get_settings

    try:
        with Fetcher(get_settings().fetch) as fetcher:
            response = fetcher.get(url)
    except FetchError as exc:
        raise InputError(str(exc)) from exc
    return response.content, response.url, response.charset


def _readable(record: dict[str, Any]) -> str:
    if record["error"] and not record["body"]:
        return f"== {record['input']}\nerror: {record['error']}\n"
    lines = [
        f"== {record['input']}",
        f"title:  {record['title'] or ''}",
        f"time:   {record['published_at'] or ''}",
        f"source: {record['source'] or ''}",
    ]
    if record["author"]:
        lines.append(f"author: {record['author']}")
    if record.get("extractor") == "fallback":
        lines.append("body by: the second-opinion extractor (the primary's body looked collapsed)")
    lines += ["", record["body"] or "", ""]
    return "\n".join(lines)
