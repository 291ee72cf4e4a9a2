"""The seed corpus: the documents the project started from, stored so new articles are deduplicated against them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.resources import seeds_dir
from ingest.classify import classify
from ingest.dedupe import DedupeIndex
from ingest.extract import SeedArticle, split_seed_document
from ingest.pipeline import classified_article
from ingest.projects import record_article_projects
from store import Article, dedupe_session

log = logging.getLogger(__name__)
SEEDS_DIR = seeds_dir()  # the checkout's seeds/, or the copy an installed wheel carries


@dataclass
class SeedLoadResult:
    added: int = 0
    already: int = 0
    files: int = 0


def seed_ref(path: Path, index: int) -> str:
    """A seed article's id: the file stem and its position, e.g. '004_caf9e2dfe59a60a2#2'."""
    return f"{path.stem}#{index}"


def load_seeds(
    engine: Engine,
    seeds_dir: Path | None = None,
    index: DedupeIndex | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> SeedLoadResult:
    """Split, clean, classify and store every seed article not stored yet. Loading twice adds nothing.

    ``progress(files done, files)`` is called after each file."""
    seeds_dir = seeds_dir or SEEDS_DIR
    index = index or DedupeIndex()
    result = SeedLoadResult()
    paths = sorted(seeds_dir.glob("*.txt"))
    for path in paths:
        if progress:
            progress(result.files, len(paths))
        result.files += 1
        for seed in split_seed_document(path.read_text(encoding="utf-8")):
            if _store_seed(engine, index, seed_ref(path, seed.index), seed):
                result.added += 1
            else:
                result.already += 1
    if progress:
        progress(result.files, len(paths))
    return result


def _store_seed(engine: Engine, index: DedupeIndex, ref: str, seed: SeedArticle) -> bool:
    """Store one seed article unless it is stored already; False when it was (by us or a process beside us)."""
    try:
        with dedupe_session(engine) as session:
            if session.exec(select(Article.id).where(Article.seed_ref == ref)).first() is not None:
                return False
            body = "\n".join(seed.paragraphs)
            article = classified_article(
                classify(seed.title, body, home=True),  # the seeds all come from Xuzhou outlets
                source_name="seed",
                site="seed",
                title=seed.title,
                body=body,
                is_seed=True,
                seed_ref=ref,
                alertable=False,
            )
            index.store_article(session, article, seed.paragraphs)
            article.alertable = False  # seeds are history, never news
            session.add(article)
            record_article_projects(session, article)
    except IntegrityError:  # two processes loading the seeds of a fresh SQLite file: the other one was first
        log.info("seed already stored ref=%s", ref)
        return False
    log.info("seed stored ref=%s title=%s", ref, seed.title)
    return True
