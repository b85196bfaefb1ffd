"""Who may see and do what: the one place that decides.

Every decision the desk makes about a person is a named function here, and
nothing else in the code compares role strings. Routes use these through
`swat.web.common.requires`, templates through the `may` object in the
template context (so a link is shown exactly when its page would open), and
`swat.services.visibility` turns the ticket rules into SQL filters, so lists,
counts, search, exports and files can never show more than the ticket page.
"""

from __future__ import annotations

from typing import Protocol

STAFF = "staff"
AGENT = "agent"
LEAD = "lead"
MANAGER = "manager"
ADMIN = "admin"

ROLES = (STAFF, AGENT, LEAD, MANAGER, ADMIN)
# The roles that must use two-factor sign-in when the desk requires it (`two_factor_required`).
TWO_FACTOR_ROLES = (MANAGER, ADMIN)
# Who works the queue and acts for the desk.
DESK_ROLES = (AGENT, LEAD, ADMIN)
# Who a consultation can be assigned to, who appears on the team page and
# who is counted for workload: the SWAT members and the lead (not admins).
ASSIGNABLE_ROLES = (AGENT, LEAD)
# Who decides triage, keeps the routing rules and manages the team's absences.
TRIAGE_ROLES = (LEAD, ADMIN)
# Who is told of consultations that nobody holds (triage, unassigned escalations).
TRIAGE_LEADS = (LEAD,)
REPORT_ROLES = (MANAGER, LEAD, ADMIN)
# Who receives the weekly summary e-mail.
WEEKLY_SUMMARY_ROLES = (MANAGER,)


class Actor(Protocol):
    id: int
    role: str
    department_id: str | None


def is_desk(actor: Actor) -> bool:
    """SWAT members, leads and admins work the queue and act for the desk."""
    return actor.role in DESK_ROLES


def is_staff(actor: Actor) -> bool:
    """Department staff: the people who file consultations and speak for their department."""
    return actor.role == STAFF


def is_assignable(actor: Actor) -> bool:
    """A consultation can be handed to this person (a SWAT member or the lead)."""
    return actor.role in ASSIGNABLE_ROLES


def is_desk_wide_manager(actor: Actor) -> bool:
    """A manager without a department sees the whole desk; with one, that department only."""
    return actor.role == MANAGER and not actor.department_id


def department_scope(actor: Actor) -> str | None:
    """The one department whose tickets the actor is limited to, or None for all.

    Staff always see their own department only; a manager with a department
    is that department's head and sees the same. Staff without a department
    see nothing (scope to an impossible department id).
    """
    if actor.role == STAFF:
        return actor.department_id or "\x00none"
    if actor.role == MANAGER and actor.department_id:
        return actor.department_id
    return None


def can_view_ticket(actor: Actor, ticket_department_id: str) -> bool:
    scope = department_scope(actor)
    return scope is None or scope == ticket_department_id


def can_see_internal(actor: Actor) -> bool:
    """Internal notes, events and files are for the desk and desk-wide managers, never for requesters."""
    return is_desk(actor) or is_desk_wide_manager(actor)


def side_of(actor: Actor) -> str:
    """Which column of the transition table the actor acts in."""
    from .states import DESK, REQUESTER

    if is_desk(actor):
        return DESK
    return REQUESTER


def can_file(actor: Actor) -> bool:
    """Consultations are filed by department staff, for their own department."""
    return actor.role == STAFF and bool(actor.department_id)


def can_act_as_requester(actor: Actor, ticket_department_id: str) -> bool:
    """Staff of the ticket's department may reply, add files, close and reopen."""
    return actor.role == STAFF and actor.department_id == ticket_department_id


def can_work_queue(actor: Actor) -> bool:
    """Claim, answer, assign and resolve: the desk's work."""
    return is_desk(actor)


def can_use_queue(actor: Actor) -> bool:
    """Open the queue (and keep saved queue views): the desk, and managers who follow it."""
    return is_desk(actor) or actor.role == MANAGER


def can_view_team(actor: Actor) -> bool:
    """The team page (workload and absences) is the desk's."""
    return is_desk(actor)


def can_link_tickets(actor: Actor) -> bool:
    """Marking consultations as related, and merging a duplicate into its original, is the desk's."""
    return is_desk(actor)


def can_triage(actor: Actor) -> bool:
    """The SWAT lead (and an admin standing in) decides theme, initiatives and assignee of new consultations."""
    return actor.role in TRIAGE_ROLES


def can_manage_team(actor: Actor) -> bool:
    """The lead (or an admin) keeps everyone's absences."""
    return actor.role in TRIAGE_ROLES


def can_manage_absence(actor: Actor, member: Actor) -> bool:
    """Absences of an assignable member are kept by the lead, an admin, or the member themself."""
    if not is_assignable(member):
        return False
    return can_manage_team(actor) or actor.id == member.id


def can_edit_routing(actor: Actor) -> bool:
    """The routing rules page: the lead who triages, and admins."""
    return actor.role in TRIAGE_ROLES


def can_review_mail(actor: Actor) -> bool:
    """Mail held for review (an unknown sender, too many at once, not authenticated) is
    filed, attached or discarded by the lead who triages, and admins."""
    return actor.role in TRIAGE_ROLES


def can_acknowledge_any_escalation(actor: Actor) -> bool:
    """The lead and admins may acknowledge any escalation they can see, not only their own level's."""
    return actor.role in TRIAGE_ROLES


def can_view_reports(actor: Actor) -> bool:
    """Reports are for managers (a department head sees their department), the lead and admins."""
    return actor.role in REPORT_ROLES


def can_admin(actor: Actor) -> bool:
    """Accounts, roles and the staff import."""
    return actor.role == ADMIN


def can_view_audit(actor: Actor) -> bool:
    """The audit trail (who changed which account, every sign-in) is the admins' alone:
    no manager, desk-wide or of a department, sees any of it."""
    return actor.role == ADMIN


def can_assign_others(actor: Actor) -> bool:
    """Any SWAT member may hand a ticket to another; the queue is a shared desk."""
    return is_desk(actor)


def receives_weekly_summary(actor: Actor) -> bool:
    """The weekly summary e-mail goes to managers (each for what they may see)."""
    return actor.role in WEEKLY_SUMMARY_ROLES


def home_page(actor: Actor) -> str:
    """The endpoint a person lands on after signing in: the queue for those who work or follow it."""
    if is_desk(actor) or is_desk_wide_manager(actor):
        return "queue.index"
    return "consultations.index"
