"""The `swat demo` and `swat seed` commands: what they print and what they refuse."""

from __future__ import annotations

from sqlalchemy import func, select

from swat.devdata.demo import CONSULTATIONS, DEMO_PASSWORD
from swat.extensions import db
from swat.models import Ticket, User


def test_demo_once_then_not_again(ctx):
    runner = ctx.test_cli_runner()
    r = runner.invoke(args=["demo"])
    assert r.exit_code == 0, r.output
    assert f"demo accounts (password for all: {DEMO_PASSWORD}):" in r.output
    assert f"{len(CONSULTATIONS)} demo consultations" in r.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "the database already has users; demo data not added" in again.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == len(CONSULTATIONS)
    # Every demo account has an address on a domain reserved for examples: the e-mails can be
    # watched on a local SMTP server (README) and reach nobody.
    addresses = dict(db.session.execute(select(User.username, User.email)).all())
    assert addresses and all(a == f"{name}@demo.example.jp" for name, a in addresses.items())


def test_seed_prints_progress_and_summary(ctx):
    r = ctx.test_cli_runner().invoke(args=["seed", "--tickets", "30", "--seed", "3", "--years", "1"])
    assert r.exit_code == 0, r.output
    assert "30/30 tickets" in r.output and "seeded 30 tickets in" in r.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 30


def test_seed_refused_in_production(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config["SWAT"], "env", "production")
    r = ctx.test_cli_runner().invoke(args=["seed", "--tickets", "5"])
    assert r.exit_code == 1 and "refusing to seed a production database" in r.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
