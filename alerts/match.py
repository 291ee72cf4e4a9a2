"""Which stored articles a subscription wants, and why.

An article matches when it is alertable (passed its source's gate, not a duplicate), falls in the window
(fetched_at in (start, end]), is from one of the subscription's sources (if it names any), is about one of
its clusters (any of; [] = all; list-only mentions count only with include_mentions), and satisfies the
watched-keyword query on title + body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from store import Article, Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeywordHit:
    term: str
    matched: str
    snippet: str = ""


@dataclass
class Match:
    article: Article
    clusters: list[str]  # the clusters it is listed under, substantive first
    mention_only: list[str] = field(default_factory=list)  # of those, the ones only mentioned
    hits: list[KeywordHit] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # cluster → terms that put it there

    @property
    def highlight_terms(self) -> list[str]:
        terms = {h.matched for h in self.hits if h.matched} | {h.term for h in self.hits if h.term}
        return sorted(terms, key=len, reverse=True)


@lru_cache(maxsize=4096)
def compile_query(src: str) -> Any:
    from alerts.query import parse_query

    return parse_query(src)


def evidence_terms(evidence: Any, cluster: str, limit: int = 5) -> list[str]:
    """The terms that tied an article to a cluster, from Article.evidence in whichever shape it was stored.

    Accepted shapes: {cluster: [[term, count]…]} (what ingest.classify.clusters stores), {cluster: [term…]},
    {cluster: [{"term": …}…]}, {cluster: {"terms": […]}} or {cluster: {term: weight}}.
    """
    value = evidence.get(cluster) if isinstance(evidence, dict) else None
    if isinstance(value, dict):
        value = value.get("terms", value.get("matched", list(value)))
    terms: list[str] = []
    for item in value or []:
        if isinstance(item, dict):
            term = item.get("term") or item.get("text")
        elif isinstance(item, list | tuple):
            term = item[0] if item else None
        else:
            term = item
        if isinstance(term, str) and term and term not in terms:
            terms.append(term)
        if len(terms) >= limit:
            break
    return terms


class Matcher:
    """One subscription's filter, compiled once; `match` is called for every candidate article."""

    def __init__(self, sub: Subscription, cache: dict[tuple[str, int], Any] | None = None) -> None:
        self.clusters = set(sub.clusters)
        self.include_mentions = sub.include_mentions
        self.sources = set(sub.sources)
        self.keywords = sub.keywords or None
        self.query = compile_query(self.keywords) if self.keywords else None
        # Shared across subscriptions in one run: many subscribers watch the same query.
        self.cache = cache if cache is not None else {}

    def _clusters_of(self, article: Article) -> tuple[list[str], list[str]] | None:
        substantive = list(article.clusters or [])
        mentions = (
            [c for c in (article.mentions or []) if c not in substantive] if self.include_mentions else []
        )
        if not self.clusters:
            return substantive, mentions
        wanted = [c for c in substantive if c in self.clusters]
        wanted_mentions = [c for c in mentions if c in self.clusters]
        if not wanted and not wanted_mentions:
            return None
        return wanted, wanted_mentions

    def _keyword_hits(self, article: Article) -> list[KeywordHit] | None:
        if self.query is None or self.keywords is None:
            return []
        key = (self.keywords, article.id or id(article))
        result = self.cache.get(key)
        if result is None:
            result = self.query.matches(article.title or "", article.body or "")
            self.cache[key] = result
        if not result.matched:
            return None
        return [
            KeywordHit(
                str(getattr(h, "term", "")), str(getattr(h, "matched", "") or ""), getattr(h, "snippet", "")
            )
            for h in result.hits
        ]

    def match(self, article: Article) -> Match | None:
        if not article.alertable:
            return None
        if self.sources and article.source_name not in self.sources and article.site not in self.sources:
            return None
        clusters = self._clusters_of(article)
        if clusters is None:
            return None
        hits = self._keyword_hits(article)
        if hits is None:
            return None
        substantive, mentions = clusters
        listed = substantive + mentions
        evidence = {c: evidence_terms(article.evidence, c) for c in listed}
        return Match(article, listed, mentions, hits, evidence)


def candidate_articles(session: Session, start: datetime, end: datetime) -> list[Article]:
    """Alertable articles fetched in (start, end], oldest first."""
    stmt = (
        select(Article)
        .where(Article.alertable == True)  # noqa: E712 - SQL expression
        .where(col(Article.fetched_at) > start)
        .where(col(Article.fetched_at) <= end)
        .order_by(col(Article.fetched_at), col(Article.id))
    )
    return list(session.exec(stmt))


class ArticlePool:
    """Candidate articles shared by many subscriptions, indexed by cluster so each one scans only its own."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self.articles = list(articles)
        self._by_cluster: dict[str, list[int]] = {}
        self._by_mention: dict[str, list[int]] = {}
        for i, art in enumerate(self.articles):
            for c in art.clusters or []:
                self._by_cluster.setdefault(c, []).append(i)
            for c in art.mentions or []:
                self._by_mention.setdefault(c, []).append(i)

    def __iter__(self):  # noqa: ANN204
        return iter(self.articles)

    def __len__(self) -> int:
        return len(self.articles)

    def for_subscription(self, sub: Subscription) -> list[Article]:
        if not sub.clusters:
            return self.articles
        index: set[int] = set()
        for c in sub.clusters:
            index.update(self._by_cluster.get(c, ()))
            if sub.include_mentions:
                index.update(self._by_mention.get(c, ()))
        return [self.articles[i] for i in sorted(index)]


def match_articles(
    sub: Subscription,
    articles: Iterable[Article],
    start: datetime,
    end: datetime,
    cache: dict[tuple[str, int], Any] | None = None,
) -> list[Match]:
    """The matches among `articles` (a superset of the window, e.g. an ArticlePool shared by many)."""
    matcher = Matcher(sub, cache)
    out = []
    if isinstance(articles, ArticlePool):
        articles = articles.for_subscription(sub)
    for article in articles:
        if start < article.fetched_at <= end:
            found = matcher.match(article)
            if found is not None:
                out.append(found)
    return out


def articles_by_ids(session: Session, ids: Sequence[int]) -> list[Article]:
    if not ids:
        return []
    rows = {a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(list(ids))))}
    return [rows[i] for i in ids if i in rows]
