"""Classification quality and speed on the labelled set (tests/gold/classify.jsonl).

    .venv/bin/python bench/classify.py [--gold FILE] [--repeat N] [--errors]

The holdout set (tests/gold/classify_holdout.jsonl) was written by someone who had not seen the lexicon; run
it with `--gold tests/gold/classify_holdout.jsonl`.

Prints per-cluster precision/recall/F1, micro- and macro-F1, exact-set accuracy, mention F1, relevance
accuracy (threshold 0.5; Xuzhou also with home=True, as a Xuzhou outlet's articles are classified — the
labels say whether the news is Xuzhou's, so other-city items must stay below 0.5 there too), articles per second for the fast path (trie regex + jieba check on short terms)
and for the reference path (full jieba segmentation), and how often the two agree.  Speed is measured cold
(jieba window cache cleared each round) on the gold set and on the seed files, which have real lengths.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.classify.clusters import Classification, classify  # noqa: E402
from ingest.classify.lexicon import CLUSTER_IDS, clear_segmentation_cache, load_lexicon  # noqa: E402

GOLD = Path(__file__).resolve().parents[1] / "tests" / "gold" / "classify.jsonl"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@dataclass
class Scores:
    per_cluster: dict[str, tuple[float, float, float, int]]  # P, R, F1, support
    micro_f1: float
    macro_f1: float
    exact: float
    mention_f1: float
    xuzhou_acc: float
    development_acc: float
    xuzhou_home_acc: float | None = None


def load_gold(path: Path = GOLD) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(
    gold: list[dict], predicted: list[Classification], home: list[Classification] | None = None
) -> Scores:
    per = {}
    tp_all = fp_all = fn_all = 0
    for cid in CLUSTER_IDS:
        tp = sum(cid in g["clusters"] and cid in p.clusters for g, p in zip(gold, predicted, strict=True))
        fp = sum(cid not in g["clusters"] and cid in p.clusters for g, p in zip(gold, predicted, strict=True))
        fn = sum(cid in g["clusters"] and cid not in p.clusters for g, p in zip(gold, predicted, strict=True))
        per[cid] = (*_f1(tp, fp, fn), tp + fn)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    m_tp = sum(len(set(g["mentions"]) & set(p.mentions)) for g, p in zip(gold, predicted, strict=True))
    m_fp = sum(len(set(p.mentions) - set(g["mentions"])) for g, p in zip(gold, predicted, strict=True))
    m_fn = sum(len(set(g["mentions"]) - set(p.mentions)) for g, p in zip(gold, predicted, strict=True))
    n = len(gold)
    return Scores(
        per_cluster=per,
        micro_f1=_f1(tp_all, fp_all, fn_all)[2],
        macro_f1=sum(v[2] for v in per.values()) / len(per),
        exact=sum(set(g["clusters"]) == set(p.clusters) for g, p in zip(gold, predicted, strict=True)) / n,
        mention_f1=_f1(m_tp, m_fp, m_fn)[2],
        xuzhou_acc=sum(g["xuzhou"] == (p.xuzhou >= 0.5) for g, p in zip(gold, predicted, strict=True)) / n,
        development_acc=sum(
            g["development"] == (p.development >= 0.5) for g, p in zip(gold, predicted, strict=True)
        )
        / n,
        xuzhou_home_acc=None
        if home is None
        else sum(g["xuzhou"] == (p.xuzhou >= 0.5) for g, p in zip(gold, home, strict=True)) / n,
    )


def run(gold: list[dict], method: str, *, home: bool = False) -> list[Classification]:
    return [classify(g["title"], g["text"], method=method, home=home) for g in gold]


def timed(gold: list[dict], method: str, repeat: int) -> tuple[list[Classification], float]:
    run(gold, method)  # warm up: lexicon, regex, jieba dictionaries
    start = time.perf_counter()
    for _ in range(repeat):
        clear_segmentation_cache()
        predicted = run(gold, method)
    return predicted, len(gold) * repeat / (time.perf_counter() - start)


def print_scores(title: str, s: Scores) -> None:
    lexicon = load_lexicon()
    print(f"\n{title}")
    print(f"{'cluster':24} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}")
    for cid, (p, r, f, n) in s.per_cluster.items():
        print(f"{cid:24} {p:6.3f} {r:6.3f} {f:6.3f} {n:4d}   {lexicon.cluster(cid).name_zh}")
    print(f"micro-F1 {s.micro_f1:.3f}   macro-F1 {s.macro_f1:.3f}   exact-set accuracy {s.exact:.3f}")
    print(
        f"mention F1 {s.mention_f1:.3f}   xuzhou accuracy {s.xuzhou_acc:.3f}   development accuracy {s.development_acc:.3f}"
    )
    if s.xuzhou_home_acc is not None:
        print(f"xuzhou accuracy with home=True (as from a Xuzhou outlet) {s.xuzhou_home_acc:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--errors", action="store_true", help="list the items the fast path gets wrong")
    args = parser.parse_args()

    gold = load_gold(args.gold)
    chars = sum(len(g["title"]) + len(g["text"]) for g in gold)
    print(f"gold: {len(gold)} articles, {chars / len(gold):.0f} characters on average ({args.gold})")
    fast, fast_rate = timed(gold, "fast", args.repeat)
    ref, ref_rate = timed(gold, "jieba", max(1, args.repeat // 2))
    home = run(gold, "fast", home=True)
    print_scores("fast path (trie regex, jieba check on short terms)", score(gold, fast, home))
    print_scores("reference path (full jieba segmentation)", score(gold, ref))
    agree = sum(a.clusters == b.clusters and a.mentions == b.mentions for a, b in zip(fast, ref, strict=True))
    print(f"\nfast vs jieba: identical clusters and mentions on {agree}/{len(gold)} articles")
    print(
        f"speed on the gold set: fast {fast_rate:.0f} articles/s, jieba {ref_rate:.0f} articles/s (one core)"
    )
    seeds = [{"title": "", "text": p.read_text(encoding="utf-8")} for p in sorted(SEEDS.glob("*.txt"))]
    if seeds:
        seed_chars = sum(len(s["text"]) for s in seeds) / len(seeds)
        _, seed_fast = timed(seeds, "fast", args.repeat * 4)
        _, seed_ref = timed(seeds, "jieba", args.repeat)
        print(
            f"speed on the seed files ({seed_chars:.0f} characters each): fast {seed_fast:.0f} articles/s "
            f"({seed_fast * seed_chars / 1e6:.2f} M chars/s), jieba {seed_ref:.0f} articles/s"
        )
    if args.errors:
        print("\nerrors (clusters, relevance; xz=gold/text-only/home=True):")
        for g, p, h in zip(gold, fast, home, strict=True):
            if (
                set(g["clusters"]) != set(p.clusters)
                or g["xuzhou"] != (p.xuzhou >= 0.5)
                or g["development"] != (p.development >= 0.5)
            ):
                print(
                    f"{g['id']:12} gold={g['clusters']} got={p.clusters} mentions={p.mentions} "
                    f"xz={g['xuzhou']}/{p.xuzhou}/{h.xuzhou} dev={g['development']}/{p.development} "
                    f"ev={ {c: e[:4] for c, e in p.evidence.items()} }"
                )
        print("\nmention differences (gold -> got):")
        for g, p in zip(gold, fast, strict=True):
            if set(g["mentions"]) != set(p.mentions):
                print(f"{g['id']:12} {sorted(g['mentions'])} -> {sorted(p.mentions)}")


if __name__ == "__main__":
    main()
