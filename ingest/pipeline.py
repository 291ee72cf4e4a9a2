"""One ingest pass over a source, read as a recipe: list → skip seen → fetch → extract → check → classify → dedupe
→ store.

Decisions live in the stages; this module only orders them and records why anything was skipped. Each article is
committed on its own, so a crash mid-run loses at most the article in hand; an article that failed (to fetch, to
extract, to store: any error) is logged with its URL and reason, counted, and simply not stored yet, so the next
pass sees it as unseen and tries again. One bad article never ends a source's pass, and the source's health is
recorded however the pass ends. Each source's pass holds its job lock (the same one the daemon takes), so two
processes never ingest one source at once; a URL stored by someone else meanwhile is a clean skip.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, or_
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import select

from core.settings import Settings
from ingest.classify import Classification, Lexicon, classify, load_lexicon
from ingest.dedupe import DedupeIndex
from ingest.extract import MAX_PARTS, Extracted, extract_articles
from ingest.fetch import Fetcher, FetchError, HostDeferredError, Response, canonical_url, part_url
from ingest.health import is_due, record_run
from ingest.projects import record_article_projects
from ingest.sources import ArticleRef, SourceConfig, load_sources, read_listing
from ingest.textcheck import not_text_reason
from store import Article, Source, dedupe_session, job_lock, session_scope

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
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason): tried again next pass
    clusters: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    locked: bool = False  # another process or thread was ingesting this source: not run
    not_modified: bool = False  # the listing answered 304
    backlog: bool = False  # unseen articles were left for the next pass
    retry_after_s: float | None = None  # the host asked us to come back this much later

    @property
    def ok(self) -> bool:
        return self.error is None


class _DatabaseLost(Exception):
    """Internal: the database failed under us; the pass ends, the health record is still attempted."""


def run_ingest(
    settings: Settings,
    engine: Engine,
    names: list[str] | None = None,
    *,
    only_due: bool = False,
    fetcher: Fetcher | None = None,
    index: DedupeIndex | None = None,
    lexicon: Lexicon | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> list[SourceRunReport]:
    """One pass over the configured sources (or the named ones).

    With `only_due` (the daemon), a source runs only once its next try has come (an interval after its last
    run, or its backoff after a failure), checked under its job lock: replicas that fire the same job one after
    another read the source once. The daemon passes
    its own `fetcher` (one per process, so per-host limits and robots.txt hold across all source jobs),
    `index` and `lexicon`; a one-shot pass makes its own.
    """
    sources = [s for s in load_sources(settings.sources_file) if s.enabled or names]
    if names:
        unknown = set(names) - {s.name for s in sources}
        if unknown:
            from core.errors import ConfigError

            raise ConfigError(settings.sources_file, None, f"no source named {', '.join(sorted(unknown))}")
        sources = [s for s in sources if s.name in names]
    lexicon = lexicon or load_lexicon(settings.clusters_file)
    index = index or DedupeIndex()
    with _fetcher(settings, engine, fetcher) as shared:
        stages = _Stages(engine, settings, shared, index, lexicon)
        reports: list[SourceRunReport | None] = []
        for source in sources:
            reports.append(_locked_refresh(stages, source, only_due))
            if progress:  # (sources done, sources): a plain callback, the shell draws the bar
                progress(len(reports), len(sources))
    return [r for r in reports if r is not None]


@contextmanager
def _fetcher(settings: Settings, engine: Engine, given: Fetcher | None) -> Iterator[Fetcher]:
    if given is not None:
        yield given
        return
    with Fetcher(settings.fetch, engine=engine) as own:
        yield own


@dataclass(frozen=True)
class _Stages:
    """What every source's pass in one run shares."""

    engine: Engine
    settings: Settings
    fetcher: Fetcher
    index: DedupeIndex
    lexicon: Lexicon


def _locked_refresh(stages: _Stages, source: SourceConfig, only_due: bool) -> SourceRunReport | None:
    engine = stages.engine
    with job_lock(engine, ingest_lock_name(source.name)) as held:
        if not held:  # the daemon looks every tick: that it found a replica at work is no news
            log.log(
                logging.DEBUG if only_due else logging.INFO,
                "ingest skipped source=%s reason=another process is ingesting it",
                source.name,
            )
            return SourceRunReport(source.name, locked=True)
        # Checked under the lock: the holder before us has recorded its run (and the next try) already.
        if only_due and not _is_due(engine, source):
            return None
        return refresh_source(engine, stages.settings, source, stages.fetcher, stages.index, stages.lexicon)


