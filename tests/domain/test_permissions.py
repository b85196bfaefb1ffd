"""The whole permission table, without an app or a database.

Each row is a person (role, department); each column a named decision. The
table is written out by hand from the desk's rules (DOMAIN.md), so a change to
any decision shows up here as a changed cell, not as a silent widening.
"""

from dataclasses import dataclass

import pytest

from swat.domain import permissions as p
from swat.domain.states import DESK, REQUESTER


@dataclass
class Person:
    role: str
    department_id: str | None = None
    id: int = 1


PEOPLE = {
    "staff": Person("staff", "health-medical"),
    "staff_nodept": Person("staff", None),
    "agent": Person("agent", "smart-city"),
    "lead": Person("lead", "smart-city"),
    "manager": Person("manager", None),
    "manager_dept": Person("manager", "health-medical"),
    "admin": Person("admin", None),
}

# decision: the people for whom it is True (everyone else: False)
TABLE = {
    "is_desk": {"agent", "lead", "admin"},
    "is_staff": {"staff", "staff_nodept"},
    "is_assignable": {"agent", "lead"},
    "is_desk_wide_manager": {"manager"},
    "can_see_internal": {"agent", "lead", "admin", "manager"},
    "can_file": {"staff"},
    "can_work_queue": {"agent", "lead", "admin"},
    "can_use_queue": {"agent", "lead", "admin", "manager", "manager_dept"},
    "can_view_team": {"agent", "lead", "admin"},
    "can_triage": {"lead", "admin"},
    "can_link_tickets": {"agent", "lead", "admin"},
    "can_manage_team": {"lead", "admin"},
    "can_edit_routing": {"lead", "admin"},
    "can_review_mail": {"lead", "admin"},
    "can_acknowledge_any_escalation": {"lead", "admin"},
    "can_view_reports": {"manager", "manager_dept", "lead", "admin"},
    "can_admin": {"admin"},
    "can_view_audit": {"admin"},
    "can_assign_others": {"agent", "lead", "admin"},
    "receives_weekly_summary": {"manager", "manager_dept"},
}


@pytest.mark.parametrize("decision", sorted(TABLE))
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_the_table(decision, who):
    assert getattr(p, decision)(PEOPLE[who]) is (who in TABLE[decision])


def test_every_one_argument_decision_is_in_the_table():
    """A new named decision must be added to the table above (and so be reviewed)."""
    two_argument = {"can_view_ticket", "can_act_as_requester", "can_manage_absence"}
    named = {n for n in dir(p) if n.startswith(("can_", "is_", "receives_"))} - two_argument
    assert named == set(TABLE)


@pytest.mark.parametrize(
    ("who", "department", "expected"),
    [
        ("staff", "health-medical", True),
        ("staff", "welfare", False),
        ("staff_nodept", "health-medical", False),
        ("manager_dept", "health-medical", True),
        ("manager_dept", "welfare", False),
        ("manager", "welfare", True),
        ("agent", "welfare", True),
        ("lead", "welfare", True),
        ("admin", "welfare", True),
    ],
)
def test_who_sees_which_department(who, department, expected):
    assert p.can_view_ticket(PEOPLE[who], department) is expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [("staff", "health-medical"), ("staff_nodept", "\x00none"), ("manager_dept", "health-medical")]
    + [(w, None) for w in ("agent", "lead", "manager", "admin")],
)
def test_department_scope(who, expected):
    assert p.department_scope(PEOPLE[who]) == expected


@pytest.mark.parametrize(
    ("who", "department", "expected"),
    [
        ("staff", "health-medical", True),
        ("staff", "welfare", False),
        ("staff_nodept", "health-medical", False),
        ("manager_dept", "health-medical", False),
        ("agent", "health-medical", False),
        ("admin", "health-medical", False),
    ],
)
def test_only_the_departments_own_staff_speak_for_it(who, department, expected):
    assert p.can_act_as_requester(PEOPLE[who], department) is expected


def test_absences_are_kept_by_the_lead_an_admin_or_the_member_themself():
    agent, other = Person("agent", "smart-city", id=5), Person("agent", "smart-city", id=6)
    lead, admin, manager = Person("lead", id=7), Person("admin", id=8), Person("manager", id=9)
    assert p.can_manage_absence(agent, agent)
    assert not p.can_manage_absence(other, agent)
    assert p.can_manage_absence(lead, agent) and p.can_manage_absence(admin, agent)
    assert p.can_manage_absence(lead, lead)
    assert not p.can_manage_absence(manager, agent)
    # Only assignable members have absences: not admins, managers or staff, whoever asks.
    for member in (admin, manager, Person("staff", "welfare", id=10)):
        assert not p.can_manage_absence(lead, member)
        assert not p.can_manage_absence(member, member)


@pytest.mark.parametrize(
    ("who", "side", "home"),
    [
        ("staff", REQUESTER, "consultations.index"),
        ("staff_nodept", REQUESTER, "consultations.index"),
        ("agent", DESK, "queue.index"),
        ("lead", DESK, "queue.index"),
        ("admin", DESK, "queue.index"),
        ("manager", REQUESTER, "queue.index"),
        ("manager_dept", REQUESTER, "consultations.index"),
    ],
)
def test_side_and_home_page(who, side, home):
    assert p.side_of(PEOPLE[who]) == side
    assert p.home_page(PEOPLE[who]) == home


def test_role_groups_name_only_known_roles():
    for group in (p.DESK_ROLES, p.ASSIGNABLE_ROLES, p.TRIAGE_ROLES, p.TRIAGE_LEADS, p.REPORT_ROLES):
        assert set(group) <= set(p.ROLES)
    assert set(p.ASSIGNABLE_ROLES) <= set(p.DESK_ROLES)
