"""One ingest pass over a source, read as a recipe: list → skip seen → fetch → extract → classify → dedupe → store.

Decisions live in the stages; this module only orders them and records why anything was skipped. Each article is
committed on its own, so a crash mid-run loses at most the article in hand, and an article that failed to fetch
is simply not stored yet: the next run sees it as unseen and tries again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import select

from core.settings import Settings
from ingest.classify import Classification, Lexicon, classify, load_lexicon
from ingest.dedupe import DedupeIndex
from ingest.extract import Extracted, extract_articles
from ingest.fetch import Fetcher, FetchError, canonical_url
from ingest.health import is_due, record_run
from ingest.sources import ArticleRef, SourceConfig, list_articles, load_sources
from store import Article, Source, dedupe_session, session_scope

log = logging.getLogger(__name__)


@dataclass
class SourceRunReport:
    source: str
    listed: int = 0
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    updates: int = 0
    below_gate: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    clusters: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_ingest(
    settings: Settings,
    engine: Engine,
    names: list[str] | None = None,
    *,
    only_due: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> list[SourceRunReport]:
    """One pass over the configured sources (or the named ones).

    With `only_due` (the daemon), a failing source is left alone until its backoff has passed.
    """
    sources = [s for s in load_sources(settings.sources_file) if s.enabled or names]
    if names:
        unknown = set(names) - {s.name for s in sources}
        if unknown:
            from core.errors import ConfigError

            raise ConfigError(settings.sources_file, None, f"no source named {', '.join(sorted(unknown))}")
        sources = [s for s in sources if s.name in names]
    if only_due:
        sources = [s for s in sources if _is_due(engine, s)]
    lexicon = load_lexicon(settings.clusters_file)
    index = DedupeIndex()
    reports: list[SourceRunReport] = []
    with Fetcher(settings.fetch, engine=engine) as fetcher:
        for source in sources:
            reports.append(refresh_source(engine, settings, source, fetcher, index, lexicon))
            if progress:  # (sources done, sources): a plain callback, the shell draws the bar
                progress(len(reports), len(sources))
    return reports


def refresh_source(
    engine: Engine,
    settings: Settings,
    source: SourceConfig,
    fetcher: Fetcher,
    index: DedupeIndex,
    lexicon: Lexicon,
) -> SourceRunReport:
    report = SourceRunReport(source.name)
    try:
        refs = list_articles(source, fetcher)
    except FetchError as exc:
        report.error = f"listing failed: {exc}"
        log.warning("listing failed source=%s error=%s", source.name, exc)
        _record(engine, source, report)
        return report
    report.listed = len(refs)
    for ref in _unseen(engine, refs)[: settings.fetch.max_articles_per_run]:
        try:
            response = fetcher.get(ref.url, source=source, referer=source.url)
        except FetchError as exc:
            report.skipped.append((ref.url, str(exc)))
            log.warning("article fetch failed source=%s url=%s error=%s", source.name, ref.url, exc)
            continue
        report.fetched += 1
        pages = extract_articles(
            response.content,
            url=response.url,
            http_charset=response.charset,
            list_date=ref.published_at,
            family=_family(source),
        )
        for n, extracted in enumerate(pages):
            url = ref.url if len(pages) == 1 else f"{ref.url}#{n + 1}"
            _store_one(engine, source, ref, url, extracted, index, lexicon, report)
    _record(engine, source, report)
    log.info(
        "ingest done source=%s listed=%d fetched=%d new=%d duplicates=%d updates=%d skipped=%d",
        source.name,
        report.listed,
        report.fetched,
        report.new,
        report.duplicates,
        report.updates,
        len(report.skipped),
    )
    return report


def _is_due(engine: Engine, source: SourceConfig) -> bool:
    with session_scope(engine) as session:
        row = session.exec(select(Source).where(Source.name == source.name)).first()
        if row is None or row.consecutive_failures == 0 or is_due(row, datetime.now(UTC)):
            return True
        log.info("ingest skipped source=%s reason=backing off until %s", source.name, row.next_try_at)
        return False


def _family(source: SourceConfig) -> str | None:
    return source.kind if source.kind in {"hanweb", "epoint", "trs", "epaper"} else None


def _unseen(engine: Engine, refs: list[ArticleRef]) -> list[ArticleRef]:
    """The refs whose canonical URL is not stored yet, first occurrence only."""
    by_url: dict[str, ArticleRef] = {}
    for ref in refs:
        by_url.setdefault(canonical_url(ref.url), ref)
    if not by_url:
        return []
    with session_scope(engine) as session:
        known: set[str] = set()
        keys = list(by_url)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = session.exec(select(Article.canonical_url).where(Article.canonical_url.in_(chunk)))  # type: ignore[union-attr]
            known.update(r for r in rows if r)
            # A multi-article page is stored as url#1, url#2…: its base URL counts as seen too.
            rows = session.exec(
                select(Article.canonical_url).where(Article.canonical_url.in_([k + "#1" for k in chunk]))  # type: ignore[union-attr]
            )
            known.update(r[:-2] for r in rows if r)
    return [ref for key, ref in by_url.items() if key not in known]


def _store_one(
    engine: Engine,
    source: SourceConfig,
    ref: ArticleRef,
    url: str,
    extracted: Extracted,
    index: DedupeIndex,
    lexicon: Lexicon,
    report: SourceRunReport,
) -> None:
    if not extracted.paragraphs:
        report.skipped.append((url, "no article body found"))
        log.info("skipped source=%s url=%s reason=no article body found", source.name, url)
        return
    title = extracted.title or ref.title or ""
    if not title:
        report.skipped.append((url, "no title found"))
        log.info("skipped source=%s url=%s reason=no title found", source.name, url)
        return
    result = classify(title, extracted.body, lexicon, home=source.home)
    article = classified_article(
        result,
        url=url,
        canonical_url=canonical_url(url),
        source_name=source.name,
        site=urlsplit(url).hostname,
        title=title,
        published_at=extracted.published_at or ref.published_at,
        fetched_at=datetime.now(UTC),
        origin=extracted.source,
        author=extracted.author,
        editor=extracted.editor,
        body=extracted.body,
    )
    passes_gate = result.xuzhou >= source.min_xuzhou and result.development >= source.min_development
    with dedupe_session(engine) as session:
        verdict = index.store_article(session, article, extracted.paragraphs)
        article.alertable = passes_gate and verdict.verdict != "duplicate"
        session.add(article)
    if verdict.verdict == "duplicate":
        report.duplicates += 1
    elif verdict.verdict == "update":
        report.updates += 1
    else:
        report.new += 1
    if not passes_gate:
        report.below_gate += 1
    if verdict.verdict != "duplicate":
        report.clusters.update(result.clusters or ["none"])
    log.info(
        "stored source=%s url=%s verdict=%s of=%s clusters=%s",
        source.name,
        url,
        verdict.verdict,
        verdict.of_id,
        ",".join(result.clusters) or "-",
    )


def classified_article(result: Classification, **fields: Any) -> Article:
    """A new, unsaved Article carrying its classification; dedupe fills in the rest."""
    return Article(
        text_hash="",
        clusters=result.clusters,
        mentions=result.mentions,
        scores=result.scores,
        evidence=result.to_json()["evidence"],
        xuzhou_score=result.xuzhou,
        development_score=result.development,
        **fields,
    )


def _record(engine: Engine, source: SourceConfig, report: SourceRunReport) -> None:
    with session_scope(engine) as session:
        record_run(
            session,
            source,
            ok=report.ok,
            items=report.listed,
            new=report.new + report.updates,
            error=report.error,
            now=datetime.now(UTC),
        )
