"""Fixtures of the mail tests: a desk with the corpus' senders as accounts."""

import pytest

from swat.extensions import db
from swat.models import TicketCounter

NUMBER = "2026-00042"
ADDRESSES = {"staff_health": "staff_health", "staff_welfare": "staff_welfare", "agent": "agent"}


@pytest.fixture
def desk(app, users, make_ticket, monkeypatch):
    """The desk's address, the accounts with the corpus' addresses, and consultation 2026-00042."""
    monkeypatch.setitem(app.config["SWAT"], "mail_from", "swat-desk@pref.example.jp")
    for name, account in ADDRESSES.items():
        users[account].email = f"{name}@pref.example.jp"
    db.session.add(TicketCounter(year=2026, last_number=41))
    db.session.commit()
    ticket = make_ticket(title="ワクチン予約チャットボットの応答について")
    assert ticket.number == NUMBER
    db.session.commit()
    return users
