"""A digest: one subscription's matching articles in one window, folded by story and grouped for reading.

Copies of a story (Article.story_id) are folded into one item that says how many other sites published it
and links to the first publisher. Items are grouped by tier and cluster in the official 343 order; each
item carries why it matched (the cluster's evidence terms, the keyword hits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlmodel import Session, col, select

from alerts.clusters import OTHER, cluster_info, cluster_table
from alerts.match import Match
from alerts.projects import ProjectItem, project_items
from core.tz import SHANGHAI
from ingest.dedupe import sites_of, story_members
from store import Article, Story, Subscription

BRAND = "徐州产业动态"
_SENTENCE = re.compile(r"[^。！？!?；]*[。！？!?；]+[”’」』）)]?|[^。！？!?；]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
LEAD_MIN, LEAD_MAX = 70, 240
_MARK_STYLE = ' style="background:#fff1a8;color:inherit;padding:0 1px;"'


def one_line(text: str | None) -> str:
    """Text safe for a header or a single display line: control characters (CR/LF) become spaces."""
    return re.sub(r"\s{2,}", " ", _CONTROL.sub(" ", text or "")).strip()


@dataclass(frozen=True)
class StoryInfo:
    first_url: str | None
    sites: tuple[str, ...]  # every site that published the story, first publisher first


def load_stories(session: Session, articles: Iterable[Article]) -> dict[int, StoryInfo]:
    """Story facts for the stories of `articles`, in two queries whatever their number."""
    story_ids = sorted({a.story_id for a in articles if a.story_id is not None})
    if not story_ids:
        return {}
    firsts = {
        s.id: s.first_article_id for s in session.exec(select(Story).where(col(Story.id).in_(story_ids)))
    }
    out = {}
    for sid, copies in story_members(session, story_ids).items():
        first = next((a for a in copies if a.id == firsts.get(sid)), copies[0] if copies else None)
        out[sid] = StoryInfo(
            first.url or first.canonical_url if first else None, tuple(sites_of(copies, first))
        )
    return out


def lead_of(body: str) -> str:
    """The first two or three sentences, about a short paragraph's worth."""
    text = one_line(" ".join(p.strip() for p in (body or "").split("\n") if p.strip()))
    out = ""
    for count, sentence in enumerate(_SENTENCE.findall(text), start=1):
        out += sentence.strip()
        if len(out) >= LEAD_MIN or count >= 3:
            break
    if len(out) > LEAD_MAX:
        out = out[: LEAD_MAX - 1].rstrip() + "…"
    return out


def highlight(text: str, terms: Sequence[str]) -> Markup:
    """HTML-escape `text`, wrapping occurrences of `terms` (case-insensitive) in <mark>."""
    terms = [t for t in terms if t and t.strip()]
    if not terms:
        return Markup(escape(text))
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE
    )
    parts: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        parts.append(str(escape(text[pos : m.start()])))
        parts.append(f"<mark{_MARK_STYLE}>{escape(m.group())}</mark>")
        pos = m.end()
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))


def bracket(text: str, terms: Sequence[str]) -> str:
    """The plain-text twin of `highlight`: 【term】."""
    terms = [t for t in terms if t and t.strip()]
    if not terms:
        return text
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE
    )
    return pattern.sub(lambda m: f"【{m.group()}】", text)


@dataclass
class DigestItem:
    article_id: int
    title: str
    url: str | None
    source: str
    published: str  # "2026-11-22 09:30" in Asia/Shanghai, or ""
    lead: str
    lead_html: Markup
    lead_text: str
    is_update: bool
    also_sites: list[str]
    cluster: str
    why_clusters: list[tuple[str, list[str], bool]]  # (cluster name, evidence terms, mention only)
    keywords: list[str]
    extra_snippet: str = ""
    extra_snippet_html: Markup = field(default_factory=Markup)
    key: tuple | None = None  # set when cached: renderers may cache the item's fragments by it

    @property
    def also_count(self) -> int:
        return len(self.also_sites)


