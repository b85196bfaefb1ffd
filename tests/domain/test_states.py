"""The transition table: every allowed move, and that nothing else is allowed."""

import pytest

from swat.domain import states
from swat.domain.errors import InvalidTransition

D, R = states.DESK, states.REQUESTER


@pytest.mark.parametrize(
    "status, action, side, expected",
    [
        ("new", "claim", D, "assigned"),
        ("new", "assign", D, "assigned"),
        ("assigned", "start", D, "in_progress"),
        ("in_progress", "wait", D, "waiting"),
        ("waiting", "requester_replied", R, "in_progress"),
        ("waiting", "start", D, "in_progress"),
        ("in_progress", "resolve", D, "resolved"),
        ("resolved", "close", R, "closed"),
        ("resolved", "close", D, "closed"),
        ("new", "close", R, "closed"),
        ("resolved", "reopen", R, "in_progress"),
        ("closed", "reopen", D, "in_progress"),
        ("assigned", "unassign", D, "new"),
    ],
)
def test_allowed_transitions(status, action, side, expected):
    assert states.transition(status, action, side) == expected


@pytest.mark.parametrize(
    "status, action, side",
    [
        ("assigned", "claim", D),  # already taken
        ("closed", "resolve", D),
        ("new", "wait", D),
        ("in_progress", "resolve", R),  # requesters do not resolve
        ("new", "claim", R),
        ("in_progress", "reopen", R),  # nothing to reopen
        ("closed", "close", R),
        ("resolved", "wait", D),
    ],
)
def test_refused_transitions(status, action, side):
    with pytest.raises(InvalidTransition):
        states.transition(status, action, side)


def test_reopen_without_assignee_goes_back_to_the_queue():
    assert states.transition("closed", "reopen", R, has_assignee=False) == "new"
    assert states.transition("closed", "reopen", R, has_assignee=True) == "in_progress"


def test_every_status_is_reachable_and_closed_is_not_a_dead_end():
    reached = {"new"}
    frontier = ["new"]
    while frontier:
        s = frontier.pop()
        for side in (D, R):
            for action in states.allowed_actions(s, side):
                t = states.transition(s, action, side)
                if t not in reached:
                    reached.add(t)
                    frontier.append(t)
    assert reached == set(states.STATUSES)
    assert states.allowed_actions("closed", R) == ["reopen"]


def test_status_menu_offers_only_table_moves():
    assert states.target_statuses("new", D) == ["resolved", "closed"]
    assert states.target_statuses("in_progress", D) == ["waiting", "resolved", "closed"]
    assert states.target_statuses("waiting", D) == ["in_progress", "resolved", "closed"]
    assert states.target_statuses("closed", D) == ["in_progress"]
    assert states.target_statuses("in_progress", R) == ["closed"]
