"""Project extraction quality and speed on a labelled set (tests/gold/projects.jsonl).

    .venv/bin/python bench/projects.py [--gold FILE] [--errors-fold 0|1] [--repeat N]

Project-level precision and recall: a predicted project matches a gold one of the same article when their
names share at least half of the shorter name's characters (one-to-one, best overlap first).  Over matched
projects: amount right (equal to 0.01 亿元, or both null), stage right, place right (both mapped to the
gazetteer's canonical names, so 徐州经开区 = 徐州经济技术开发区).  Printed for the whole set and for each fold
(fold = first integer of the id mod 2, see tests/gold/projects_PROVENANCE.md) and their mean; then articles per
second.  `--errors-fold N` lists the mistakes of fold N only, so the other fold stays unseen while tuning.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.normalize import normalize_text  # noqa: E402
from ingest.projects.extract import ProjectFact, char_overlap, extract_projects  # noqa: E402
from ingest.projects.places import load_gazetteer  # noqa: E402

GOLD = Path(__file__).resolve().parents[1] / "tests" / "gold" / "projects.jsonl"


@dataclass
class Scores:
    n_gold: int = 0
    n_pred: int = 0
    matched: int = 0
    amount: int = 0
    stage: int = 0
    place: int = 0

    @property
    def precision(self) -> float:
        return self.matched / self.n_pred if self.n_pred else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.n_gold if self.n_gold else 1.0

    def rate(self, n: int) -> float:
        return n / self.matched if self.matched else 0.0

    def row(self) -> dict[str, float]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "amount": self.rate(self.amount),
            "stage": self.rate(self.stage),
            "place": self.rate(self.place),
        }


def fold_of(item_id: str) -> int:
    m = re.search(r"\d+", item_id)
    return int(m.group()) % 2 if m else 0


def _key(name: str) -> str:
    return "".join(ch for ch in normalize_text(name or "") if ch.isalnum())


def names_match(a: str, b: str) -> float:
    ka, kb = _key(a), _key(b)
    overlap = char_overlap(ka, kb)
    return overlap if overlap >= 0.5 else 0.0


def match(gold: list[dict], pred: list[dict]) -> list[tuple[dict, dict]]:
    pairs = sorted(
        (
            (names_match(g["name"], p["name"]), gi, pi)
            for gi, g in enumerate(gold)
            for pi, p in enumerate(pred)
        ),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for overlap, gi, pi in pairs:
        if overlap and gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            out.append((gold[gi], pred[pi]))
    return out


def same_place(a: str | None, b: str | None) -> bool:
    gaz = load_gazetteer()
    ca = gaz.canonical(normalize_text(a)) if a else None
    cb = gaz.canonical(normalize_text(b)) if b else None
    return ca == cb


def same_amount(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 0.01)


def score(items: list[dict], predictions: dict[str, list[dict]], errors: list[str] | None = None) -> Scores:
    s = Scores()
    for item in items:
        gold, pred = item["projects"], predictions[item["id"]]
        s.n_gold += len(gold)
        s.n_pred += len(pred)
        pairs = match(gold, pred)
        s.matched += len(pairs)
        for g, p in pairs:
            ok_amount = same_amount(g["amount_yi"], p["amount_yi"])
            ok_stage = g["stage"] == p["stage"]
            ok_place = same_place(g["place"], p["place"])
            s.amount += ok_amount
            s.stage += ok_stage
            s.place += ok_place
            if errors is not None:
                for field, ok in (("amount_yi", ok_amount), ("stage", ok_stage), ("place", ok_place)):
                    if not ok:
                        errors.append(f"{item['id']} {g['name']}: {field} gold={g[field]} got={p[field]}")
        if errors is not None:
            hit_g = {id(g) for g, _ in pairs}
            hit_p = {id(p) for _, p in pairs}
            errors += [f"{item['id']} MISSED {g['name']}" for g in gold if id(g) not in hit_g]
            errors += [
                f"{item['id']} EXTRA {p['name']} ({p['evidence'][:60]})" for p in pred if id(p) not in hit_p
            ]
    return s


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def predict(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        facts: list[ProjectFact] = extract_projects(item["title"], item["text"])
        out[item["id"]] = [f.to_json() for f in facts]
    return out


def _print_row(label: str, row: dict[str, float], s: Scores | None = None) -> None:
    counts = f"  (gold {s.n_gold}, predicted {s.n_pred}, matched {s.matched})" if s else ""
    cells = "  ".join(f"{k} {v:.3f}" for k, v in row.items())
    print(f"{label:<10} {cells}{counts}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--errors-fold", type=int, choices=(0, 1), default=None)
    ap.add_argument("--errors", action="store_true", help="list the mistakes on the whole set")
    ap.add_argument("--repeat", type=int, default=5, help="rounds over the set for the speed figure")
    args = ap.parse_args(argv)
    items = load(args.gold)
    predictions = predict(items)  # also warms the caches (OpenCC, gazetteer, lexicon)
    rows = []
    for fold in (0, 1):
        part = [i for i in items if fold_of(i["id"]) == fold]
        s = score(part, predictions)
        rows.append(s.row())
        _print_row(f"fold {fold}", s.row(), s)
    _print_row("mean", {k: sum(r[k] for r in rows) / 2 for k in rows[0]})
    errors: list[str] = []
    whole = score(items, predictions, errors)
    _print_row("all", whole.row(), whole)
    start = time.perf_counter()
    for _ in range(args.repeat):
        predict(items)
    elapsed = time.perf_counter() - start
    print(
        f"speed      {len(items) * args.repeat / elapsed:.0f} articles/s ({len(items)} items x {args.repeat})"
    )
    if args.errors or args.errors_fold is not None:
        keep = {i["id"] for i in items if args.errors or fold_of(i["id"]) == args.errors_fold}
        for line in errors:
            if line.split()[0] in keep:
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
