"""Classify an article into the 343 clusters, with evidence, and score its relevance to Xuzhou and to
development.

How a cluster becomes a topic (clusters-343.md): the article has to report on the industry — terms and named
companies or projects, repeated over several sentences or put in the title.  Evidence from a sentence that
runs through several clusters ("工程机械、绿色低碳能源、新材料三大优势…", a row of growth figures, a list of
companies on the rostrum) is shared out among them, and a cluster's own category name inside such a list
counts only as a mention.

A sentence that reports something concrete — money, an output or a capacity with its unit ("总投资18亿元的碳化硅
外延项目", "年产铸件8万吨") — is what clusters-343.md calls substantive: in project round-ups each project gets
one such sentence, so its main cluster gets a bonus and full coverage credit from it.

A project's stage (签约, 开工, 投产…) is substance too.  A family head (…电池, …储能, …机械) also counts at the end
of a compound the lexicon does not list (固态电池), unless the word before it names another industry (风电|装备).
A cluster named as a customer or an application (用于工程机械, 工程机械用高强钢, 供应…厂商) keeps a quarter of its
weight: it is a mention.  Repost furniture (上一篇, related-news links) is dropped before matching, and news that is
not about development (a contest, a drill) has no topics.  docs/classification.md has the whole recipe.

Relevance to Xuzhou is read from place names; an article from a Xuzhou outlet often names no place at all
(我市, 全市, 本报讯), so callers that know the source is a Xuzhou outlet pass `home=True` and those words count.
"""

from __future__ import annotations

import itertools
import logging
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ingest.classify.lexicon import (
    AGAINST,
    CLUSTER_IDS,
    DEVELOPMENT,
    HOME,
    OTHER_CITY,
    XUZHOU,
    Lexicon,
    Match,
    TermMatcher,
    load_lexicon,
)
from ingest.extract import is_footer_start, is_furniture, is_tail_start
from ingest.normalize import normalize_text

log = logging.getLogger(__name__)

Method = Literal["fast", "jieba"]

TITLE_FACTOR = 2.5  # a term in the title says more about the topic than one in the body
TOPIC_THRESHOLD = 6.0  # effective score at which a cluster is a topic; scores are s / (s + threshold)
MENTION_MIN = 2.5  # raw evidence below this (a lone 数据, 材料, one 光伏 or 网店) is not even a mention
DOMINANCE = 0.2  # a cluster far weaker than the article's main one is only mentioned
LIST_CLUSTERS = 3  # a sentence touching this many clusters is an enumeration
LIST_MIN_WEIGHT = 1.0  # weak words (数据, 材料) do not make a sentence a list
SPREAD_BASE, SPREAD_STEP = 0.5, 0.25  # one sentence counts 0.75 of its weight, two or more in full
TERM_COUNT_CAP = 4  # repetitions beyond this add nothing (a company name on every line)
RELEVANCE_CAP = 3
XUZHOU_PRIOR, DEVELOPMENT_PRIOR = 2.0, 4.0
FIGURE_BONUS = 3.0  # added to the main cluster of a non-list sentence that carries money or an output figure
FIGURE_MIN = 2.0  # …when that cluster has a real term there (not a lone weak word)

