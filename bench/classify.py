"""Classification quality and speed: dev sets, the blind holdout and speed, in one run.

    .venv/bin/python bench/classify.py [--gold FILE] [--repeat N] [--errors]

Sets (tests/gold/README.md says where each comes from):
  dev    classify.jsonl (written with the lexicon), classify_holdout.jsonl (the old holdout: tuned on since, so a
         dev set now), classify_dev2.jsonl (written by the classification engineer, with halves A/B by id for
         cross-validation: tune on A, report B);
  blind  classify_blind.jsonl: written by someone who had not read the lexicon; measured once, never tuned on.
With --gold only that file is scored (with --errors it lists the misses; never use that on the blind set).

Prints per-cluster precision/recall/F1, micro- and macro-F1, exact-set accuracy, mention F1, relevance accuracy
(threshold 0.5; Xuzhou also with home=True, as a Xuzhou outlet's articles are classified), the same for a naive
term matcher (every lexicon term, no lists, mentions or context) as the baseline, and articles per second of the
classifier beside the naive matcher on the seed files (3,650 characters each), the reference path (full jieba
segmentation) and how often the two paths agree.  Speed is measured cold (jieba window cache cleared each round).
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
from ingest.normalize import normalize_text  # noqa: E402

GOLD_DIR = Path(__file__).resolve().parents[1] / "tests" / "gold"
GOLD = GOLD_DIR / "classify.jsonl"
DEV = (GOLD, GOLD_DIR / "classify_holdout.jsonl", GOLD_DIR / "classify_dev2.jsonl")
BLIND = GOLD_DIR / "classify_blind.jsonl"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
NAIVE_THRESHOLD = 3.0  # summed term weight at which the naive matcher calls a cluster a topic


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
    if method == "naive":
        return [naive_classify(g["title"], g["text"]) for g in gold]
    return [classify(g["title"], g["text"], method=method, home=home) for g in gold]


def naive_classify(title: str, text: str) -> Classification:
    """The baseline: every occurrence of a lexicon term adds its weight to its clusters; no jieba check, no
    lists, mentions, customers or coverage.  Relevance is left at 0."""
    lexicon = load_lexicon()
    matcher = lexicon.cluster_matcher
    totals = dict.fromkeys(CLUSTER_IDS, 0.0)
    for m in matcher.find(normalize_text(f"{title}\n{text}"), verify=False):
        for e in matcher.entries[m.term]:
            totals[e.section] += -e.weight if e.kind == "negative" else e.weight
    clusters = [cid for cid in CLUSTER_IDS if totals[cid] >= NAIVE_THRESHOLD]
    return Classification(clusters, [], {c: 0.0 for c in CLUSTER_IDS}, {}, 0.0, 0.0)


def half(gold: list[dict], which: str) -> list[dict]:
    """Half A or B of a set by base id (a traditional mirror stays with its original)."""
    bases = sorted({g["id"].removesuffix("-hant") for g in gold})
    a = {b for i, b in enumerate(bases) if i % 2 == 0}
    return [g for g in gold if (g["id"].removesuffix("-hant") in a) == (which == "A")]


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


def summary(s: Scores) -> str:
    recall = _recall(s)
    precision = s.micro_f1 * recall / (2 * recall - s.micro_f1) if 2 * recall > s.micro_f1 else 0.0
    return (
        f"micro-F1 {s.micro_f1:.3f} (P {precision:.3f} R {recall:.3f})  macro-F1 {s.macro_f1:.3f}  "
        f"exact {s.exact:.3f}  "
        f"mention F1 {s.mention_f1:.3f}  xuzhou {s.xuzhou_acc:.3f}"
        + ("" if s.xuzhou_home_acc is None else f" (home {s.xuzhou_home_acc:.3f})")
        + f"  development {s.development_acc:.3f}"
    )


def _recall(s: Scores) -> float:
    tp = sum(r * n for _, r, _, n in s.per_cluster.values())
    return tp / max(1, sum(n for *_, n in s.per_cluster.values()))


def report_set(label: str, gold: list[dict], *, detail: bool) -> None:
    fast, home, naive = run(gold, "fast"), run(gold, "fast", home=True), run(gold, "naive")
    scores = score(gold, fast, home)
    if detail:
        print_scores(f"{label}: {len(gold)} articles", scores)
    print(f"{label:34} classifier  {summary(scores)}")
    print(f"{'':34} naive       micro-F1 {score(gold, naive).micro_f1:.3f}")


def speed(repeat: int) -> None:
    seeds = [{"title": "", "text": p.read_text(encoding="utf-8")} for p in sorted(SEEDS.glob("*.txt"))]
    if not seeds:
        return
    chars = sum(len(s["text"]) for s in seeds) / len(seeds)
    _, fast = timed(seeds, "fast", repeat * 4)
    _, naive = timed(seeds, "naive", repeat * 4)
    _, ref = timed(seeds, "jieba", repeat)
    print(
        f"\nspeed on the seed files ({len(seeds)} files, {chars:.0f} characters each, one core, one run): "
        f"classifier {fast:.0f} articles/s ({fast * chars / 1e6:.2f} M chars/s), naive matcher {naive:.0f} "
        f"articles/s, full jieba reference {ref:.0f} articles/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, help="score only this file (default: dev sets, blind, speed)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--errors", action="store_true", help="with --gold: list the items it gets wrong")
    args = parser.parse_args()
    if args.gold is None:
        print("DEV sets (built and tuned with these; figures flatter the classifier):")
        dev = [load_gold(path) for path in DEV]
        for path, gold in zip(DEV, dev, strict=True):
            report_set(f"dev {path.name}", gold, detail=False)
        report_set("dev classify_dev2 half A (tuned)", half(dev[2], "A"), detail=False)
        report_set("dev classify_dev2 half B (checked)", half(dev[2], "B"), detail=False)
        print("\nBLIND holdout (never tuned on; its floor is pinned at the one measurement):")
        report_set(f"blind {BLIND.name}", load_gold(BLIND), detail=True)
        speed(args.repeat)
        return
    gold = load_gold(args.gold)
    chars = sum(len(g["title"]) + len(g["text"]) for g in gold)
    print(f"gold: {len(gold)} articles, {chars / len(gold):.0f} characters on average ({args.gold})")
    fast, fast_rate = timed(gold, "fast", args.repeat)
    ref, ref_rate = timed(gold, "jieba", max(1, args.repeat // 2))
    home = run(gold, "fast", home=True)
    print_scores("fast path (trie regex, jieba check on short terms)", score(gold, fast, home))
    print_scores("reference path (full jieba segmentation)", score(gold, ref))
    print(f"naive term matcher: micro-F1 {score(gold, run(gold, 'naive')).micro_f1:.3f}")
    agree = sum(a.clusters == b.clusters and a.mentions == b.mentions for a, b in zip(fast, ref, strict=True))
    print(f"\nfast vs jieba: identical clusters and mentions on {agree}/{len(gold)} articles")
    print(f"speed on this set: fast {fast_rate:.0f} articles/s, jieba {ref_rate:.0f} articles/s (one core)")
    speed(args.repeat)
    if args.errors:
        print_errors(gold, fast, home)


def print_errors(gold: list[dict], fast: list[Classification], home: list[Classification]) -> None:
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
