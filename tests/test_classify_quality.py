"""Quality gate on the labelled set: fails when classification falls below the pinned floors.

Floors are what bench/classify.py reached when they were pinned, less a small margin.  Raise them as the
classifier improves; never lower them to make a change pass without saying why in the commit.

Two sets: classify.jsonl (short items written with the lexicon, a regression gate) and classify_holdout.jsonl
(article-length items written by someone who had not seen the lexicon; the honest measurement).  Holdout
figures before the changes made after it: micro-F1 0.907, exact 0.887, mention F1 0.737, Xuzhou 0.962.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.classify import load_gold, run, score
from ingest.classify.lexicon import CLUSTER_IDS

HOLDOUT = Path(__file__).resolve().parent / "gold" / "classify_holdout.jsonl"

FLOORS = {
    "micro_f1": 0.97,  # reached 0.996
    "macro_f1": 0.97,  # reached 0.997
    "exact": 0.95,  # reached 0.994
    "mention_f1": 0.80,  # reached 0.846
    "xuzhou_acc": 0.94,  # reached 0.968
    "development_acc": 0.97,  # reached 1.000
}
CLUSTER_F1_FLOOR = 0.90  # every cluster reached ≥ 0.97
AGREEMENT_FLOOR = 0.97  # fast path vs full jieba segmentation: 156/157 identical
XUZHOU_HOME_FLOOR = 0.95  # reached 0.987 with home=True (the items come from Xuzhou outlets, oc-* excepted)

HOLDOUT_FLOORS = {
    "micro_f1": 0.94,  # reached 0.970 (0.907 before the holdout-driven changes)
    "macro_f1": 0.93,  # reached 0.965
    "exact": 0.90,  # reached 0.943 (one item is 0.019)
    "mention_f1": 0.74,  # reached 0.800
    "xuzhou_acc": 0.92,  # reached 0.962 text-only (我市/全市 items need home=True)
    "xuzhou_home_acc": 0.96,  # reached 1.000
    "development_acc": 0.96,  # reached 1.000
}
HOLDOUT_CLUSTER_F1_FLOOR = 0.75  # lowest reached: steel 0.800 (3 items)


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return load_gold()


@pytest.fixture(scope="module")
def fast(gold):
    return run(gold, "fast")


def test_the_gold_set_is_big_enough_and_well_formed(gold):
    assert len(gold) >= 120
    assert len({g["id"] for g in gold}) == len(gold)
    for g in gold:
        assert set(g) == {"id", "title", "text", "clusters", "mentions", "xuzhou", "development"}, g["id"]
        assert set(g["clusters"]) <= set(CLUSTER_IDS) and set(g["mentions"]) <= set(CLUSTER_IDS), g["id"]
        assert not set(g["clusters"]) & set(g["mentions"]), g["id"]
    for cid in CLUSTER_IDS:
        assert sum(cid in g["clusters"] for g in gold) >= 8, cid
    assert sum(not g["clusters"] for g in gold) >= 20
    assert sum(not g["xuzhou"] for g in gold) >= 8 and sum(not g["development"] for g in gold) >= 8
    assert sum(g["id"].endswith("-hant") for g in gold) >= 10


def test_classification_stays_above_the_floors(gold, fast):
    scores = score(gold, fast)
    for name, floor in FLOORS.items():
        assert getattr(scores, name) >= floor, (name, getattr(scores, name))
    for cid, (_, _, f1, _) in scores.per_cluster.items():
        assert f1 >= CLUSTER_F1_FLOOR, (cid, f1)


def test_traditional_mirrors_classify_like_their_originals(gold, fast):
    by_id = {g["id"]: p for g, p in zip(gold, fast, strict=True)}
    for gid, result in by_id.items():
        if gid.endswith("-hant"):
            assert result.to_json() == by_id[gid.removesuffix("-hant")].to_json(), gid


def test_the_fast_matcher_agrees_with_jieba_segmentation(gold, fast):
    reference = run(gold, "jieba")
    same = sum(
        a.clusters == b.clusters and a.mentions == b.mentions for a, b in zip(fast, reference, strict=True)
    )
    assert same / len(gold) >= AGREEMENT_FLOOR


def test_the_gold_set_as_from_xuzhou_outlets(gold, fast):
    scores = score(gold, fast, run(gold, "fast", home=True))
    assert scores.xuzhou_home_acc >= XUZHOU_HOME_FLOOR, scores.xuzhou_home_acc


# ---------------------------------------------------------------------------------------------- holdout


@pytest.fixture(scope="module")
def holdout() -> list[dict]:
    return load_gold(HOLDOUT)


@pytest.fixture(scope="module")
def holdout_fast(holdout):
    return run(holdout, "fast")


def test_the_holdout_set_is_article_length_and_well_formed(holdout):
    assert len(holdout) >= 40
    assert len({g["id"] for g in holdout}) == len(holdout)
    for g in holdout:
        assert set(g) == {"id", "title", "text", "clusters", "mentions", "xuzhou", "development", "note"}, g[
            "id"
        ]
        assert set(g["clusters"]) <= set(CLUSTER_IDS) and set(g["mentions"]) <= set(CLUSTER_IDS), g["id"]
        assert not set(g["clusters"]) & set(g["mentions"]), g["id"]
        assert 400 <= len(re.findall(r"[\u3400-\u9fff]", g["text"])) <= 1500, g["id"]
    for cid in CLUSTER_IDS:
        assert sum(cid in g["clusters"] for g in holdout) >= 2, cid
    assert sum(not g["clusters"] for g in holdout) >= 8
    assert sum(not g["xuzhou"] for g in holdout) >= 4 and sum(not g["development"] for g in holdout) >= 4
    assert sum(g["id"].endswith("-hant") for g in holdout) >= 4


def test_holdout_classification_stays_above_the_floors(holdout, holdout_fast):
    scores = score(holdout, holdout_fast, run(holdout, "fast", home=True))
    for name, floor in HOLDOUT_FLOORS.items():
        assert getattr(scores, name) >= floor, (name, getattr(scores, name))
    for cid, (_, _, f1, _) in scores.per_cluster.items():
        assert f1 >= HOLDOUT_CLUSTER_F1_FLOOR, (cid, f1)


def test_holdout_traditional_mirrors_classify_like_their_originals(holdout, holdout_fast):
    by_id = {g["id"]: p for g, p in zip(holdout, holdout_fast, strict=True)}
    mirrors = [gid for gid in by_id if gid.endswith("-hant")]
    assert mirrors
    for gid in mirrors:
        assert by_id[gid].to_json() == by_id[gid.removesuffix("-hant")].to_json(), gid
