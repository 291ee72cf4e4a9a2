"""`xznews extract PATH_OR_URL…`: run the extraction stages on files or URLs and print what they found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from ingest.extract import Extracted, extract_article

_TIMEOUT_S = 20.0
_MAX_BYTES = 10 * 1024 * 1024
_MAX_REDIRECTS = 5
_USER_AGENT = "Mozilla/5.0 (compatible; xznews/0.1; +https://github.com/xznews)"


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
    failures = 0
    for item in inputs:
        record = _extract_one(item, url)
        failures += record["error"] is not None
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(_readable(record))
    if failures and failures == len(inputs):
        raise typer.Exit(1)


def _extract_one(item: str, url: str | None) -> dict[str, Any]:
    try:
        if _is_url(item):
            data, final_url, charset = _fetch(item)
            extracted = extract_article(data, final_url, http_charset=charset)
        else:
            extracted = extract_article(_read_file(item), url)
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
    try:
        with (
            httpx.Client(
                timeout=_TIMEOUT_S,
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                headers={"User-Agent": _USER_AGENT},
            ) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > _MAX_BYTES:
                    raise InputError(f"response larger than {_MAX_BYTES} bytes: {url}")
                chunks.append(chunk)
            return b"".join(chunks), str(response.url), response.charset_encoding
    except httpx.HTTPStatusError as exc:
        raise InputError(f"HTTP {exc.response.status_code}: {url}") from exc
    except httpx.HTTPError as exc:
        raise InputError(f"fetch failed ({type(exc).__name__}): {url}") from exc


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
    lines += ["", record["body"] or "", ""]
    return "\n".join(lines)