# Money ("总投资18亿元", "出口额96亿元") or an output or capacity with its unit ("年产铸件8万吨", "产能30GWh").
# Percentages are not enough ("增长6.8%" is in every row of growth figures, "销售收入增长50%" says nothing of
# what is sold), nor is a product's rating ("800吨履带起重机" on a building site).
_FIGURE_RE = re.compile(
    r"\d[\d.,]*\s*(?:多|余)?\s*(?:万亿|亿|万|千)?\s*(?:元|美元)"
    r"|(?:年产|产能|产量|年加工|加工能力|出口|装机|交付|年销)[^。；，,%]{0,12}?"
    r"\d[\d.,]*\s*(?:多|余)?\s*(?:万|千|百)?\s*(?:吨|台|套|件|片|只|辆|头|羽|千瓦|兆瓦|瓦|(?i:gwh|gw|mwh|mw))"
    # An energy or power capacity is specific enough without a verb before it ("1.2GWh", "100兆瓦时").
    r"|\d[\d.,]*\s*(?:(?i:gwh|mwh|gw)|兆瓦时|吉瓦时|吉瓦)"
)
# A cluster named as a customer or an application is a mention, not a topic (clusters-343.md): the phrase runs
# from the marker to the end of the clause, or to the 的 that closes a modifier ("面向矿山的挖掘机" is about
# excavators).  "供应链" and "供应商" are not markers.
_APPLICATION_RE = re.compile(
    r"(?:用于|应用于|运用于|适用于|广泛应用|面向|服务于|供应(?!链|商)|供货给|提供给|销往|下游|开拓|进军|打入|满足"
    r"|通过(?=[^，。；,;]{1,12}认证)|进入(?=[^，。；,;]{1,16}供应链))"
    r"[^，。；,;！？!?的]*"
)
APPLICATION_SHARE = 0.25  # what a term in such a phrase still weighs
# A project's stage (签约, 开工, 投产, 下线…) is what clusters-343.md calls an event: a sentence with one reports
# on the industry it names, like a figure does.
_STAGE = r"签约|签订|开工|投产|达产|竣工|下线|落户|落地|并网|量产|奠基|扩产|试产|试运行|启动运行|首发|交付"
_SUBSTANCE_RE = re.compile(f"{_STAGE}|{_FIGURE_RE.pattern}")

_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")


@dataclass(frozen=True)
class Evidence:
    term: str  # as the lexicon spells it (TOPCon, GWh, ICT产业)
    count: int
    in_title: int  # how many of the occurrences are in the title
    kind: str  # name | terms | entities | families | negative
    weight: float  # contribution to the raw score


