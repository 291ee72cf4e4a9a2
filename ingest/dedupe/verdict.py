"""Is this article new, a repost of one we know, or an update of one?  Checked against the seeds and all history.

Layers, cheapest first (each stops the search when it decides):

1. canonical URL already stored → duplicate (similarity 1.0);
2. the sha256 of the matching key (see ingest.dedupe.fingerprint) already stored → duplicate;
3. MinHash-LSH: candidates sharing a band, then the estimated Jaccard similarity of signatures ≥ ``near_threshold``;
4. containment: candidates sharing a content-defined chunk (ingest.dedupe.fingerprint.chunk_spans: runs of about two
   sentences cut where a sentence's hash says so, the same however the text is paragraphed); then the share of
   this article's text found in the earlier one (an excerpt, a truncated copy) or of the earlier one's found here
   (an update) ≥ ``containment_threshold``.  Measured in chunks, and — while the earlier body is stored — in
   5-gram shingles of the text itself, since the chunks around an excerpt's end, an edit or a boilerplate line
   differ although most of their text is shared.  A copy must also carry ≥ 30% of the earlier article or
   ≥ 300 characters of it, so a short text quoting one sentence is not taken for its copy.

Chunks found in two or more stories are site boilerplate: they count for nothing, on either side.

A match becomes an ``update`` when this article has substantial prose paragraphs whose text the earlier one does
not have (their indexes in Article.new_paragraphs); otherwise it is a ``duplicate``.  A paragraph lying mostly in
chunks the earlier article has is never new; the others are checked against the earlier text (≤ 50% of their
shingles there).

Why chunks and not whole-paragraph hashes (the previous method): reposts re-wrap paragraphs — a portal's
excerpt joins neighbours and splits long ones — and every re-wrapped paragraph hashes differently.  On the
``excerpt_rewrapped`` probes paragraph hashes found 12 of 20 (LSH cannot help: an excerpt's Jaccard with its
original is ~0.35); chunks find 20 of 20, with every other transformation and hard negative unchanged.  They cost
10.8 index rows per stored article against 9.65 paragraph rows (calibration originals; python -m bench.dedupe).

Thresholds were chosen by ``python -m bench.dedupe --sweep`` on tests/gold/dedupe_calibration.jsonl (248 items):
overall F1 1.000 (P 1.00, R 1.00) at near 0.5 with any containment threshold from 0.4 to 0.8, 0.989 at 0.9; near
≤ 0.4 lets in a false positive (F1 0.998), near ≥ 0.6 loses lightly edited and traditional copies (0.993).  The
flat region widened upwards (it was containment 0.4–0.6) because text containment scores excerpts near 1.0; we
keep the middle of it: near 0.5, containment 0.6.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from ingest.dedupe import index as idx
from ingest.dedupe.fingerprint import (
    Fingerprint,
    chunk_hash,
    containment,
    fingerprint,
    hash_int,
    shingle_set,
    similarity,
)
from ingest.dedupe.stories import assign_story
from ingest.extract import split_seed_document
from store import Article, LshBand, dedupe_session

log = logging.getLogger(__name__)

NEAR_THRESHOLD = 0.5  # estimated Jaccard of 5-gram sets; measured, see bench/dedupe.py
CONTAINMENT_THRESHOLD = 0.6  # share of text (or of the earlier article) already known; measured likewise
MIN_NEW_PARAGRAPH = 20  # characters of matching key for a paragraph to count as new content
_MIN_THEIRS = 0.3  # share of the earlier article's paragraphs a truncated copy must carry…
_MIN_SHARED_CHARS = 300  # …unless it carries this much of its text verbatim (an excerpt of a long article)
_NOVEL_BELOW = 0.5  # a paragraph whose shingles are at most this much in the earlier text is new
_MAX_CONTAINMENT_CANDIDATES = 20
_MAX_TEXT_CHECKS = 3  # earlier bodies read and compared per check (the candidates sharing the most chunks)
_FINGERPRINT_CACHE = 1_000  # earlier articles' fingerprints kept (≈ 10 kB each)
_PROSE_RE = re.compile(r"[，。；！？,;!?]")


@dataclass
class Verdict:
    verdict: str  # "new" | "duplicate" | "update"
    of_id: int | None  # the earlier Article.id
    similarity: float  # 0..1 (1.0 for exact/url)
    layer: str  # "url" | "exact" | "near" | "containment" | "none"
    new_paragraphs: list[int] = field(default_factory=list)


@dataclass
class _Match:
    article_id: int
    similarity: float
    layer: str


class DedupeIndex:
    """The dedupe index over the database given to each call; holds only bounded caches between calls."""

    def __init__(
        self, *, near_threshold: float | None = None, containment_threshold: float | None = None
    ) -> None:
        self.near_threshold = NEAR_THRESHOLD if near_threshold is None else near_threshold
        self.containment_threshold = (
            CONTAINMENT_THRESHOLD if containment_threshold is None else containment_threshold
        )
        self.cache = idx.SignatureCache()
        # Earlier articles' fingerprints, re-made from their bodies for the text checks (a tuple: None is a value).
        self.bodies: idx.BoundedCache[int, tuple[Fingerprint | None]] = idx.BoundedCache(_FINGERPRINT_CACHE)

    # -- reading

    def check(
        self, session: Session, *, title: str, paragraphs: list[str], canonical_url: str | None = None
    ) -> Verdict:
        """The verdict for an article not stored yet.  Read-only."""
        return self._check(session, fingerprint(paragraphs, title), paragraphs, canonical_url)

    def _check(
        self, session: Session, fp: Fingerprint, paragraphs: list[str], canonical_url: str | None
    ) -> Verdict:
        known = idx.find_known(session, canonical_url, fp.text_hash if fp.key else None)
        if known.by_url is not None:
            return Verdict("duplicate", known.by_url, 1.0, "url", [])
        if not fp.key:
            return Verdict("new", None, 0.0, "none", [])
        if known.by_hash:
            originals = [i for i, verdict in known.by_hash if verdict != "duplicate"]
            return Verdict("duplicate", (originals or [known.by_hash[0][0]])[0], 1.0, "exact", [])
        match, best, chunk_sets = self._best_match(session, fp)
        if match is None:
            return Verdict("new", None, round(best, 4), "none", [])
        new_paragraphs = self._new_paragraphs(session, fp, paragraphs, match.article_id, chunk_sets)
        kind = "update" if new_paragraphs else "duplicate"
        return Verdict(kind, match.article_id, round(match.similarity, 4), match.layer, new_paragraphs)

    def _best_match(
        self, session: Session, fp: Fingerprint
    ) -> tuple[_Match | None, float, dict[int, set[int]]]:
        """The earlier article this one repeats, if any, the best similarity seen, and the candidates' chunks.

        Round trips: one candidate query (bands and chunks), then only when needed one for signatures not
        cached, one for the top candidates' chunks with their boilerplate flags, one for earlier bodies.
        """
        weights = fp.chunk_weights
        band_hits, matches = idx.find_candidates(session, fp.bands if fp.signature else [], list(weights))
        top = sorted(matches, key=lambda a: (-len(matches[a]), a))[:_MAX_CONTAINMENT_CANDIDATES]
        stored = idx.load_articles(session, [*band_hits, *top], self.cache)
        near: dict[int, float] = {}
        if fp.signature:
            near = {
                i: similarity(fp.signature, stored[i].signature)  # type: ignore[arg-type]
                for i in band_hits
                if i in stored and stored[i].signature
            }
        contained: dict[int, float] = {}
        theirs_all: dict[int, set[int]] = {}
        if top:
            # Only the earlier articles sharing the most chunks are worth a closer look.  Chunks that several
            # stories share are site boilerplate: they identify no story.
            theirs_all, common = idx.chunk_sets_with_common(session, top)
            mine_weights = {h: w for h, w in weights.items() if h not in common}
            total = sum(mine_weights.values())
            scores: dict[int, tuple[set[int], set[int], float, float, float]] = {}
            unsettled: list[int] = []
            for article_id in top:
                shared = matches[article_id] - common
                theirs_set = theirs_all.get(article_id, set()) - common
                if not shared or not total or not theirs_set:
                    continue
                shared_chars = float(sum(mine_weights[h] for h in shared))
                mine = shared_chars / total  # this article's text known there (an excerpt, a truncation)
                theirs = len(shared) / len(theirs_set)  # that article's chunks found here (an update)
                by_chunks = theirs >= _MIN_THEIRS or shared_chars >= _MIN_SHARED_CHARS
                settled = near.get(article_id, 0.0) >= self.near_threshold or (
                    by_chunks and mine >= self.containment_threshold
                )
                scores[article_id] = (shared, theirs_set, shared_chars, mine, theirs)
                if not settled:
                    unsettled.append(article_id)
            # The earlier bodies worth reading (the unsettled candidates sharing the most chunks), in one query.
            earlier_fps = self._earlier_fingerprints(session, unsettled[:_MAX_TEXT_CHECKS])
            mine_shingles: set[int] | None = None
            for article_id, (_shared, _theirs_set, shared_chars, mine, theirs) in scores.items():
                earlier = earlier_fps.get(article_id)
                if earlier is not None:
                    # With the earlier text at hand, measure text, not chunks, both ways: the chunks around an
                    # excerpt's end, an edit or a boilerplate line are not shared although most of their text is.
                    if mine_shingles is None:
                        mine_shingles = _shingles_outside(fp, common)
                    theirs_shingles = _shingles_outside(earlier, common)
                    both = len(mine_shingles & theirs_shingles)
                    text = both / len(mine_shingles) if mine_shingles else 0.0
                    if text > mine:
                        mine, shared_chars = text, text * total
                    theirs = both / len(theirs_shingles) if theirs_shingles else 0.0
                # A copy must still carry a fair part of the earlier article, or a short text that quotes one
                # sentence would pass as its copy; an excerpt of a long article carries a small part of it, but
                # several sentences' worth, word for word.
                is_excerpt = theirs >= _MIN_THEIRS or shared_chars >= _MIN_SHARED_CHARS
                contained[article_id] = max(mine if is_excerpt else 0.0, theirs)
        best_seen = max([*near.values(), *contained.values(), 0.0])
        scored: list[_Match] = []
        for article_id, sim in near.items():
            if sim >= self.near_threshold:
                scored.append(_Match(article_id, sim, "near"))
        for article_id, share in contained.items():
            if share >= self.containment_threshold and near.get(article_id, 0.0) < self.near_threshold:
                scored.append(_Match(article_id, share, "containment"))
        if not scored:
            return None, best_seen, theirs_all
        # Near matches outrank containment; ties go to the earlier article, and a repost of a repost points at
        # the original when the original matches as well.
        scored.sort(key=lambda m: (m.layer != "near", -round(m.similarity, 2), m.article_id))
        best = scored[0]
        first = stored.get(best.article_id)
        if first is not None and first.verdict == "duplicate" and first.duplicate_of_id is not None:
            for m in scored:
                if m.article_id == first.duplicate_of_id:
                    return m, best_seen, theirs_all
        return best, best_seen, theirs_all

    def _earlier_fingerprints(
        self, session: Session, article_ids: list[int]
    ) -> dict[int, Fingerprint | None]:
        """Earlier articles' fingerprints from their stored bodies (None for an empty body), from a bounded cache
        when possible: re-fingerprinting a body costs about as much as fingerprinting the new article."""
        out: dict[int, Fingerprint | None] = {}
        missing = []
        for i in article_ids:
            hit = self.bodies.get(i)
            if hit is None:
                missing.append(i)
            else:
                out[i] = hit[0]
        if missing:
            for i, body in idx.bodies_of(session, missing).items():
                out[i] = fingerprint(body.split("\n")) if body else None
                self.bodies.set(i, (out[i],))
        return out

    def _new_paragraphs(
        self,
        session: Session,
        fp: Fingerprint,
        paragraphs: list[str],
        of_id: int,
        chunk_sets: dict[int, set[int]],
    ) -> list[int]:
        """Indexes of this article's substantial prose paragraphs whose text the earlier article does not have."""
        candidates = [
            i
            for i, key in enumerate(fp.paragraph_keys)
            if len(key) >= MIN_NEW_PARAGRAPH
            and _PROSE_RE.search(paragraphs[i] if i < len(paragraphs) else "")
        ]
        if not candidates:
            return []
        spans = fp.paragraph_spans()
        known = chunk_sets[of_id] if of_id in chunk_sets else idx.chunk_hashes_of(session, of_id)
        known_spans = [(a, b) for a, b in fp.chunks if chunk_hash(fp.key[a:b]) in known]
        # A paragraph lying mostly inside chunks the earlier article has is not new, whatever its layout.
        candidates = [i for i in candidates if _covered(spans[i], known_spans) <= _NOVEL_BELOW]
        if not candidates:
            return []
        earlier = self._earlier_fingerprints(session, [of_id]).get(of_id)
        earlier_shingles = shingle_set(earlier.key) if earlier is not None else set()
        return [i for i in candidates if containment(fp.paragraph_keys[i], earlier_shingles) <= _NOVEL_BELOW]

    # -- writing

    def store_article(self, session: Session, article: Article, paragraphs: list[str]) -> Verdict:
        """Judge a new, unsaved article, store it with its verdict and fingerprints, and put it in its story."""
        fp = fingerprint(paragraphs, article.title)
        verdict = self._check(session, fp, paragraphs, article.canonical_url)
        article.text_hash = fp.text_hash
        article.signature = fp.signature
        article.verdict = verdict.verdict
        article.duplicate_of_id = verdict.of_id
        article.similarity = verdict.similarity
        article.new_paragraphs = verdict.new_paragraphs or None
        session.add(article)
        session.flush()
        assert article.id is not None
        if verdict.layer not in ("url", "exact"):  # an exact copy adds nothing the index does not have
            idx.write_rows(session, article.id, fp.bands, fp.chunk_hashes)
        self.cache.put(idx.StoredArticle(article.id, article.verdict, article.duplicate_of_id, fp.signature))
        assign_story(session, article, verdict.of_id)
        log.debug(
            "dedupe article=%s verdict=%s of=%s layer=%s similarity=%.3f",
            article.id,
            verdict.verdict,
            verdict.of_id,
            verdict.layer,
            verdict.similarity,
        )
        return verdict

    def rebuild(self, session: Session, progress: Callable[[int, int | None], None] | None = None) -> int:
        """Recompute fingerprints and index rows from stored articles; returns the number of articles indexed.

        The result is the index that storing the same articles in id order would have built: every article
        gets its rows except those the URL or exact layer matched (as in store_article()).  Run it under the
        dedupe lock (store.dedupe_session), so no article is judged against a half-built index.
        ``progress(done, total)`` is called after each batch.
        """
        idx.delete_rows(session)
        self.cache.clear()
        self.bodies.clear()
        ids = list(session.execute(select(Article.id).order_by(Article.id)).scalars())
        seen = _SeenKeys()
        if progress:
            progress(0, len(ids))
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            articles = session.execute(select(Article).where(Article.id.in_(batch))).scalars()  # type: ignore[union-attr]
            for article in sorted(articles, key=lambda a: a.id or 0):
                self._reindex(session, article, seen)
            session.flush()
            if progress:
                progress(start + len(batch), len(ids))
        count = len(ids)
        log.info("dedupe index rebuilt articles=%d bands=%d", count, _count_bands(session))
        return count

    def _reindex(self, session: Session, article: Article, seen: _SeenKeys) -> None:
        fp = fingerprint(article.body.split("\n") if article.body else [], article.title)
        article.text_hash, article.signature = fp.text_hash, fp.signature
        session.add(article)
        # The layers store_article() would have stopped at: a stored URL, then (for a non-empty text) its exact
        # hash.  Any other verdict — an excerpt contained whole (similarity 1.0) included — adds rows, so a later
        # repost of that excerpt is still found.
        by_url = bool(article.canonical_url) and seen.has_url(article.canonical_url or "")
        by_hash = bool(fp.key) and seen.has_hash(fp.text_hash)
        if not (by_url or by_hash):
            idx.write_rows(session, article.id or 0, fp.bands, fp.chunk_hashes)
        seen.add(article, fp)


