"""`swat routing`: evaluate the routing rules on labelled consultations."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("routing")
def routing_group():
    """Routing rules: evaluate them on labelled consultations."""


@routing_group.command("evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--dir", "directory", default=None, help="Reference folder with routing.yaml (default: the configured one)."
)
@click.option("--misses", is_flag=True, help="List the rows routed wrongly.")
@with_appcontext
def routing_evaluate(path, as_json, directory, misses):
    """Theme accuracy and initiative top-1/top-3 on a JSONL file like routing/dev.jsonl."""
    import json

    from ..domain.routing_evaluate import evaluate
    from ..services.reference import ReferenceDataError
    from ..services.routing_rules import rules_from_directory

    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                click.echo(f"error: {path}:{lineno}: not valid JSON ({exc})", err=True)
                sys.exit(1)
            if not isinstance(row, dict) or "theme" not in row or not ("title" in row or "body" in row):
                click.echo(f"error: {path}:{lineno}: needs title, body and theme", err=True)
                sys.exit(1)
            rows.append(row)
    if not rows:
        click.echo(f"error: {path}: no rows", err=True)
        sys.exit(1)
    try:
        # The rows under evaluation never teach the model that judges them.
        rules = rules_from_directory(
            directory or current_app.config["SWAT"]["reference_dir"],
            exclude={(r.get("title", ""), r.get("body", "")) for r in rows},
        )
    except ReferenceDataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    ev = evaluate(rows, rules)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "theme_accuracy": round(ev.theme_accuracy, 4),
                    "initiative_top1": round(ev.initiative_top1, 4),
                    "initiative_top3": round(ev.initiative_top3, 4),
                    "n": ev.n,
                    "confusion": ev.confusion,
                    "calibration": [b.as_dict() for b in ev.calibration],
                    "applied": ev.applied,
                    "applied_right": ev.applied_right,
                    "brier": round(ev.brier, 4),
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"rows: {ev.n}")
    click.echo(f"theme accuracy:    {ev.theme_accuracy:.3f}")
    click.echo(f"initiative top-1:  {ev.initiative_top1:.3f}  (rows that list an initiative)")
    click.echo(f"initiative top-3:  {ev.initiative_top3:.3f}")
    share = f"{ev.applied_right / ev.applied:.3f} right" if ev.applied else "none"
    click.echo(f"applied at once:   {ev.applied} of {ev.n} ({share})")
    click.echo(f"Brier score:       {ev.brier:.3f}  (confidence against a right theme; lower is better)")
    click.echo("")
    click.echo("confidence calibration (rows by confidence: how many, right, mean confidence)")
    for b in ev.calibration:
        click.echo(f"  {b.low:.1f}-{b.high:.1f}  {b.n:>5}  {b.right / b.n:>6.3f}  {b.mean:>6.3f}")
    themes = sorted(set(ev.confusion) | {g for row in ev.confusion.values() for g in row})
    width = max(len(t) for t in themes) + 1
    click.echo("")
    click.echo("confusion (rows: labelled theme, columns: routed theme)")
    click.echo(" " * width + " ".join(f"{t[:6]:>6}" for t in themes))
    for gold in themes:
        counts = ev.confusion.get(gold, {})
        click.echo(f"{gold:<{width}}" + " ".join(f"{counts.get(t, 0):>6}" for t in themes))
    if misses:
        click.echo("")
        for m in ev.misses:
            click.echo(
                f"{m['id']}: theme {m['theme']} -> {m['got']}; initiatives {m['initiatives']} -> {m['proposed']}"
            )