@dataclass
class DigestGroup:
    cluster: str
    name: str
    items: list[DigestItem]


@dataclass
class DigestTier:
    tier: str
    name: str
    groups: list[DigestGroup]


@dataclass
class Digest:
    subscription_id: int
    email: str
    date: str  # local date of the window end
    window_start: datetime
    window_end: datetime
    tiers: list[DigestTier]
    summary: str  # what the subscription watches, in one line
    unsubscribe_url: str = ""
    # Sources this subscription reads that need attention: a reader should know where coverage has a gap.
    source_notes: list[tuple[str, str]] = field(default_factory=list)  # (source name, reason)
    # Items left out by the per-digest cap (the newest are kept), and where a reader finds them all.
    more: int = 0
    more_url: str = ""
    projects: list[ProjectItem] = field(default_factory=list)  # 项目动态 (alerts/projects.py)

    @property
    def items(self) -> list[DigestItem]:
        return [i for t in self.tiers for g in t.groups for i in g.items]

    @property
    def count(self) -> int:
        return sum(len(g.items) for t in self.tiers for g in t.groups)

    @property
    def is_empty(self) -> bool:
        return self.count == 0 and not self.projects

    @property
    def article_ids(self) -> list[int]:
        return [i.article_id for i in self.items]

    @property
    def cluster_counts(self) -> list[tuple[str, int]]:
        counts = [(g.name, len(g.items)) for t in self.tiers for g in t.groups]
        return sorted(counts, key=lambda kv: -kv[1])  # stable: ties keep 343 order

    @property
    def subject(self) -> str:
        if self.is_empty:
            return one_line(f"{BRAND} {self.date} · 无新动态")
        top = " / ".join(f"{name} {n}" for name, n in self.cluster_counts[:3])
        return one_line(f"{BRAND} {self.date} · {self.count}条 · {top}")


def _primary_cluster(match: Match) -> str:
    substantive = [c for c in match.clusters if c not in match.mention_only]
    pool = substantive or match.clusters
    if not pool:
        return OTHER
    scores = match.article.scores or {}
    return max(pool, key=lambda c: (scores.get(c, 0.0), -cluster_info(c).order))


def _fold_stories(matches: Sequence[Match]) -> list[Match]:
    """One match per story: the newest alertable member (an update carries the latest facts)."""
    by_story: dict[object, Match] = {}
    for m in matches:
        key = m.article.story_id if m.article.story_id is not None else ("a", m.article.id)
        by_story[key] = m  # matches come oldest first, so the last one wins
    return list(by_story.values())


def _published(article: Article) -> str:
    when = article.published_at or None
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if when else ""


def item_key(match: Match) -> tuple:
    """Everything that makes one subscriber's item differ from another's for the same article."""
    hits = tuple(sorted({(h.term, h.matched, h.snippet) for h in match.hits}))
    return (match.article.id, tuple(match.clusters), tuple(match.mention_only), hits)


def build_item(match: Match, stories: dict[int, StoryInfo], cache: dict | None = None) -> DigestItem:
    """The item for a match; with `cache` (one dispatch round), built once per article and match shape."""
    if cache is not None:
        key = item_key(match)
        item = cache.get(key)
        if item is None:
            item = cache[key] = build_item(match, stories)
            item.key = key
        return item
    art = match.article
    story = stories.get(art.story_id) if art.story_id is not None else None
    own_site = art.site or art.source_name
    also = [s for s in (story.sites if story else ()) if s != own_site]
    terms = match.highlight_terms
    lead = lead_of(art.body)
    extra = ""
    for hit in match.hits:
        in_lead = any(t.lower() in lead.lower() for t in (hit.matched, hit.term) if t)
        if hit.snippet and not in_lead:
            extra = one_line(hit.snippet)
            break
    cluster = _primary_cluster(match)
    return DigestItem(
        article_id=art.id or 0,
        title=one_line(art.title) or "（无标题）",
        url=(story.first_url if story and story.first_url else None) or art.url or art.canonical_url,
        source=one_line(art.origin or art.source_name),
        published=_published(art),
        lead=lead,
        lead_html=highlight(lead, terms),
        lead_text=bracket(lead, terms),
        is_update=art.verdict == "update",
        also_sites=[one_line(s) for s in also],
        cluster=cluster,
        why_clusters=[
            (cluster_info(c).name_zh, match.evidence.get(c, []), c in match.mention_only)
            for c in match.clusters
        ],
        keywords=sorted({one_line(h.matched or h.term) for h in match.hits if h.matched or h.term}),
        extra_snippet=bracket(extra, terms),
        extra_snippet_html=highlight(extra, terms),
    )