class _SeenKeys:
    """The URLs and text hashes of the articles re-indexed so far, as 63-bit digests (bounded: 2 ints an article)."""

    def __init__(self) -> None:
        self._urls: set[int] = set()
        self._hashes: set[int] = set()

    def has_url(self, url: str) -> bool:
        return hash_int(url) in self._urls

    def has_hash(self, text_hash: str) -> bool:
        return int(text_hash[:16], 16) in self._hashes

    def add(self, article: Article, fp: Fingerprint) -> None:
        for url in (article.canonical_url, article.url):
            if url:
                self._urls.add(hash_int(url))
        if fp.key:
            self._hashes.add(int(fp.text_hash[:16], 16))


def rebuild_index(engine: Engine, progress: Callable[[int, int | None], None] | None = None) -> int:
    """Rebuild the stored dedupe index under the dedupe lock that ingest takes for every article (one
    transaction: ingest workers wait, then judge against the finished index)."""
    with dedupe_session(engine) as session:
        return DedupeIndex().rebuild(session, progress=progress)


def index_seed_articles(session: Session, index: DedupeIndex, seeds_dir: Path) -> dict[int, str]:
    """Index every seed article of ``seeds_dir`` (no classification); returns Article.id → "<file stem>#<index>"."""
    names: dict[int, str] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for part in split_seed_document(text):
            i, title, paragraphs = part.index, part.title, list(part.paragraphs)
            ref = f"{path.stem}#{i}"
            article = Article(
                source_name="seed",
                site="seed",
                title=title,
                body="\n".join(paragraphs),
                text_hash="",
                is_seed=True,
                seed_ref=ref,
                alertable=False,
            )
            index.store_article(session, article, paragraphs)
            names[article.id or 0] = ref
    return names


def _shingles_outside(fp: Fingerprint, common: set[int]) -> set[int]:
    """The shingles of an article's text, its boilerplate chunks left out."""
    out: set[int] = set()
    for a, b in fp.chunks:
        part = fp.key[a:b]
        if chunk_hash(part) not in common:
            out |= shingle_set(part)
    return out


def _covered(span: tuple[int, int], covering: list[tuple[int, int]]) -> float:
    """Share of the characters of ``span`` that lie inside one of the ``covering`` spans (disjoint)."""
    a, b = span
    if b <= a:
        return 1.0
    return sum(max(0, min(b, y) - max(a, x)) for x, y in covering) / (b - a)


def _count_bands(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LshBand)).scalar() or 0)
