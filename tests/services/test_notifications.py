"""Reading the bell and keeping notification choices."""

import pytest
from sqlalchemy import select

from swat.domain.errors import ValidationError
from swat.extensions import db
from swat.models import Notification, User
from swat.services import accounts, notifications, notify
from swat.services.weekly_summary import KIND as WEEKLY_SUMMARY


def tell(users, clock, who, ticket=None, kind="status"):
    params = notify.ticket_params(ticket) if ticket is not None else {"number": "", "title": ""}
    notify.notify(db.session, clock.now(), [users[who].id], kind, ticket, params)
    db.session.flush()


def test_the_bell_counts_and_lists_only_the_readers_visible_notifications(make_ticket, users, clock):
    t = make_ticket()
    tell(users, clock, "staff_health", t)
    clock.advance(minutes=5)
    tell(users, clock, "staff_health")  # about no ticket
    tell(users, clock, "agent", t, kind="assigned")
    me = users["staff_health"]
    assert notifications.unread_count(db.session, me) == 2
    listed = notifications.inbox(db.session, me)
    assert [(i.number, i.escalation) for i in listed] == [(None, None), (t.number, None)]  # newest first
    assert all(i.notification.user_id == me.id for i in listed)
    # Moved to another department: the old department's ticket is neither counted nor listed.
    accounts.update_user(
        db.session, clock.now(), me, role="staff", display_name="x", department_id="welfare", theme_ids=[], active=True
    )
    assert notifications.unread_count(db.session, me) == 1
    assert [i.number for i in notifications.inbox(db.session, me)] == [None]


def test_the_bell_counts_up_to_its_cap_and_says_99_plus_beyond(make_ticket, users, clock, auth, browser):
    """The count stops at UNREAD_CAP + 1, so a manager with thousands unread costs what one with a hundred does."""
    t = make_ticket()
    other = make_ticket("staff_welfare")
    me = users["manager_health"]  # a department head: the ticket rule applies per notification
    for _ in range(notifications.UNREAD_CAP):
        tell(users, clock, "manager_health", t)
    for _ in range(5):
        tell(users, clock, "manager_health", other)  # another department's: never counted
    db.session.commit()
    assert notifications.unread_count(db.session, me) == notifications.UNREAD_CAP
    auth.login("manager_health")
    assert "未読99件" in browser.get("/notifications").get_data(as_text=True)
    tell(users, clock, "manager_health")  # about no ticket: counted
    tell(users, clock, "manager_health", t)
    db.session.commit()
    assert notifications.unread_count(db.session, me) == notifications.UNREAD_CAP + 1
    html = browser.get("/notifications").get_data(as_text=True)
    assert "未読99+件" in html and "未読100件" not in html and "未読101件" not in html


def test_mark_all_read_marks_only_the_readers_own(make_ticket, users, clock):
    t = make_ticket()
    tell(users, clock, "staff_health", t)
    tell(users, clock, "staff_health", t)
    tell(users, clock, "agent", t, kind="assigned")
    assert notifications.mark_all_read(db.session, users["staff_health"], clock.now()) == 2
    assert notifications.mark_all_read(db.session, users["staff_health"], clock.now()) == 0
    assert notifications.unread_count(db.session, users["staff_health"]) == 0
    assert notifications.unread_count(db.session, users["agent"]) == 1
    read = db.session.scalars(select(Notification.read_at).where(Notification.user_id == users["staff_health"].id))
    assert set(read) == {clock.now()}


@pytest.mark.parametrize("role", ["staff_health", "agent", "lead", "manager", "admin"])
def test_only_managers_can_choose_the_weekly_summary(users, role):
    kinds = notifications.choosable_kinds(users[role])
    assert set(notify.KINDS) <= set(kinds)
    assert (WEEKLY_SUMMARY in kinds) == (role == "manager")


def test_preferences_mute_every_kind_not_wanted(users):
    me = users["manager"]
    saved = notifications.save_preferences(db.session, me, inapp=False, email=True, kinds=["reply", "escalation"])
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(User, me.id)
    assert (again.notify_inapp, again.notify_email) == (False, True)
    assert again.muted_kinds.split(",") == [
        "status",
        "merged",
        "receipt",
        "assigned",
        "requester",
        "mention",
        "triage",
        WEEKLY_SUMMARY,
    ]
    assert saved == notifications.preferences(again)
    assert saved.muted == {"status", "merged", "receipt", "assigned", "requester", "mention", "triage", WEEKLY_SUMMARY}


@pytest.mark.parametrize(
    ("role", "kinds"),
    [("staff_health", ["reply", "nonsense"]), ("agent", [WEEKLY_SUMMARY]), ("manager", ["reply", ""])],
)
def test_preferences_refuse_kinds_the_person_cannot_choose(users, role, kinds):
    me = users[role]
    with pytest.raises(ValidationError) as caught:
        notifications.save_preferences(db.session, me, inapp=False, email=False, kinds=kinds)
    assert caught.value.field == "kinds"
    db.session.commit()
    db.session.expire_all()
    unchanged = db.session.get(User, me.id)
    assert (unchanged.notify_inapp, unchanged.notify_email, unchanged.muted_kinds) == (True, True, "")
