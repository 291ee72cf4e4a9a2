"""Is this article new, a repost of one we know, or an update of one?  Checked against the seeds and all history.

Layers, cheapest first (each stops the search when it decides):

1. canonical URL already stored → duplicate (similarity 1.0);
2. the sha256 of the matching key (see ingest.fingerprint) already stored → duplicate;
3. MinHash-LSH: candidates sharing a band, then the estimated Jaccard similarity of signatures ≥ ``near_threshold``;
4. paragraph containment: the share of this article's text found in one earlier article's paragraphs
   (a truncated copy) or of an earlier article's paragraphs found here (an update) ≥ ``containment_threshold``.

A match becomes an ``update`` when this article has substantial paragraphs that the earlier one does not have
(recorded in Article.new_paragraphs); otherwise it is a ``duplicate``.  Paragraphs found in two or more stories
are site boilerplate and do not count for containment.

Thresholds were chosen by ``python -m bench.dedupe --sweep`` on tests/gold/dedupe_calibration.jsonl (228 items):
overall F1 0.997 (P 1.00, R 0.99) at near 0.5 with containment 0.4–0.6, 0.995 around it; near ≤ 0.4 lets in
false positives (P 0.99), near ≥ 0.6 or containment ≥ 0.7 lose truncated and lightly edited copies.  We take the middle
of the flat region: near 0.5, containment 0.6.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from ingest import dedupe_index as idx
from ingest.fingerprint import (
    MIN_PARAGRAPH_KEY,
    Fingerprint,
    containment,
    fingerprint,
    paragraph_hash,
    shingle_set,
    similarity,
)
from ingest.stories import assign_story
from xznews.models import Article, LshBand

log = logging.getLogger(__name__)

NEAR_THRESHOLD = 0.5  # estimated Jaccard of 5-gram sets; measured, see bench/dedupe.py
CONTAINMENT_THRESHOLD = 0.6  # share of text (or of the earlier article) already known; measured likewise
MIN_NEW_PARAGRAPH = 20  # characters of matching key for a paragraph to count as new content
_MIN_THEIRS = 0.3  # share of the earlier article's paragraphs a truncated copy must carry…
_MIN_SHARED_CHARS = 300  # …unless it carries this much of its text verbatim (an excerpt of a long article)
_NOVEL_BELOW = 0.5  # a paragraph whose shingles are at most this much in the earlier text is new
_MAX_CONTAINMENT_CANDIDATES = 20
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
    """The dedupe index over the database given to each call; holds only a signature cache between calls."""

    def __init__(
        self, *, near_threshold: float | None = None, containment_threshold: float | None = None
    ) -> None:
        self.near_threshold = NEAR_THRESHOLD if near_threshold is None else near_threshold
        self.containment_threshold = (
            CONTAINMENT_THRESHOLD if containment_threshold is None else containment_threshold
        )
        self.cache = idx.SignatureCache()

    # -- reading

    def check(
        self, session: Session, *, title: str, paragraphs: list[str], canonical_url: str | None = None
    ) -> Verdict:
        """The verdict for an article not stored yet.  Read-only."""
        return self._check(session, fingerprint(paragraphs, title), paragraphs, canonical_url)

    def _check(
        self, session: Session, fp: Fingerprint, paragraphs: list[str], canonical_url: str | None
    ) -> Verdict:
        if canonical_url:
            found = idx.find_by_url(session, canonical_url)
            if found is not None:
                return Verdict("duplicate", found, 1.0, "url", [])
        if not fp.key:
            return Verdict("new", None, 0.0, "none", [])
        exact = idx.find_by_text_hash(session, fp.text_hash)
        if exact:
            stored = idx.load_articles(session, exact, self.cache)
            originals = [i for i in exact if stored[i].verdict != "duplicate"] if stored else []
            return Verdict("duplicate", (originals or exact)[0], 1.0, "exact", [])
        match, best = self._best_match(session, fp)
        if match is None:
            return Verdict("new", None, round(best, 4), "none", [])
        new_paragraphs = self._new_paragraphs(session, fp, paragraphs, match.article_id)
        kind = "update" if new_paragraphs else "duplicate"
        return Verdict(kind, match.article_id, round(match.similarity, 4), match.layer, new_paragraphs)

    def _best_match(self, session: Session, fp: Fingerprint) -> tuple[_Match | None, float]:
        """The earlier article this one repeats, if any, and the best similarity seen."""
        near: dict[int, float] = {}
        if fp.signature:
            candidates = idx.band_candidates(session, fp.bands)
            stored = idx.load_articles(session, candidates, self.cache)
            near = {i: similarity(fp.signature, a.signature) for i, a in stored.items() if a.signature}
        contained: dict[int, float] = {}
        hashes = fp.paragraph_hashes
        matches = idx.paragraph_matches(session, hashes) if hashes else {}
        if matches:
            # Only the earlier articles sharing the most paragraphs are worth a closer look.
            top = sorted(matches, key=lambda a: (-len(matches[a]), a))[:_MAX_CONTAINMENT_CANDIDATES]
            theirs_all = idx.paragraph_sets(session, top)
            # Paragraphs that several stories share are site boilerplate: they identify no story.
            common = idx.common_paragraphs(session, set().union(*theirs_all.values()))
            weights = {h: w for h, w in _paragraph_weights(fp).items() if h not in common}
            total = sum(weights.values())
            for article_id in top:
                shared = matches[article_id] - common
                theirs_set = theirs_all.get(article_id, set()) - common
                if not shared or not total or not theirs_set:
                    continue
                shared_chars = sum(weights[h] for h in shared)
                mine = shared_chars / total  # this article's text known there (truncation)
                theirs = len(shared) / len(theirs_set)  # that article's paragraphs found here (update)
                # A truncated copy must still carry a fair part of the earlier article, or a short text that
                # shares one long paragraph would pass as its copy; an excerpt of a long article carries
                # a small part of it, but several paragraphs' worth, word for word.
                is_excerpt = theirs >= _MIN_THEIRS or shared_chars >= _MIN_SHARED_CHARS
                if is_excerpt and mine < self.containment_threshold:
                    # Reposts re-wrap paragraphs (a page-break repair here, a split there), so whole-paragraph
                    # hashes undercount; measure the text itself against the earlier article's text.
                    mine = max(mine, self._text_containment(session, fp, article_id))
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
            return None, best_seen
        # Near matches outrank containment; ties go to the earlier article, and a repost of a repost points at
        # the original when the original matches as well.
        scored.sort(key=lambda m: (m.layer != "near", -round(m.similarity, 2), m.article_id))
        best = scored[0]
        stored = idx.load_articles(session, [best.article_id], self.cache)
        root = stored[best.article_id].duplicate_of_id if best.article_id in stored else None
        if (
            stored.get(best.article_id)
            and stored[best.article_id].verdict == "duplicate"
            and root is not None
        ):
            for m in scored:
                if m.article_id == root:
                    return m, best_seen
        return best, best_seen

    def _text_containment(self, session: Session, fp: Fingerprint, article_id: int) -> float:
        """Share of this article's shingles found in an earlier article's text (0 when its body is purged)."""
        body = session.execute(select(Article.body).where(Article.id == article_id)).scalar()
        if not body:
            return 0.0
        return containment(fp.key, shingle_set(fingerprint(body.split("\n")).key))

    def _new_paragraphs(
        self, session: Session, fp: Fingerprint, paragraphs: list[str], of_id: int
    ) -> list[int]:
        """Indexes of substantial paragraphs that the earlier article does not have."""
        known = idx.paragraph_hashes_of(session, of_id)
        candidates = [
            i
            for i, key in enumerate(fp.paragraph_keys)
            if len(key) >= MIN_NEW_PARAGRAPH
            and paragraph_hash(key) not in known
            and _PROSE_RE.search(paragraphs[i] if i < len(paragraphs) else "")
        ]
        if not candidates:
            return []
        body = session.execute(select(Article.body).where(Article.id == of_id)).scalar()
        if not body:  # body purged: the paragraph hashes are all we have
            return candidates
        earlier = shingle_set(fingerprint(body.split("\n")).key)
        return [i for i in candidates if containment(fp.paragraph_keys[i], earlier) <= _NOVEL_BELOW]

    # -- writing

    def ingest(self, session: Session, article: Article, paragraphs: list[str]) -> Verdict:
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
            idx.write_rows(session, article.id, fp.bands, fp.paragraph_hashes)
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

    def rebuild(self, session: Session) -> int:
        """Recompute fingerprints and index rows from stored articles; returns the number of articles indexed.

        Articles whose body was purged keep their stored signature (its bands are rewritten) and their paragraph
        rows, since neither can be recomputed without the text.
        """
        purged = list(session.execute(select(Article.id).where(Article.body == "")).scalars())
        idx.delete_rows(session, keep_paragraphs_of=purged)
        self.cache.clear()
        ids = list(session.execute(select(Article.id).order_by(Article.id)).scalars())
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            articles = session.execute(select(Article).where(Article.id.in_(batch))).scalars()  # type: ignore[union-attr]
            for article in sorted(articles, key=lambda a: a.id or 0):
                self._reindex(session, article)
        count = len(ids)
        session.flush()
        log.info("dedupe index rebuilt articles=%d bands=%d", count, _count_bands(session))
        return count

    def _reindex(self, session: Session, article: Article) -> None:
        if article.body:
            fp = fingerprint(article.body.split("\n"), article.title)
            article.text_hash, article.signature = fp.text_hash, fp.signature
            session.add(article)
            bands, hashes = fp.bands, fp.paragraph_hashes
        else:
            bands = Fingerprint("", "", article.signature, []).bands if article.signature else []
            hashes = []
        # As in ingest(): exact copies (similarity 1.0 duplicates) add no rows.
        if article.verdict != "duplicate" or article.similarity is None or article.similarity < 1.0:
            idx.write_rows(session, article.id or 0, bands, hashes)


def index_seed_articles(session: Session, index: DedupeIndex, seeds_dir: Path) -> dict[int, str]:
    """Index every seed article of ``seeds_dir`` (no classification); returns Article.id → "<file stem>#<index>"."""
    try:
        from ingest.split import split_seed_document
    except ImportError:  # the splitter not there yet: one article per file
        split_seed_document = None  # type: ignore[assignment]
    names: dict[int, str] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if split_seed_document is not None:
            parts = [(s.index, s.title, list(s.paragraphs)) for s in split_seed_document(text)]
        else:
            parts = [(0, path.stem, [p.strip() for p in text.splitlines() if p.strip()])]
        for i, title, paragraphs in parts:
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
            index.ingest(session, article, paragraphs)
            names[article.id or 0] = ref
    return names


def _paragraph_weights(fp: Fingerprint) -> dict[int, int]:
    """Paragraph hash → characters of key it stands for (a repeated paragraph counts once)."""
    weights: dict[int, int] = {}
    for key in fp.paragraph_keys:
        if len(key) >= MIN_PARAGRAPH_KEY:
            weights[paragraph_hash(key)] = len(key)
    return weights


def _count_bands(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LshBand)).scalar() or 0)
