"""`attempt`: one service call as the request's transaction."""

from __future__ import annotations

import pytest

from swat.domain.errors import Conflict, Forbidden
from swat.services import tickets as svc
from swat.transaction import session
from swat.web.common import attempt


def test_attempt_commits_and_returns_the_result(make_ticket, users, clock):
    ticket = make_ticket()

    result, error = attempt(svc.claim_ticket, session(), users["agent"], clock.now(), ticket)

    assert error is None and result is not None
    session().rollback()  # nothing left to drop: the claim was committed
    session().expire_all()
    assert svc.find_ticket(session(), ticket.id).assignee_id == users["agent"].id


def test_attempt_rolls_back_a_refusal_and_returns_it(make_ticket, users, clock):
    ticket = make_ticket()

    def claim_then_refuse():
        svc.claim_ticket(session(), users["agent"], clock.now(), ticket)
        raise Forbidden("No.")

    result, error = attempt(claim_then_refuse)

    assert result is None and isinstance(error, Forbidden)
    assert svc.find_ticket(session(), ticket.id).assignee_id is None


def test_attempt_rolls_back_and_raises_anything_else(make_ticket, users, clock):
    ticket = make_ticket()

    def claim_then_break():
        svc.claim_ticket(session(), users["agent"], clock.now(), ticket)
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        attempt(claim_then_break)
    assert svc.find_ticket(session(), ticket.id).assignee_id is None


def test_a_conflict_is_a_refusal_like_any_other(ctx):
    result, error = attempt(lambda: (_ for _ in ()).throw(Conflict("Changed.")))
    assert result is None and isinstance(error, Conflict)
