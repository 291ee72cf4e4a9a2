"""The seed corpus: the documents the project started from, stored so new articles are deduplicated against them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from ingest.classify import classify
from ingest.dedupe import DedupeIndex
from ingest.extract import split_seed_document
from ingest.pipeline import classified_article
from store import Article, dedupe_session

log = logging.getLogger(__name__)
SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"


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
            ref = seed_ref(path, seed.index)
            with dedupe_session(engine) as session:
                if session.exec(select(Article.id).where(Article.seed_ref == ref)).first() is not None:
                    result.already += 1
                    continue
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
                result.added += 1
                log.info("seed stored ref=%s title=%s", ref, seed.title)
    if progress:
        progress(result.files, len(paths))
    return result
