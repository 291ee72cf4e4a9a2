"""Quality gate on the calibration set (tests/gold/dedupe_calibration.jsonl): floors pinned below today's scores.

Today (python -m bench.dedupe): overall precision 1.000, recall 1.000, F1 1.000, every transformation's recall 1.0
(excerpt_rewrapped included: 0.60 with whole-paragraph hashes, 1.0 with content-defined chunks).  Raise the floors as the dedupe
improves; never lower them to pass.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.dedupe import Calibration, Score, overall
from tests.gold.dedupe_calibration import build_items, load

RECALL_FLOORS = {
    "header_footer": 1.0,
    "repost_lines": 1.0,
    "traditional": 1.0,
    "traditional_gloss": 1.0,
    "spam_links": 1.0,
    "truncated": 0.95,
    "excerpt_rewrapped": 0.95,
    "update": 0.95,
    "update_traditional": 0.95,
    "light_edit": 0.95,
    "combined": 0.95,
}


@pytest.fixture(scope="module")
def scores() -> Iterator[dict[str, Score]]:
    cal = Calibration()
    try:
        yield cal.score()
    finally:
        cal.close()


def test_the_calibration_file_is_what_the_generator_makes() -> None:
    assert load() == build_items()


def test_overall_precision_and_recall_stay_above_their_floors(scores: dict[str, Score]) -> None:
    total = overall(scores)
    assert total.precision >= 0.99, total
    assert total.recall >= 0.98, total


@pytest.mark.parametrize("transform", sorted(RECALL_FLOORS))
def test_each_transformation_is_found(scores: dict[str, Score], transform: str) -> None:
    s = scores[transform]
    assert s.recall >= RECALL_FLOORS[transform], s.errors
    assert s.fp == 0, s.errors


@pytest.mark.parametrize("transform", ["same_event", "shared_boilerplate", "base"])
def test_hard_negatives_stay_new(scores: dict[str, Score], transform: str) -> None:
    assert scores[transform].fp == 0, scores[transform].errors


def test_updates_are_told_from_duplicates_with_their_new_paragraphs(scores: dict[str, Score]) -> None:
    total = overall(scores)
    assert total.kind_ok / total.tp >= 0.97
    assert total.paras_ok / total.updates >= 0.9
