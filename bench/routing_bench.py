"""Routing speed: one consultation, and evaluating 1,000.

    .venv/bin/python bench/routing_bench.py [--record]

Uses the shipped rules (config/reference, the example model included) and
the labelled rows of config/reference/routing-examples/, repeated to 1,000. Prints the time to compile the rules, route() per consultation
(median and p99 over all rows), evaluate() over 1,000 rows, and the wall time
of `swat routing evaluate` on a 1,000-row file (process start included).
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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SWAT_CONFIG", "config/testing.toml")

from swat.domain.routing import route  # noqa: E402
from swat.domain.routing_evaluate import evaluate  # noqa: E402
from swat.services.routing_rules import rules_from_directory  # noqa: E402


def rows() -> list[dict]:
    files = sorted((ROOT / "config" / "reference" / "routing-examples").glob("*.jsonl"))
    out = []
    for f in files:
        if f.exists():
            out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rules = rules_from_directory(ROOT / "config" / "reference")
    compile_ms = (time.perf_counter() - t0) * 1000
    base = rows()
    thousand = (base * (1000 // len(base) + 1))[:1000]
    times = []
    for row in thousand:
        t = time.perf_counter()
        route(row["title"], row["body"], rules)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    t = time.perf_counter()
    evaluate(thousand, rules)
    eval_s = time.perf_counter() - t
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r, ensure_ascii=False) for r in thousand))
        path = fh.name
    swat = str(Path(sys.executable).parent / "swat")
    t = time.perf_counter()
    subprocess.run([swat, "routing", "evaluate", path, "--json"], check=True, capture_output=True, cwd=ROOT)
    cli_s = time.perf_counter() - t
    os.unlink(path)
    table = "\n".join(
        [
            "| measure | value |",
            "|---|---:|",
            f"| compile the rules | {compile_ms:.1f} ms |",
            f"| route() one consultation, median | {statistics.median(times):.2f} ms |",
            f"| route() one consultation, p99 | {times[int(len(times) * 0.99) - 1]:.2f} ms |",
            f"| route() one consultation, max | {times[-1]:.2f} ms |",
            f"| evaluate() 1,000 rows | {eval_s:.2f} s |",
            f"| `swat routing evaluate` 1,000 rows (whole process) | {cli_s:.2f} s |",
        ]
    )
    print(table)
    if args.record:
        out = ROOT / "bench" / "ROUTING.md"
        out.write_text(
            "# Routing benchmark\n\n"
            f"- date: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}\n"
            "- command: `.venv/bin/python bench/routing_bench.py --record`\n"
            f"- rows: {len(base)} labelled rows repeated to 1,000; nproc {os.cpu_count()}; "
            f"python {sys.version.split()[0]}\n"
            f"- load average at start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n\n"
            f"{table}\n\nTargets (issue 3): one consultation under 20 ms; 1,000 under 5 s.\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
