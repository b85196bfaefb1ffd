"""Routing speed, held-out accuracy and how far its confidence can be trusted.

    .venv/bin/python bench/routing_bench.py [--record]

Uses the shipped rules (config/reference, the example model included) and
the labelled rows of config/reference/routing-examples/, repeated to 1,000. Prints the time to
compile the rules, route() per consultation (median and p99 over all rows), evaluate() over
1,000 rows, and the wall time of `swat routing evaluate` on a 1,000-row file (process start
included). Then, for each labelled file judged by rules whose example model never saw it (as
`swat routing evaluate FILE` does), the theme accuracy, what the auto-apply rule would apply and
how much of it is right, the Brier score, and the confidence's calibration over all files.
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
from swat.domain.routing_evaluate import Band, evaluate  # noqa: E402
from swat.services.routing_rules import rules_from_directory  # noqa: E402


def rows() -> list[dict]:
    files = sorted((ROOT / "config" / "reference" / "routing-examples").glob("*.jsonl"))
    out = []
    for f in files:
        if f.exists():
            out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


# The same figures for the confidence before issue 14 ((top - runner-up) / top, with a separate
# keyword-evidence floor for the rule), measured the same way on the rules of that time.
BEFORE = """Before issue 14 (commit 442a326: the confidence was (top - runner-up) / top of the scores; the
rule also asked for keyword evidence >= min_score), measured the same way: theme accuracy the same
(dev 0.933, set-a 0.900, set-b 0.843); applied at once 256 of 330, 0.945 right; Brier 0.127 (dev
0.076, set-a 0.130, set-b 0.136); shown at 0.1–0.2, 19 proposals were 0.47 right, at 0.5–0.6, 27 were
0.74 right, and 「相談があります／よろしくお願いします。」 (no keyword) showed 0.90.
"""


def held_out() -> str:
    """Each labelled file judged by rules that never learnt from it, and the pooled calibration."""
    lines = [
        "| file | rows | theme accuracy | applied at once | of which right | Brier |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    pooled: dict[float, list[Band]] = {}
    total = applied = right = 0
    squares = 0.0
    for f in sorted((ROOT / "config" / "reference" / "routing-examples").glob("*.jsonl")):
        file_rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        rules = rules_from_directory(
            ROOT / "config" / "reference", exclude={(r["title"], r["body"]) for r in file_rows}
        )
        ev = evaluate(file_rows, rules)
        lines.append(
            f"| {f.name} | {ev.n} | {ev.theme_accuracy:.3f} | {ev.applied} | {ev.applied_right / ev.applied:.3f} "
            f"| {ev.brier:.3f} |"
        )
        total, applied, right, squares = (
            total + ev.n,
            applied + ev.applied,
            right + ev.applied_right,
            squares + ev.brier * ev.n,
        )
        for b in ev.calibration:
            pooled.setdefault(b.low, []).append(b)
    lines.append(f"| all | {total} | | {applied} | {right / applied:.3f} | {squares / total:.3f} |")
    lines += ["", "| confidence | rows | right | mean confidence |", "|---|---:|---:|---:|"]
    for low, bands in sorted(pooled.items()):
        n = sum(b.n for b in bands)
        hits = sum(b.right for b in bands)
        mean = sum(b.mean * b.n for b in bands) / n
        lines.append(f"| {low:.1f}–{low + 0.1:.1f} | {n} | {hits / n:.3f} | {mean:.3f} |")
    return "\n".join(lines)


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
    figures = held_out()
    print()
    print(figures)
    if args.record:
        out = ROOT / "bench" / "ROUTING.md"
        out.write_text(
            "# Routing benchmark\n\n"
            f"- date: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}\n"
            "- command: `.venv/bin/python bench/routing_bench.py --record`\n"
            f"- rows: {len(base)} labelled rows repeated to 1,000; nproc {os.cpu_count()}; "
            f"python {sys.version.split()[0]}\n"
            f"- load average at start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n\n"
            f"{table}\n\nTargets (issue 3): one consultation under 20 ms; 1,000 under 5 s.\n\n"
            "## Held-out accuracy and the confidence (issue 14)\n\n"
            "Each file is judged by rules whose example model never saw it (`swat routing evaluate FILE`). "
            "Applied at once: the proposals whose confidence reaches `confidence_threshold`. Brier: the mean "
            "squared gap between the confidence and being right (lower is better). The calibration pools the "
            "three files: of the proposals shown at a confidence, about that share should be right.\n\n"
            f"{figures}\n\n{BEFORE}",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