@dataclass
class Classification:
    clusters: list[str]
    mentions: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[tuple[str, int]]]
    xuzhou: float
    development: float
    details: dict[str, list[Evidence]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict:
        return {
            "clusters": list(self.clusters),
            "mentions": list(self.mentions),
            "scores": dict(self.scores),
            "evidence": {cid: [[term, count] for term, count in ev] for cid, ev in self.evidence.items()},
            "xuzhou": self.xuzhou,
            "development": self.development,
        }


@dataclass
class _Sentence:
    in_title: bool
    matches: list[Match]
    has_figure: bool = False
    applied: set[int] = field(default_factory=set)  # starts of matches inside a customer/application phrase


def find_by_sentence(matcher: TermMatcher, title: str, body: str, method: Method = "fast") -> list[_Sentence]:
    """The title, then each body sentence, with the terms found in it.  The body is matched in one pass
    (one regex scan instead of one per sentence) and the matches are dealt out to sentences by offset."""
    out = []
    if title:
        found = _find(matcher, title, method)
        out.append(_Sentence(True, found, bool(_SUBSTANCE_RE.search(title)), _applied(title, found)))
    spans = [(m.start(), m.end()) for m in _SENTENCE_RE.finditer(body) if m.group().strip()]
    sentences = [_Sentence(False, []) for _ in spans]
    starts = [start for start, _ in spans]
    found = _find(matcher, body, method)
    applied = _applied(body, found)
    for match in found:
        i = bisect_right(starts, match.start) - 1
        if i >= 0 and match.start < spans[i][1]:
            sentences[i].matches.append(match)
            if match.start in applied:
                sentences[i].applied.add(match.start)
    for sentence, (a, b) in zip(sentences, spans, strict=True):
        if sentence.matches:  # only sentences with terms can give a cluster substance
            sentence.has_figure = bool(_SUBSTANCE_RE.search(body, a, b))
    return out + sentences


def article_text(text: str) -> str:
    """The text without the page furniture a repost carries (breadcrumbs, 上一篇/下一篇, share bars, and the
    related-news links after the article), whose headlines would otherwise count as the article's topics."""
    lines = text.split("\n")
    kept = []
    for i, line in enumerate(lines):
        key = line.strip().replace(" ", "")
        if is_footer_start(key) or (i >= len(lines) // 2 and is_tail_start(key)):
            break
        if not is_furniture(key):
            kept.append(line)
    return "\n".join(kept)


def _applied(text: str, matches: list[Match]) -> set[int]:
    """Starts of the matches that sit in a customer or application phrase (用于工程机械、风电等领域)."""
    if not matches:
        return set()
    # "工程机械用高强钢", "光伏用银浆": a term, 用, and the product's term right after it.
    out = {a.start for a, b in itertools.pairwise(matches) if b.start == a.end + 1 and text[a.end] == "用"}
    spans = [(m.start(), m.end()) for m in _APPLICATION_RE.finditer(text)]
    if not spans:
        return out
    starts = [a for a, _ in spans]
    for match in matches:
        i = bisect_right(starts, match.start) - 1
        if i >= 0 and match.start < spans[i][1]:
            out.add(match.start)
    return out


def classify(
    title: str, text: str, lexicon: Lexicon | None = None, *, method: Method = "fast", home: bool = False
) -> Classification:
    """Classify one article.  `method="jieba"` finds terms by full jieba segmentation (the reference the
    bench compares the default trie matcher against).  `home=True` says the article comes from a Xuzhou
    outlet, so that 我市/全市/本报讯 count as Xuzhou (other cities named in the text still count against)."""
    lexicon = lexicon or load_lexicon()
    title, text = normalize_text(title), normalize_text(text)
    text = article_text(text)
    found = find_by_sentence(lexicon.cluster_matcher, title, text, method)

    raw: dict[str, float] = defaultdict(float)
    named: set[str] = set()
    spread: dict[str, int] = defaultdict(int)
    counts: dict[str, dict[str, list]] = defaultdict(dict)  # cid -> term -> [count, in_title, kind, weight]
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for sentence in found:
        matches = sentence.matches
        touched = {
            e.section
            for m in matches
            for e in lexicon.cluster_matcher.entries[m.term]
            if e.kind != "negative" and e.weight >= LIST_MIN_WEIGHT
        }
        if not matches:
            continue
        is_list = len(touched) >= LIST_CLUSTERS
        share = 1.0 / (len(touched) - 1) if is_list else 1.0
        factor = TITLE_FACTOR if sentence.in_title else 1.0
        gained: dict[str, float] = defaultdict(float)
        previous: Match | None = None
        for m in matches:
            modifier = _modifier_clusters(lexicon, previous, m)
            previous = m
            for e in lexicon.cluster_matcher.entries[m.term]:
                cid = e.section
                if e.kind == "families" and modifier and cid not in modifier:
                    continue  # 风电|装备 is wind equipment, not machinery: the modifier names the industry
                seen[(cid, m.term)] += 1
                capped = seen[(cid, m.term)] > TERM_COUNT_CAP
                if e.kind == "negative":
                    weight = -e.weight
                elif e.kind == "name":
                    named.add(cid)
                    weight = 0.0 if is_list else e.weight * factor
                else:
                    weight = e.weight * factor * share
                if m.start in sentence.applied and e.kind != "negative":
                    weight *= APPLICATION_SHARE
                if capped:
                    weight = 0.0
                _add(counts[cid], m.term, sentence.in_title, e.kind, weight)
                raw[cid] += weight
                gained[cid] += weight
        for cid, weight in gained.items():
            # A sentence counts as coverage only with a real term in it, not a lone weak word.
            if weight >= LIST_MIN_WEIGHT:
                spread[cid] += 1
        if sentence.has_figure and not is_list and gained:
            # One concrete sentence (a project with its investment, an output figure) is substantive
            # coverage of the sentence's main cluster, not of industries it names as customers.
            best = max(gained.values())
            for cid, weight in gained.items():
                if weight >= FIGURE_MIN and weight == best:
                    raw[cid] += FIGURE_BONUS
                    spread[cid] += 1

    effective = {
        cid: max(0.0, raw[cid]) * min(1.0, SPREAD_BASE + SPREAD_STEP * spread[cid]) for cid in CLUSTER_IDS
    }
    top = max(effective.values(), default=0.0)
    xuzhou, development = _relevance(lexicon, title, text, method, effective, home)
    # News that is not about development (a contest, a drill, a festival) reports on no industry, whatever
    # words it uses (clusters-343.md: sports, tourism… are none); the industry's words there are mentions.
    clusters = [
        cid
        for cid in CLUSTER_IDS
        if effective[cid] >= TOPIC_THRESHOLD and effective[cid] >= DOMINANCE * top and development >= 0.5
    ]
    mentions = [
        cid
        for cid in CLUSTER_IDS
        if cid not in clusters and (cid in named or _positive_evidence(counts[cid]) >= MENTION_MIN)
    ]
    details = {cid: _evidence(counts[cid], lexicon.display) for cid in CLUSTER_IDS if counts[cid]}
    return Classification(
        clusters=clusters,
        mentions=mentions,
        scores={cid: round(effective[cid] / (effective[cid] + TOPIC_THRESHOLD), 3) for cid in CLUSTER_IDS},
        evidence={cid: [(ev.term, ev.count) for ev in evs] for cid, evs in details.items()},
        xuzhou=xuzhou,
        development=development,
        details=details,
    )


def _modifier_clusters(lexicon: Lexicon, previous: Match | None, match: Match) -> set[str]:
    """The clusters of the term written right before `match` (its modifier, in a compound), if any."""
    if previous is None or previous.end != match.start:
        return set()
    return {e.section for e in lexicon.cluster_matcher.entries[previous.term] if e.kind != "negative"}


def _find(matcher: TermMatcher, text: str, method: Method) -> list[Match]:
    return matcher.find_with_jieba(text) if method == "jieba" else matcher.find(text)


def _add(table: dict[str, list], term: str, in_title: bool, kind: str, weight: float) -> None:
    row = table.setdefault(term, [0, 0, kind, 0.0])
    row[0] += 1
    row[1] += int(in_title)
    row[3] += weight


def _positive_evidence(table: dict[str, list]) -> float:
    # List-shared weight: a term named among several industries ("覆盖工程机械、光伏、纺织等行业") is too
    # weak on its own to be a mention; a category name there is one (`named`).
    return sum(row[3] for row in table.values() if row[2] != "negative")


def _evidence(table: dict[str, list], display: Mapping[str, str]) -> list[Evidence]:
    # Matching is case-folded; evidence (explain, the digest's "why" line) uses the lexicon's spelling.
    evs = [
        Evidence(display.get(term, term), row[0], row[1], row[2], round(row[3], 3))
        for term, row in table.items()
    ]
    return sorted(evs, key=lambda ev: (-ev.weight, -ev.count, ev.term))


def _relevance(
    lexicon: Lexicon, title: str, text: str, method: Method, effective: dict[str, float], home: bool
) -> tuple[float, float]:
    matcher = lexicon.relevance_matcher
    totals: dict[str, float] = defaultdict(float)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for in_title, part in ((True, title), (False, text)):
        factor = 2.0 if in_title else 1.0
        # Relevance words (企业, 项目, 徐州…) are frequent and rarely ambiguous: skip the jieba check here.
        found = matcher.find(part, verify=False) if method == "fast" else matcher.find_with_jieba(part)
        for m in found:
            for e in matcher.entries[m.term]:
                seen[(e.section, m.term)] += 1
                if seen[(e.section, m.term)] <= RELEVANCE_CAP:
                    totals[e.section] += e.weight * factor
    xz, other = totals[XUZHOU] + (totals[HOME] if home else 0.0), totals[OTHER_CITY]
    xuzhou = xz / (xz + other + XUZHOU_PRIOR) if xz else 0.0
    industry = min(sum(effective.values()), 12.0) / 2
    dev = totals[DEVELOPMENT] + industry
    development = dev / (dev + 2 * totals[AGAINST] + DEVELOPMENT_PRIOR) if dev else 0.0
    return round(xuzhou, 3), round(development, 3)