def ingest_lock_name(source_name: str) -> str:
    """The job lock a source's ingest holds, in the daemon and from the CLI alike."""
    return f"ingest:{source_name}"


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
        _refresh(_Stages(engine, settings, fetcher, index, lexicon), source, report)
    except _DatabaseLost as exc:
        report.error = f"database error: {exc}"
        log.error("ingest stopped source=%s reason=database error: %s", source.name, exc)
    finally:
        _record(engine, source, report)
    log.info(
        "ingest done source=%s listed=%d fetched=%d new=%d duplicates=%d updates=%d skipped=%d failed=%d",
        source.name, report.listed, report.fetched, report.new, report.duplicates, report.updates,
        len(report.skipped), len(report.failed),
    )  # fmt: skip
    return report


def _refresh(stages: _Stages, source: SourceConfig, report: SourceRunReport) -> None:
    engine, fetcher, index, lexicon = stages.engine, stages.fetcher, stages.index, stages.lexicon
    try:
        listing = read_listing(source, fetcher, seen=lambda urls: _known(engine, urls), conditional=True)
    except HostDeferredError as exc:
        report.error, report.retry_after_s = f"listing deferred: {exc}", exc.retry_after_s
        log.warning("listing deferred source=%s error=%s", source.name, exc)
        return
    except FetchError as exc:
        report.error = f"listing failed: {exc}"
        log.warning("listing failed source=%s error=%s", source.name, exc)
        return
    except (OperationalError, DBAPIError) as exc:
        raise _DatabaseLost(_first_line(exc)) from exc
    report.listed, report.not_modified = listing.listed, listing.not_modified
    refs = listing.refs[: stages.settings.fetch.max_articles_per_run]
    report.backlog = listing.more or len(refs) < len(listing.refs)
    with _prefetch(fetcher, source, refs, stages.settings.fetch.per_host_concurrency + 1) as fetched:
        for ref, pending in fetched:
            if fetcher.cancelled:
                report.backlog = True
                log.info("ingest interrupted source=%s reason=shutting down", source.name)
                break
            try:
                _ingest_one(engine, source, ref, pending.result(), index, lexicon, report)
            except HostDeferredError as exc:
                report.error, report.retry_after_s = f"host deferred: {exc}", exc.retry_after_s
                report.backlog = True
                log.warning("ingest deferred source=%s url=%s error=%s", source.name, ref.url, exc)
                break
            except FetchError as exc:
                report.skipped.append((ref.url, str(exc)))
                report.backlog = report.backlog or exc.transient
                log.warning("article fetch failed source=%s url=%s error=%s", source.name, ref.url, exc)
            except (
                OperationalError
            ) as exc:  # the database is gone: every next article would fail the same way
                raise _DatabaseLost(_first_line(exc)) from exc
            except Exception as exc:  # noqa: BLE001 - one bad article never ends the pass; it is tried again
                reason = f"{exc.__class__.__name__}: {_first_line(exc)}"
                report.failed.append((ref.url, reason))
                report.backlog = True
                log.warning(
                    "article failed source=%s url=%s reason=%s", source.name, ref.url, reason, exc_info=True
                )
    if report.backlog:
        # A listing answered 304 next time would hide what is left: read it in full on the next pass.
        fetcher.forget_validators(source.url)


@contextmanager
def _prefetch(
    fetcher: Fetcher, source: SourceConfig, refs: list[ArticleRef], window: int
) -> Iterator[Iterator[tuple[ArticleRef, Future[Response]]]]:
    """The refs in listing order, each with its fetch, started up to `window` ahead: pages arrive while earlier
    ones are processed. The fetcher's per-host slots and delay still decide when each request goes out; the
    order of processing (and so which of two copies is the original) stays the listing's."""
    pool = ThreadPoolExecutor(max_workers=window, thread_name_prefix=f"fetch-{source.name}")

    def start(ref: ArticleRef) -> Future[Response]:
        return pool.submit(fetcher.get, ref.url, source=source, referer=source.url)

    def ordered() -> Iterator[tuple[ArticleRef, Future[Response]]]:
        ahead: deque[tuple[ArticleRef, Future[Response]]] = deque()
        rest = iter(refs)
        for ref in rest:
            ahead.append((ref, start(ref)))
            if len(ahead) >= window:
                break
        while ahead:
            ref, pending = ahead.popleft()
            following = next(rest, None)
            if following is not None:
                ahead.append((following, start(following)))
            yield ref, pending

    try:
        yield ordered()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # fetches not started are dropped; running ones end


