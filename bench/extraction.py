"""Extraction quality and speed: ours vs readability-lxml vs trafilatura on the labelled dev pages.

    .venv/bin/python bench/extraction.py [DATA_DIR] [--only ours] [--show-worst N]

DATA_DIR defaults to $XZNEWS_EXTRACTION_DEV or ../shared/data/extraction-dev beside the repo.  Every extractor
starts from the page's raw bytes, decoded by our decode_html (so all three see the same text and the charset
step is not what is compared; readability and trafilatura are timed on the decoded string, ours includes its
own decoding).  The pages are read by path and never copied into the repo.

Metric (see the data set's README): per page, the multiset of non-whitespace characters after NFKC;
P = |pred ∩ gold| / |pred|, R = |pred ∩ gold| / |gold|, F1; the mean over pages (empty = 0).
Publish time: where the page URL carries a date, our extractor runs *without* the URL and its date must match.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.extract.article import extract_article  # noqa: E402
from ingest.extract.charset import decode_html  # noqa: E402
from ingest.extract.pubtime import date_from_url  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared/data/extraction-dev"


def char_counts(text: str) -> Counter[str]:
    return Counter(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def char_f1(pred: str, gold: str) -> float:
    p, g = char_counts(pred), char_counts(gold)
    if not p or not g:
        return 0.0
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def load_pages(data_dir: Path) -> list[tuple[str, bytes, dict]]:
    pages = []
    for folder in sorted(p for p in data_dir.iterdir() if (p / "page.html").is_file()):
        gold = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
        pages.append((folder.name, (folder / "page.html").read_bytes(), gold))
    return pages


def run_ours(data: bytes) -> str:
    return extract_article(data).body


def run_readability(text: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(text).summary()
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def run_trafilatura(text: str) -> str:
    import trafilatura

    return trafilatura.extract(text, favor_precision=True) or ""


def measure(name: str, fn: Callable, inputs: list, golds: list[str]) -> tuple[list[float], float]:
    scores = []
    elapsed = 0.0
    for item, gold in zip(inputs, golds, strict=True):
        start = time.perf_counter()
        try:
            pred = fn(item)
        except Exception as exc:  # noqa: BLE001 - a baseline crashing on a page scores 0 there
            print(f"  {name}: error {type(exc).__name__}: {exc}", file=sys.stderr)
            pred = ""
        elapsed += time.perf_counter() - start
        scores.append(char_f1(pred, gold))
    return scores, elapsed


def publish_time_accuracy(pages: list[tuple[str, bytes, dict]]) -> tuple[int, int]:
    right = total = 0
    for _, data, gold in pages:
        expected = date_from_url(gold.get("url"))
        if expected is None:
            continue
        total += 1
        got = extract_article(data).published_at
        right += bool(got and got.date() == expected.date())
    return right, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", nargs="?", default=os.environ.get("XZNEWS_EXTRACTION_DEV", str(DEFAULT_DIR))
    )
    parser.add_argument("--only", choices=["ours", "readability", "trafilatura"], action="append")
    parser.add_argument("--show-worst", type=int, default=0, help="list our N worst pages")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"no data folder at {data_dir}", file=sys.stderr)
        return 2
    pages = load_pages(data_dir)
    golds = [g["body"] for _, _, g in pages]
    raw = [d for _, d, _ in pages]
    decoded = [decode_html(d)[0] for d in raw]

    runs = {
        "xznews (ours)": (run_ours, raw),
        "readability-lxml": (run_readability, decoded),
        "trafilatura (favor_precision)": (run_trafilatura, decoded),
    }
    wanted = {
        "ours": "xznews (ours)",
        "readability": "readability-lxml",
        "trafilatura": "trafilatura (favor_precision)",
    }
    names = [wanted[o] for o in args.only] if args.only else list(runs)
    results = {}
    for name in names:
        fn, inputs = runs[name]
        results[name] = measure(name, fn, inputs, golds)

    print(f"extraction-dev: {len(pages)} pages from {data_dir}")
    print(f"{'extractor':<32} {'char-F1 mean':>12} {'median':>8} {'pages/s':>9}")
    for name, (scores, elapsed) in results.items():
        rate = len(pages) / elapsed if elapsed else float("inf")
        print(f"{name:<32} {statistics.mean(scores):>12.4f} {statistics.median(scores):>8.4f} {rate:>9.1f}")
    if "xznews (ours)" in results and "readability-lxml" in results:
        ours = len(pages) / results["xznews (ours)"][1]
        base = len(pages) / results["readability-lxml"][1]
        print(f"speed ratio ours / readability-lxml: {ours / base:.2f}x")
    if "xznews (ours)" in results:
        right, total = publish_time_accuracy(pages)
        print(
            f"publish date (ours, URL withheld) matches the URL's date on {right}/{total} pages that carry one"
        )
    if args.show_worst and "xznews (ours)" in results:
        scores = results["xznews (ours)"][0]
        for score, (name, _, gold) in sorted(zip(scores, pages, strict=True), key=lambda t: t[0])[
            : args.show_worst
        ]:
            print(f"  {score:.3f} {name} {gold['url'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
