"""Helpers shared by the command modules: settings, logging, the engine."""

from __future__ import annotations

import json
import logging
import sys
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

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


def get_engine(settings: Settings | None = None) -> Engine:
    """The configured database, created and migrated on first use."""
    settings = settings or get_settings()
    engine = make_engine(settings.db_url)
    init_db(engine)
    return engine


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))
