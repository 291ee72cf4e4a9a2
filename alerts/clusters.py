"""The 343 clusters as the digest shows them: id, tier, Chinese name, official order.

The lexicon (`ingest.classify.lexicon`) is the source of truth; if it cannot be loaded (no clusters.toml in a bare
checkout) the digest still groups and names clusters from the fixed table below, which is the city's
published list (docs/clusters-343.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

log = logging.getLogger(__name__)

TIER_NAMES = {"advantage": "优势产业集群", "emerging": "新兴产业集群", "characteristic": "特色产业集群"}
OTHER = "other"  # articles that pass the gate but belong to no cluster (subscriptions to "all")


@dataclass(frozen=True)
class ClusterInfo:
    id: str
    tier: str
    name_zh: str
    order: int

    @property
    def tier_zh(self) -> str:
        return TIER_NAMES.get(self.tier, "其他")


_FALLBACK = (
    ("engineering_machinery", "advantage", "工程机械"),
    ("green_energy", "advantage", "绿色低碳能源"),
    ("new_materials", "advantage", "新材料"),
    ("digital_economy", "emerging", "数字经济"),
    ("ic_ict", "emerging", "集成电路与ICT"),
    ("health", "emerging", "医药健康"),
    ("safety_emergency", "emerging", "安全应急"),
    ("steel", "characteristic", "精品钢材"),
    ("textiles", "characteristic", "高端纺织"),
    ("food_agri", "characteristic", "食品及农副产品加工"),
)
_OTHER_INFO = ClusterInfo(OTHER, "other", "其他", 99)


@cache
def cluster_table() -> dict[str, ClusterInfo]:
    """Clusters by id, in 343 order."""
    try:
        from ingest.classify import load_lexicon

        lexicon = load_lexicon()
        table = {c.id: ClusterInfo(c.id, c.tier, c.name_zh, c.order) for c in lexicon.clusters}
        if table:
            return dict(sorted(table.items(), key=lambda kv: kv[1].order))
    except Exception as exc:  # noqa: BLE001 - any lexicon problem falls back to the published list
        log.warning("lexicon unavailable, using the built-in cluster list: %s", exc)
    return {cid: ClusterInfo(cid, tier, name, i) for i, (cid, tier, name) in enumerate(_FALLBACK)}


def cluster_ids() -> list[str]:
    return list(cluster_table())


def cluster_info(cluster_id: str) -> ClusterInfo:
    return cluster_table().get(cluster_id, _OTHER_INFO)


def resolve_cluster(value: str) -> str | None:
    """The cluster id for an id or a Chinese name (`engineering_machinery` or `工程机械`); None if neither."""
    value = value.strip()
    table = cluster_table()
    if value in table:
        return value
    return next((c.id for c in table.values() if c.name_zh == value), None)
