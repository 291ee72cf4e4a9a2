"""One `xznews ingest` of a local CMS-shaped site, start-up included, beside the fetch+parse floor, in one run.

    .venv/bin/python bench/ingest.py [--articles 225] [--columns 5] [--backends sqlite,postgres] [--profile]

The bench serves a generated site (bench/cms_site.py: list pages and TRS-style article pages, with boilerplate,
near-duplicates and updates) on 127.0.0.1, writes a configuration for it (no politeness delay, no retries), loads
the seeds into a fresh database (not timed: a one-off), then times the real command in a fresh process,
`xznews ingest --json`, on each backend.  The floor is one httpx client fetching the same pages one after the
other, each parsed with lxml.  Goal (issue 15): ingest ≤ 3× the floor.  `--profile` runs one more SQLite pass
under cProfile and prints where the time goes, by stage and by function.
PostgreSQL: XZNEWS_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/xznews_dev), in a throw-away schema.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cms_site import CmsSite, bench_config_toml, generate  # noqa: E402
from bench.pg import pg_schema_url  # noqa: E402

# Functions whose cumulative time makes a stage of one pass (the pipeline's own steps).
STAGES = {
    "imports + CLI start": ("<module>",),
    "list": ("list_articles",),
    "fetch": ("Fetcher.get", "get"),
    "extract": ("extract_articles",),
    "classify": ("classify",),
    "dedupe + store": ("_store_one",),
    "dedupe verdict": ("store_article",),
}


def floor(site: CmsSite) -> float:
    """One httpx client fetching every listing and article page in turn, each parsed with lxml."""
    import httpx
    import lxml.html

    start = time.perf_counter()
    with httpx.Client(trust_env=False) as client:
        for url in [*site.listing_urls(), *site.article_urls()]:
            lxml.html.fromstring(client.get(url).content)
    return time.perf_counter() - start


def run_cli(args: list[str], env: dict[str, str], *, profile: Path | None = None) -> tuple[float, str]:
    cmd = [
        sys.executable,
        *(["-m", "cProfile", "-o", str(profile)] if profile else []),
        "-m",
        "xznews",
        *args,
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"xznews {' '.join(args)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed, proc.stdout


def ingest_pass(url: str, config_dir: Path, *, profile: Path | None = None) -> dict[str, float]:
    env = {**os.environ, "XZNEWS_CONFIG_DIR": str(config_dir), "XZNEWS_DATABASE_URL": url}
    env["XZNEWS_LOG_LEVEL"] = "WARNING"
    run_cli(["seeds", "load", "--json"], env)
    elapsed, out = run_cli(["ingest", "--json"], env, profile=profile)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    stored = sum(r["new"] + r["duplicates"] + r["updates"] for r in rows)
    return {
        "seconds": elapsed,
        "fetched": sum(r["fetched"] for r in rows),
        "stored": stored,
        "duplicates": sum(r["duplicates"] for r in rows),
        "updates": sum(r["updates"] for r in rows),
        "errors": sum(1 for r in rows if r["error"]),
    }


def print_profile(path: Path, total: float) -> None:
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    print(f"\nprofile of one SQLite pass ({total:.2f} s wall), cumulative time by stage:")
    for stage, names in STAGES.items():
        best = 0.0
        for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in raw.items():
            if func in names and (stage != "imports + CLI start" or filename.endswith("__main__.py")):
                if stage == "fetch" and "fetch" not in filename:
                    continue
                best = max(best, ct)
        print(f"  {stage:<22} {best:7.2f} s")
    print("top functions by own time:")
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=225)
    parser.add_argument("--columns", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", type=Path, help="Keep the profile (pstats file) here.")
    args = parser.parse_args()
    articles = generate(args.articles, columns=args.columns)
    per_column = -(-args.articles // args.columns)
    with (
        tempfile.TemporaryDirectory(prefix="xznews-bench-ingest-") as tmp,
        CmsSite(articles, args.columns) as site,
    ):
        config = Path(tmp) / "config"
        config.mkdir()
        shutil.copy(ROOT / "config" / "clusters.toml", config / "clusters.toml")
        (config / "xznews.toml").write_text(bench_config_toml(), encoding="utf-8")
        (config / "sources.toml").write_text(site.sources_toml(max_items=per_column), encoding="utf-8")
        floor_s = floor(site)
        results: dict[str, dict[str, float]] = {}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results[backend] = ingest_pass(f"sqlite:///{Path(tmp) / 'bench.db'}", config)
            else:
                with pg_schema_url() as url:
                    results[backend] = ingest_pass(url, config)
        print(f"{args.articles} generated articles in {args.columns} columns on 127.0.0.1; one run each")
        print(f"  fetch+parse floor (httpx + lxml, sequential): {floor_s:6.2f} s")
        for backend, r in results.items():
            print(
                f"  xznews ingest on {backend:<8} (start-up included): {r['seconds']:6.2f} s = "
                f"{r['seconds'] / floor_s:4.1f}× floor; fetched {r['fetched']:.0f}, stored {r['stored']:.0f} "
                f"({r['duplicates']:.0f} duplicates, {r['updates']:.0f} updates), "
                f"{r['stored'] / r['seconds']:.1f} articles/s, source errors {r['errors']:.0f}"
            )
        if args.profile:
            prof = Path(tmp) / "ingest.prof"
            r = ingest_pass(f"sqlite:///{Path(tmp) / 'profile.db'}", config, profile=prof)
            print_profile(prof, r["seconds"])
            if args.profile_out:
                shutil.copy(prof, args.profile_out)


if __name__ == "__main__":
    main()
