"""Stories as readers see them: one row per story (its first-stored article is its key), search, one story.

A story's key is the smallest article id among its copies: it never changes when copies (or an earlier
first publisher) arrive later, so links and Atom entry ids stay stable. The web pages, the feeds, the JSON API and
`xznews stories` all read through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import and_, exists, or_, select, text
from sqlalchemy.orm import aliased
from sqlmodel import Session

from alerts.clusters import cluster_info
from alerts.digest import lead_of
from alerts.query import And, Not, Query, Term, normalize_key
from ingest.dedupe import story_members
from ingest.normalize import to_simplified
from store import Article, search_ids, search_lookup

PER_PAGE = 20


@dataclass
class Filters:
    cluster: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Copy:
    id: int
    title: str
    url: str | None
    site: str
    source: str
    when: datetime | None
    verdict: str
    new_paragraphs: list[str] = field(default_factory=list)


@dataclass
class StoryRow:
    key: int
    title: str
    url: str | None
    source: str
    site: str
    when: datetime | None
    clusters: list[tuple[str, str]]  # (id, Chinese name)
    other_sites: int
    updated: bool
    lead: str
    snippets: list[Markup] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    xuzhou_score: float = 0.0
    development_score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "site": self.site,
            "published_at": self.when.isoformat() if self.when else None,
            "clusters": [cid for cid, _ in self.clusters],
            "other_sites": self.other_sites,
            "updated": self.updated,
            "lead": self.lead,
            "snippets": [Markup(s).striptags() for s in self.snippets],
        }


def _when(article: Article) -> datetime | None:
    return article.published_at or article.fetched_at


def _heads(filters: Filters):  # type: ignore[no-untyped-def]
    """SELECT of story-key articles (no earlier copy in their story) matching the filters, newest first."""
    earlier = aliased(Article)
    stmt = select(Article).where(
        or_(
            Article.story_id.is_(None),  # type: ignore[union-attr]
            ~exists().where(and_(earlier.story_id == Article.story_id, earlier.id < Article.id)),
        )
    )
    return _filtered(stmt, filters).order_by(Article.id.desc())  # type: ignore[union-attr]


def _filtered(stmt, filters: Filters):  # type: ignore[no-untyped-def]
    if filters.cluster:
        # Cluster ids are [a-z0-9_]: a LIKE on the JSON text works on both backends; "_" is escaped.
        needle = '%"' + filters.cluster.replace("_", r"\_") + '"%'
        stmt = stmt.where(text(r"CAST(articles.clusters AS TEXT) LIKE :cl ESCAPE '\'").bindparams(cl=needle))
    if filters.source:
        stmt = stmt.where(Article.source_name == filters.source)
    if filters.since:
        stmt = stmt.where(Article.fetched_at >= filters.since)
    if filters.until:
        stmt = stmt.where(Article.fetched_at < filters.until)
    return stmt


def list_stories(
    session: Session, filters: Filters, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[StoryRow], bool]:
    """A page of stories, newest first, and whether there is a next page."""
    stmt = _heads(filters).offset((page - 1) * per_page).limit(per_page + 1)
    heads = list(session.execute(stmt).scalars())
    return build_rows(session, heads[:per_page]), len(heads) > per_page


def build_rows(
    session: Session, heads: list[Article], snippets: dict[int, list[Markup]] | None = None
) -> list[StoryRow]:
    """Rows for story-key articles: first publisher, other sites, update mark; three queries whatever the count."""
    members = story_members(session, [a.story_id for a in heads if a.story_id is not None])
    rows = []
    for head in heads:
        copies = members.get(head.story_id, [head]) if head.story_id is not None else [head]
        copies = copies or [head]
        first = copies[0]  # story_members sorts first published first
        sites = {c.site or c.source_name for c in copies}
        rows.append(
            StoryRow(
                key=head.id,  # type: ignore[arg-type]
                title=first.title,
                url=first.url or first.canonical_url,
                source=first.source_name,
                site=first.site or first.source_name,
                when=_when(first),
                clusters=[(cid, cluster_info(cid).name_zh) for cid in first.clusters or head.clusters],
                other_sites=max(0, len(sites) - 1),
                updated=any(c.verdict == "update" for c in copies),
                lead=lead_of(first.body),
                snippets=(snippets or {}).get(head.id, []),  # type: ignore[arg-type]
                copies=[_copy(c) for c in copies],
                evidence=first.evidence or {},
                xuzhou_score=first.xuzhou_score,
                development_score=first.development_score,
            )
        )
    return rows


def _copy(article: Article) -> Copy:
    paragraphs = (article.body or "").split("\n")
    new = [paragraphs[i] for i in article.new_paragraphs or [] if 0 <= i < len(paragraphs)]
    return Copy(
        id=article.id,  # type: ignore[arg-type]
        title=article.title,
        url=article.url or article.canonical_url,
        site=article.site or article.source_name,
        source=article.source_name,
        when=_when(article),
        verdict=article.verdict,
        new_paragraphs=new,
    )


def story(session: Session, article_id: int) -> StoryRow | None:
    """The story an article belongs to (any copy's id finds it)."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    if article.story_id is not None:
        key = session.execute(
            select(Article).where(Article.story_id == article.story_id).order_by(Article.id).limit(1)  # type: ignore[union-attr]
        ).scalar_one()
        article = key
    return build_rows(session, [article])[0]


# ----------------------------------------------------------------------------------------------- search


def index_expr(query: Query, dialect: str = "sqlite") -> tuple | None:
    """The query as an index lookup that finds a superset of its matches; None when the index cannot narrow.

    A bare term looks for itself or any alias. An exclusion narrows only where the index is exact for it
    (then "found by the index" means "really there"); otherwise it is left to the matcher afterwards.
    """

    def term(node: Term) -> tuple[tuple | None, bool]:
        key = normalize_key(node.text)
        forms = [key] + ([] if node.phrase else list(query.lexicon.aliases_of(key)))
        lookups = [search_lookup(f) for f in dict.fromkeys(forms)]
        if any(lk is None for lk in lookups):
            return None, False
        exact = all(lk.exact(dialect) for lk in lookups)  # type: ignore[union-attr]
        terms = [("term", lk) for lk in lookups]
        return (terms[0] if len(terms) == 1 else ("or", terms)), exact

    def walk(node: Any) -> tuple[tuple | None, bool]:
        """(expression, exact)."""
        if isinstance(node, Term):
            return term(node)
        if isinstance(node, Not):
            inner, exact = walk(node.child)
            return (("not", inner) if inner is not None and exact else None), False
        parts = [walk(c) for c in node.children]
        exprs = [e for e, _ in parts]
        exact = all(x for _, x in parts) and all(e is not None for e in exprs)
        if isinstance(node, And):
            kept = [e for e in exprs if e is not None]
            if not any(e[0] != "not" for e in kept):
                return None, False  # only exclusions narrow nothing by themselves
            return (kept[0] if len(kept) == 1 else ("and", kept)), exact
        return (None if any(e is None for e in exprs) else ("or", exprs)), exact

    return walk(query.root)[0]


def _candidates(session: Session, expr: tuple | None, filters: Filters) -> Iterator[Article]:
    """Articles that may match, newest first, in growing keyset batches (most searches stop in the first)."""
    before: int | None = None
    size = 50
    while True:
        if expr is not None:
            ids = search_ids(session.connection(), expr, before, size)
            if not ids:
                return
            stmt = _filtered(select(Article).where(Article.id.in_(ids)), filters)  # type: ignore[union-attr]
        else:
            stmt = _filtered(select(Article), filters).limit(size)
            if before is not None:
                stmt = stmt.where(Article.id < before)  # type: ignore[operator]
            ids = []
        batch = list(session.execute(stmt.order_by(Article.id.desc())).scalars())  # type: ignore[union-attr]
        yield from batch
        if expr is None:
            if len(batch) < size:
                return
            ids = [batch[-1].id]  # type: ignore[list-item]
        if len(ids) < size:
            return
        before, size = ids[-1], min(size * 4, 2000)


def search_stories(
    session: Session, query: Query, filters: Filters, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[StoryRow], bool]:
    """Stories whose articles match `query`, newest first, with highlighted snippets of the hits."""
    expr = index_expr(query, session.connection().dialect.name)
    wanted = page * per_page + 1
    seen: dict[Any, Article] = {}
    snippets: dict[Any, list[Markup]] = {}
    for article in _candidates(session, expr, filters):
        story_key = article.story_id if article.story_id is not None else ("a", article.id)
        if story_key in seen:
            continue
        result = query.matches(article.title, article.body)
        if not result.matched:
            continue
        seen[story_key] = article
        needles = sorted({h.matched for h in result.hits}, key=len, reverse=True)
        snippets[story_key] = [
            mark_hits(h.snippet, needles) for h in _spread(result.hits, len(article.title))
        ]
        if len(seen) >= wanted:
            break
    keys = list(seen)[(page - 1) * per_page : page * per_page]
    heads = [_key_article(session, seen[k]) for k in keys]
    rows = build_rows(session, heads, {h.id: snippets[k] for h, k in zip(heads, keys, strict=True)})  # type: ignore[misc]
    return rows, len(seen) > page * per_page


def _spread(hits: list[Any], title_length: int, most: int = 2) -> list[Any]:
    """Hits worth a snippet: in the body (the title is shown anyway) unless only the title matched, apart."""
    body = [h for h in hits if h.start > title_length] or hits[:1]
    chosen: list[Any] = []
    for hit in body:
        if not chosen or hit.start >= chosen[-1].start + 30:
            chosen.append(hit)
        if len(chosen) == most:
            break
    return chosen


def mark_hits(snippet: str, needles: list[str]) -> Markup:
    """The snippet escaped, hits in <mark>: found by their normalized form, so 徐工 marks a traditional 徐工."""
    folded = to_simplified(snippet).lower()
    if len(folded) != len(snippet) or not needles:
        return Markup(escape(snippet))
    pattern = re.compile("|".join(re.escape(n) for n in needles if n))
    out, pos = [], 0
    for m in pattern.finditer(folded):
        out += [str(escape(snippet[pos : m.start()])), f"<mark>{escape(snippet[m.start() : m.end()])}</mark>"]
        pos = m.end()
    out.append(str(escape(snippet[pos:])))
    return Markup("".join(out))


def _key_article(session: Session, article: Article) -> Article:
    if article.story_id is None:
        return article
    return session.execute(
        select(Article).where(Article.story_id == article.story_id).order_by(Article.id).limit(1)  # type: ignore[union-attr]
    ).scalar_one()
