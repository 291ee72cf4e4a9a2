"""Helpers shared by the command modules: settings, logging, the engine."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from core.errors import XznewsError
from core.masking import mask_url
from core.settings import Settings, load_settings
from store import init_db, make_engine


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic and httpx log every step at INFO; keep the operator's log about xznews.
    for noisy in ("alembic", "httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = load_settings()
    setup_logging(settings.log_level)
    return settings


def check_data_dir(settings: Settings) -> None:
    """The data folder (SQLite file, outbox) must be a writable folder: say so before SQLite says less."""
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XznewsError(
            f"data folder {folder} (XZNEWS_DATA_DIR): cannot create it: {exc.strerror}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise XznewsError(f"data folder {folder} (XZNEWS_DATA_DIR) is not writable")


def get_engine(settings: Settings | None = None) -> Engine:
    """The configured database, created and migrated on first use; an unreachable one is one clear error."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    settings = settings or get_settings()
    if not settings.database_url:
        check_data_dir(settings)
    where = mask_url(settings.db_url)
    try:
        engine = make_engine(settings.db_url)
        init_db(engine)
    except ArgumentError as exc:
        raise XznewsError(f"database URL {where} (XZNEWS_DATABASE_URL) is not valid: {exc}") from None
    except (DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise XznewsError(f"cannot open the database {where}: {reason}") from None
    return engine


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


_HTML_MARK = re.compile(
    rb"<\s*(!doctype|html|head|body|meta|title|div|p|table|article|span|a)\b", re.IGNORECASE
)


def looks_like_html(data: bytes) -> bool:
    """A tag near the start and no NUL bytes: enough to tell a page from an image, a PDF or an archive."""
    head = data[:65536]
    return b"\x00" not in head[:4096] and _HTML_MARK.search(head) is not None


def read_text_articles(path: Path, data: bytes) -> list[tuple[str, str, str]]:
    """(id, title, body) for a text file, split as `seeds load` splits the seed corpus; the id is the path,
    or path#N when the file holds several articles. Raises UnicodeDecodeError for non-UTF-8 bytes."""
    from ingest.extract import split_seed_document

    articles = split_seed_document(data.decode("utf-8-sig"))
    if len(articles) == 1:
        return [(str(path), articles[0].title, "\n".join(articles[0].paragraphs))]
    return [(f"{path}#{a.index}", a.title, "\n".join(a.paragraphs)) for a in articles]
