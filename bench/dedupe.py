"""Dedupe quality on the calibration set: precision, recall and F1 per transformation and overall.

    .venv/bin/python -m bench.dedupe              # the default thresholds
    .venv/bin/python -m bench.dedupe --sweep      # near × containment threshold grid
    .venv/bin/python -m bench.dedupe --compare    # MinHash vs SimHash as near-duplicate signatures

The seeds are indexed, then the calibration bases (tests/gold/dedupe_calibration.jsonl, role "base"); every probe
is then checked read-only against that index.  A probe that copies a base counts as a true positive when its
verdict is not "new" and it points at that base; pointing at another article is a false positive and a false
negative.  Hard negatives ("same_event", "shared_boilerplate") count a false positive for any non-"new" verdict.
Bases themselves must come out "new" (a "base" row).  "verdict ok" is the share of true positives whose kind
(duplicate vs update) is right; "new ¶ ok" the share of updates whose new paragraphs are exactly the added ones.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import func, select

from bench.simhash import hamming, simhash
from ingest.dedupe.fingerprint import fingerprint, similarity
from ingest.dedupe.verdict import DedupeIndex, Verdict, index_seed_articles
from store.db import init_db, make_engine, session_scope
from store.models import Article, ChunkHash, LshBand
from tests.gold.dedupe_calibration import OUT, ROOT, load


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    n: int = 0
    kind_ok: int = 0
    paras_ok: int = 0
    updates: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


class Calibration:
    """The seeds and bases indexed once in a temporary SQLite database; probes checked against it."""

    def __init__(self, path: Path = OUT) -> None:
        self.items = load(path)
        self._tmp = tempfile.TemporaryDirectory(prefix="xznews-bench-")
        self.engine = make_engine(f"sqlite:///{Path(self._tmp.name) / 'bench.db'}")
        init_db(self.engine)
        self.names: dict[int, str] = {}
        self.base_verdicts: dict[str, Verdict] = {}
        index = DedupeIndex()
        with session_scope(self.engine) as session:
            self.names.update(index_seed_articles(session, index, ROOT / "seeds"))
            for item in self.items:
                if item["role"] != "base":
                    continue
                article = Article(
                    source_name="bench", title=str(item["title"]), body=str(item["text"]), text_hash=""
                )
                self.base_verdicts[str(item["id"])] = index.store_article(
                    session, article, _paragraphs(str(item["text"]))
                )
                self.names[article.id or 0] = str(item["id"])

    def score(self, near: float | None = None, containment: float | None = None) -> dict[str, Score]:
        index = DedupeIndex(near_threshold=near, containment_threshold=containment)
        scores: dict[str, Score] = defaultdict(Score)
        for item_id, verdict in self.base_verdicts.items():
            s = scores["base"]
            s.n += 1
            if verdict.verdict != "new":
                s.fp += 1
                s.errors.append(f"{item_id}: {verdict.verdict} of {self.names.get(verdict.of_id or 0)}")
        with session_scope(self.engine) as session:
            for item in self.items:
                if item["role"] != "probe":
                    continue
                paras = _paragraphs(str(item["text"]))
                v = index.check(session, title=str(item["title"]), paragraphs=paras)
                _tally(scores[str(item["transform"])], item, v, self.names.get(v.of_id or -1))
            session.rollback()
        return dict(scores)

    def close(self) -> None:
        self.engine.dispose()
        self._tmp.cleanup()


def _tally(s: Score, item: dict[str, object], v: Verdict, of_name: str | None) -> None:
    s.n += 1
    expect, want = item["expect"], item["of"]
    if expect == "new":
        if v.verdict != "new":
            s.fp += 1
            s.errors.append(f"{item['id']}: {v.verdict} of {of_name} ({v.layer} {v.similarity})")
        return
    if v.verdict != "new" and of_name == want:
        s.tp += 1
        s.kind_ok += v.verdict == expect
        if expect == "update":
            s.updates += 1
            s.paras_ok += v.new_paragraphs == item["new_paragraphs"]
        if v.verdict != expect:
            s.errors.append(f"{item['id']}: {v.verdict} (want {expect}) {v.new_paragraphs}")
        return
    s.fn += 1
    if v.verdict != "new":
        s.fp += 1
    s.errors.append(f"{item['id']}: {v.verdict} of {of_name} ({v.layer} {v.similarity})")


def overall(scores: dict[str, Score]) -> Score:
    total = Score()
    for s in scores.values():
        total.tp += s.tp
        total.fp += s.fp
        total.fn += s.fn
        total.n += s.n
        total.kind_ok += s.kind_ok
        total.paras_ok += s.paras_ok
        total.updates += s.updates
    return total


def print_table(scores: dict[str, Score]) -> None:
    print("| transformation | n | TP | FP | FN | precision | recall | F1 | verdict ok | new ¶ ok |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = sorted(scores.items()) + [("**overall**", overall(scores))]
    for name, s in rows:
        kind = f"{s.kind_ok}/{s.tp}" if s.tp else "-"
        paras = f"{s.paras_ok}/{s.updates}" if s.updates else "-"
        print(
            f"| {name} | {s.n} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} "
            f"| {kind} | {paras} |"
        )


def sweep(cal: Calibration, nears: Iterable[float], conts: Iterable[float]) -> None:
    conts = list(conts)
    print("F1 overall (precision/recall); rows: near threshold, columns: containment threshold")
    print("| near \\ containment | " + " | ".join(f"{c:.2f}" for c in conts) + " |")
    print("|---|" + "---:|" * len(conts))
    for n in nears:
        cells = []
        for c in conts:
            o = overall(cal.score(n, c))
            cells.append(f"{o.f1:.3f} ({o.precision:.2f}/{o.recall:.2f})")
        print(f"| {n:.2f} | " + " | ".join(cells) + " |")


def rows_per_article(cal: Calibration) -> str:
    """Index rows per stored article (seeds and bases): what the index costs at scale."""
    with session_scope(cal.engine) as session:
        n = session.exec(select(func.count()).select_from(Article)).one()
        bands = session.exec(select(func.count()).select_from(LshBand)).one()
        chunks = session.exec(select(func.count()).select_from(ChunkHash)).one()
    return f"index rows per stored article ({n}): {bands / n:.1f} LSH bands, {chunks / n:.2f} chunk hashes"


def compare(cal: Calibration) -> None:
    """Near-duplicate layer alone, brute force against every stored original: MinHash vs SimHash."""
    with session_scope(cal.engine) as session:
        stored = [(cal.names[a.id or 0], a.body) for a in session.exec(select(Article).order_by(Article.id))]
    t0 = time.perf_counter()
    fps = {name: fingerprint(body.split("\n")) for name, body in stored}
    originals = {name: (fp.signature, simhash(fp.key)) for name, fp in fps.items() if fp.signature}
    probes = [i for i in cal.items if i["role"] == "probe"]
    probe_fps = [(i, fingerprint(_paragraphs(str(i["text"])), str(i["title"]))) for i in probes]
    t_min = t_sim = 0.0
    rows_min: list[tuple[dict[str, object], str, float]] = []
    rows_sim: list[tuple[dict[str, object], str, int]] = []
    for item, fp in probe_fps:
        t0 = time.perf_counter()
        best_m = max(originals, key=lambda n: similarity(fp.signature or [], originals[n][0]))
        rows_min.append((item, best_m, similarity(fp.signature or [], originals[best_m][0])))
        t_min += time.perf_counter() - t0
        t0 = time.perf_counter()
        sh = simhash(fp.key)
        best_s = min(originals, key=lambda n: hamming(sh, originals[n][1]))
        rows_sim.append((item, best_s, hamming(sh, originals[best_s][1])))
        t_sim += time.perf_counter() - t0

    def f1_at(rows: list[tuple[dict[str, object], str, float]], hit: object) -> Score:
        s = Score()
        for item, best, score in rows:
            v = Verdict("duplicate" if hit(score) else "new", 0, 0.0, "near", [])
            _tally(s, item, v, best)
        return s

    print("MinHash (estimated Jaccard ≥ t), near layer only:")
    print("| t | precision | recall | F1 |\n|---:|---:|---:|---:|")
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        s = f1_at(rows_min, lambda x, t=t: x >= t)
        print(f"| {t:.1f} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |")
    print("SimHash 64-bit (Hamming distance ≤ d), near layer only:")
    print("| d | precision | recall | F1 |\n|---:|---:|---:|---:|")
    for d in (3, 6, 9, 12, 15, 18, 21, 24):
        s = f1_at(rows_sim, lambda x, d=d: x <= d)  # type: ignore[misc]
        print(f"| {d} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |")
    print(
        f"signature+compare time per probe: MinHash {1000 * t_min / len(probes):.2f} ms, "
        f"SimHash {1000 * t_sim / len(probes):.2f} ms (SimHash includes computing it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", action="store_true", help="print the near × containment threshold grid")
    parser.add_argument(
        "--compare", action="store_true", help="compare MinHash and SimHash on the near layer"
    )
    parser.add_argument("--errors", action="store_true", help="list the probes judged wrongly")
    parser.add_argument(
        "--near", type=float, default=None, help="near-duplicate threshold (default: the module's)"
    )
    parser.add_argument("--containment", type=float, default=None, help="containment threshold")
    args = parser.parse_args()
    t0 = time.perf_counter()
    cal = Calibration()
    try:
        if args.compare:
            compare(cal)
        elif args.sweep:
            sweep(cal, (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
        else:
            scores = cal.score(args.near, args.containment)
            print_table(scores)
            print(rows_per_article(cal))
            if args.errors:
                for name, s in sorted(scores.items()):
                    for e in s.errors:
                        print(f"  {name}: {e}")
    finally:
        cal.close()
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
