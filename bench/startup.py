"""Start-up time of `xznews status` and `xznews --help` beside the bare imports of the libraries they need.

    .venv/bin/python bench/startup.py [--runs 15] [--json]

Every run is a fresh interpreter (the cost a user pays per command).  The three commands are interleaved, run
after run, so that a busy machine slows them alike; each figure is the median, with the spread.  The goal
(issue 15) is each command ≤ 1.5× the bare imports of sqlalchemy, sqlmodel, httpx, typer and jinja2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xznews.cli.progress import progress  # noqa: E402

BASELINE = "import sqlalchemy, sqlmodel, httpx, typer, jinja2"
COMMANDS = {
    "bare imports": [sys.executable, "-c", BASELINE],
    "xznews status": [sys.executable, "-m", "xznews", "status"],
    "xznews --help": [sys.executable, "-m", "xznews", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xznews-startup-") as tmp:
        env = {**os.environ, "XZNEWS_DATABASE_URL": f"sqlite:///{Path(tmp) / 'startup.db'}"}
        env["XZNEWS_DATA_DIR"] = tmp
        _run(COMMANDS["xznews status"], env)  # creates and migrates the database: not part of the figure
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        with progress("start-up runs", total=args.runs * len(COMMANDS), enabled=not args.json) as report:
            for _ in range(args.runs):
                for name, cmd in COMMANDS.items():
                    times[name].append(_run(cmd, env))
                    report(sum(map(len, times.values())))
    base = statistics.median(times["bare imports"])
    rows = {
        name: {
            "median_s": round(statistics.median(ts), 3),
            "min_s": round(min(ts), 3),
            "max_s": round(max(ts), 3),
            "ratio": round(statistics.median(ts) / base, 2),
        }
        for name, ts in times.items()
    }
    if args.json:
        print(json.dumps({"runs": args.runs, "results": rows}))
        return
    print(f"{args.runs} runs each, interleaved; median (min–max), ratio to the bare imports; goal ≤ 1.5×")
    for name, r in rows.items():
        print(f"  {name:<15} {r['median_s']:.3f} s ({r['min_s']:.3f}–{r['max_s']:.3f})  {r['ratio']:.2f}×")


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
