"""Recognise a site's CMS family from one of its pages, to suggest a `kind` for an unknown site.

Each family leaves marks in its markup: Hanweb its <datastore> and jpage scripts, Epoint its EWB-FRONT REST
paths and webBuilderCommon.js, TRS its createPageHTML() pager and TRS_Editor bodies, Founder-style e-papers
their <!--enpcontent--> markers and node_/content_ pages.  Other list mechanisms seen on Jiangsu portals are
reported too, so that `xznews sources check` can say what it found even where there is no adapter yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (family, weight, pattern). Weights: a mark only one CMS emits counts more than a common word.
_MARKS: tuple[tuple[str, int, re.Pattern[str]], ...] = tuple(
    (family, weight, re.compile(pattern, re.IGNORECASE))
    for family, weight, pattern in (
        ("hanweb", 3, r"<datastore>"),
        ("hanweb", 3, r"/module/web/jpage/"),
        ("hanweb", 2, r"\.jpage\(|jpage\.js"),
        ("hanweb", 2, r"<recordset>"),
        ("hanweb", 1, r"/col/col\d+/index\.html|/art/20\d\d/\d+/\d+/art_\d+_\d+\.html"),
        ("hanweb", 1, r"hanweb|大汉网络"),
        ("hanweb_xxgk", 3, r"module/xxgk/search\.jsp"),
        ("epoint", 3, r"EWB-FRONT"),
        ("epoint", 3, r"webBuilderCommon|EpointWebBuilder"),
        ("epoint", 2, r"module-items|ewb-"),
        ("epoint", 1, r"epoint|新点软件"),
        ("trs", 3, r"createPageHTML\s*\("),
        ("trs", 3, r"TRS_Editor|TRS_UEDITOR"),
        ("trs", 1, r"/t20\d{6}_[0-9a-z_]+\.s?html|\./t\d{5,12}\.s?html?"),
        ("trs", 1, r"_baidu\b|pubtime_baidu"),
        ("epaper", 3, r"<!--\s*enpcontent\s*-->|enpproperty"),
        ("epaper", 2, r"node_\d+\.html?"),
        ("epaper", 2, r"content_\d+\.html?"),
        ("epaper", 1, r"/pc/(?:layout|col|con)/20\d{4}/\d{2}/"),
        ("truecms", 3, r"getMessage\.do"),
        ("jpaas", 3, r"jpaas-publish-server"),
        ("rss", 5, r"<rss[\s>]|<rdf:RDF|<feed[^>]+http://www\.w3\.org/2005/Atom"),
    )
)
# Families with an adapter (a `kind`); the others are named for the operator but need a listpage config.
ADAPTER_FAMILIES = {"hanweb", "epoint", "trs", "epaper", "rss"}


@dataclass
class Sniffed:
    family: str | None  # best guess, or None
    scores: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # family → matched marks

    @property
    def kind(self) -> str:
        """The `kind` to put in sources.toml: the family's adapter, or the generic listpage."""
        return self.family if self.family in ADAPTER_FAMILIES else "listpage"


def sniff_family(page: str | bytes) -> Sniffed:
    """Score every family's marks in `page` and return the best (ties: the first listed)."""
    text = page.decode("utf-8", errors="replace") if isinstance(page, bytes) else page
    scores: dict[str, int] = {}
    evidence: dict[str, list[str]] = {}
    for family, weight, pattern in _MARKS:
        match = pattern.search(text)
        if match:
            scores[family] = scores.get(family, 0) + weight
            evidence.setdefault(family, []).append(match.group(0)[:60])
    if not scores:
        return Sniffed(None)
    best = max(scores, key=lambda f: scores[f])  # max keeps the first of equal scores
    return Sniffed(best if scores[best] >= 2 else None, scores, evidence)