def describe(sub: Subscription) -> str:
    every = set(cluster_table()) <= set(sub.clusters)
    clusters = (
        "全部产业集群"
        if every or not sub.clusters
        else "、".join(cluster_info(c).name_zh for c in sub.clusters)
    )
    parts = [clusters]
    if sub.keywords:
        parts.append(f"关键词：{sub.keywords}")
    if sub.sources:
        parts.append(f"来源：{'、'.join(sub.sources)}")
    if sub.frequency == "daily":
        parts.append(f"每日 {sub.at_time}")
    elif sub.frequency == "weekly":
        parts.append(f"每周{'一二三四五六日'[sub.weekday]} {sub.at_time}")
    else:
        parts.append("实时")
    return one_line("；".join(parts))


def reader_reason(flag: str) -> str:
    """The operator's flag (ingest.health.is_flagged), said briefly for a digest's reader."""
    if flag.startswith("failing"):
        return "近期连续抓取失败"
    if flag.startswith("silent"):
        return "较长时间未发现新文章"
    if "no article links" in flag:
        return "列表页未发现文章，网站可能已改版"
    return "抓取异常"


def compose(
    sub: Subscription,
    email: str,
    matches: Sequence[Match],
    stories: dict[int, StoryInfo],
    window_start: datetime,
    window_end: datetime,
    unsubscribe_url: str = "",
    item_cache: dict | None = None,
    source_notes: list[tuple[str, str]] | None = None,
    max_items: int | None = None,
) -> Digest:
    """The digest of `matches`; with `max_items`, only the newest that many (the rest counted in `more`)."""
    items = [build_item(m, stories, item_cache) for m in _fold_stories(matches)]
    more = 0
    if max_items is not None and len(items) > max_items:
        # A failing subscriber's window keeps growing: bound what one message carries.
        newest = sorted(items, key=lambda i: (i.published, i.article_id), reverse=True)[:max_items]
        keep = {id(i) for i in newest}
        more = len(items) - max_items
        items = [i for i in items if id(i) in keep]
    by_cluster: dict[str, list[DigestItem]] = {}
    for item in items:
        by_cluster.setdefault(item.cluster, []).append(item)
    tiers: dict[str, DigestTier] = {}
    for cid in sorted(by_cluster, key=lambda c: cluster_info(c).order):
        info = cluster_info(cid)
        group_items = sorted(by_cluster[cid], key=lambda i: i.published, reverse=True)
        tier = tiers.setdefault(info.tier, DigestTier(info.tier, info.tier_zh, []))
        tier.groups.append(DigestGroup(cid, info.name_zh, group_items))
    zone = ZoneInfo(sub.timezone or "Asia/Shanghai")
    return Digest(
        subscription_id=sub.id or 0,
        email=email,
        date=window_end.astimezone(zone).strftime("%Y-%m-%d"),
        window_start=window_start,
        window_end=window_end,
        tiers=list(tiers.values()),
        summary=describe(sub),
        unsubscribe_url=unsubscribe_url,
        source_notes=[(one_line(n), reader_reason(r)) for n, r in source_notes or []],
        more=more,
        projects=project_items(sub, window_start, window_end),
    )