def _ingest_one(
    engine: Engine,
    source: SourceConfig,
    ref: ArticleRef,
    response: Response,
    index: DedupeIndex,
    lexicon: Lexicon,
    report: SourceRunReport,
) -> None:
    report.fetched += 1
    pages = extract_articles(
        response.content,
        url=response.url,
        http_charset=response.charset,
        list_date=ref.published_at,
        family=_family(source),
    )
    if len(pages) >= MAX_PARTS:
        log.warning("page split capped source=%s url=%s parts=%d", source.name, ref.url, len(pages))
    for n, extracted in enumerate(pages):
        # Each part of a multi-article page is its own article, under its own URL (url#1, url#2…).
        url = ref.url if len(pages) == 1 else part_url(ref.url, n + 1)
        _store_one(engine, source, ref, url, extracted, index, lexicon, report)


def _is_due(engine: Engine, source: SourceConfig) -> bool:
    with session_scope(engine) as session:
        row = session.exec(select(Source).where(Source.name == source.name)).first()
        if is_due(row, datetime.now(UTC)):
            return True
        assert row is not None
        if row.consecutive_failures:
            log.info("ingest skipped source=%s reason=backing off until %s", source.name, row.next_try_at)
        else:  # the daemon's tick between two reads
            log.debug("ingest skipped source=%s reason=not due until %s", source.name, row.next_try_at)
        return False


def _family(source: SourceConfig) -> str | None:
    return source.kind if source.kind in {"hanweb", "epoint", "trs", "epaper"} else None


def _known(engine: Engine, urls: list[str]) -> set[str]:
    """The canonical URLs among `urls` already stored (a multi-article page counts once its part 1 is)."""
    known: set[str] = set()
    keys = list(dict.fromkeys(canonical_url(u) for u in urls))
    with session_scope(engine) as session:
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            wanted = chunk + [k + "#1" for k in chunk]
            rows = session.exec(select(Article.canonical_url).where(Article.canonical_url.in_(wanted)))  # type: ignore[union-attr]
            known.update(r.removesuffix("#1") for r in rows if r)
    return known


def _skip(report: SourceRunReport, source: SourceConfig, url: str, reason: str) -> None:
    report.skipped.append((url, reason))
    log.info("skipped source=%s url=%s reason=%s", source.name, url, reason)


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
        return _skip(report, source, url, "no article body found")
    title = extracted.title or ref.title or ""
    if not title:
        return _skip(report, source, url, "no title found")
    garbage = not_text_reason(extracted.body)
    if garbage:
        return _skip(report, source, url, garbage)
    result = classify(title, extracted.body, lexicon, home=source.home)
    canonical = canonical_url(url) if "#" not in url else url  # part URLs are canonical already
    article = classified_article(
        result,
        url=url,
        canonical_url=canonical,
        source_name=source.name,
        site=urlsplit(url).hostname,
        title=title,
        published_at=extracted.published_at or ref.published_at,
        fetched_at=datetime.now(UTC),
        origin=extracted.source,
        author=extracted.author,
        editor=extracted.editor,
        body=extracted.body,
        extractor=extracted.extractor,
    )
    passes_gate = result.xuzhou >= source.min_xuzhou and result.development >= source.min_development
    try:
        with dedupe_session(engine) as session:
            # Another source, column, process or replica may have stored this URL since the listing was read.
            stored = session.exec(
                select(Article.id).where(or_(Article.url == url, Article.canonical_url == canonical))
            ).first()
            if stored is not None:
                return _skip(report, source, url, "already stored")
            verdict = index.store_article(session, article, extracted.paragraphs)
            article.alertable = passes_gate and verdict.verdict != "duplicate"
            session.add(article)
            record_article_projects(session, article)
    except IntegrityError:  # stored by another process between our check and our commit (SQLite files)
        return _skip(report, source, url, "already stored")
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
    return None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else exc.__class__.__name__


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
    """The source's health after this pass; a database that fails here too is logged, never raised."""
    now = datetime.now(UTC)
    retry_at = now + timedelta(seconds=report.retry_after_s) if report.retry_after_s else None
    try:
        with session_scope(engine) as session:
            record_run(
                session,
                source,
                ok=report.ok,
                items=report.listed,
                new=report.new + report.updates,
                error=report.error,
                now=now,
                retry_at=retry_at,
                not_modified=report.not_modified,
            )
    except (OperationalError, DBAPIError) as exc:
        log.error(
            "source health not recorded source=%s reason=database error: %s", source.name, _first_line(exc)
        )
