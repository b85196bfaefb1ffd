"""The permission matrix: every role against every route, and what each list returns.

Like Zammad's ticket-policy matrix, the lists are checked for exactly the
tickets a role may see, not just single pages; and as in SECURITY.md, another
department's ticket or file answers exactly like a missing one (404).
"""

import io
import re

import pytest

from swat.extensions import db
from swat.models import Attachment, Ticket
from swat.services import tickets
from swat.services.storage import Upload

ROLES = ["staff_health", "staff_welfare", "agent", "lead", "manager", "manager_health", "admin"]
NUMBER = re.compile(r"\b2026-\d{5}\b")


@pytest.fixture
def world(make_ticket, users, clock, store, limits):
    """Two health tickets, one welfare ticket; notes and files of both kinds."""
    h1 = make_ticket("staff_health", title="健医の相談その一", files=[Upload("健医資料.txt", io.BytesIO(b"h"))])
    h2 = make_ticket("staff_health2", title="健医の相談その二")
    w1 = make_ticket("staff_welfare", title="福祉の相談", files=[Upload("福祉資料.txt", io.BytesIO(b"w"))])
    tickets.add_internal_note(
        db.session,
        users["agent"],
        clock.now(),
        h1,
        "内部の検討メモ",
        [Upload("内部資料.txt", io.BytesIO(b"secret"))],
        store,
        limits,
    )
    db.session.commit()

    def file_id(ticket, name):
        return db.session.query(Attachment.id).filter_by(ticket_id=ticket.id, filename=name).scalar()

    return {
        "h1": h1.number,
        "h2": h2.number,
        "w1": w1.number,
        "h1_file": file_id(h1, "健医資料.txt"),
        "w1_file": file_id(w1, "福祉資料.txt"),
        "h1_internal": file_id(h1, "内部資料.txt"),
    }


def numbers(response):
    return set(NUMBER.findall(response.get_data(as_text=True)))


# Which tickets each role's lists contain.
VISIBLE = {
    "staff_health": {"h1", "h2"},
    "staff_welfare": {"w1"},
    "agent": {"h1", "h2", "w1"},
    "lead": {"h1", "h2", "w1"},
    "manager": {"h1", "h2", "w1"},
    "manager_health": {"h1", "h2"},
    "admin": {"h1", "h2", "w1"},
}


@pytest.mark.parametrize("role", ROLES)
def test_lists_search_and_counts_show_exactly_the_permitted_tickets(role, world, auth, browser):
    auth.login(role)
    expected = {world[k] for k in VISIBLE[role]}
    r = browser.get("/consultations")
    assert r.status_code == 200
    assert numbers(r) == expected
    # the count on the page agrees with the rows
    assert f"{len(expected)}" in r.get_data(as_text=True).split('class="count"', 1)[1][:80]
    # free-text search cannot reach another department either
    r = browser.get("/consultations?q=相談")
    assert numbers(r) == expected
    r = browser.get("/consultations?q=福祉")
    assert numbers(r) == ({world["w1"]} & expected)
    q = browser.get("/queue")
    if role.startswith("staff"):
        assert q.status_code == 403
    else:
        assert q.status_code == 200 and numbers(q) == expected
        # filtering by another department returns nothing for a department-scoped reader
        assert numbers(browser.get("/queue?department=welfare")) == ({world["w1"]} & expected)


@pytest.mark.parametrize("role", ROLES)
def test_ticket_pages_and_files(role, world, auth, browser):
    auth.login(role)
    for key in ("h1", "w1"):
        r = browser.get(f"/tickets/{world[key]}")
        assert r.status_code == (200 if key in VISIBLE[role] else 404), (role, key)
    h1_ok = "h1" in VISIBLE[role]
    w1_ok = "w1" in VISIBLE[role]
    assert browser.get(f"/tickets/{world['h1']}/files/{world['h1_file']}").status_code == (200 if h1_ok else 404)
    assert browser.get(f"/tickets/{world['w1']}/files/{world['w1_file']}").status_code == (200 if w1_ok else 404)
    # a file id of another ticket, asked for through a ticket the reader may see (django-helpdesk#1335)
    assert browser.get(f"/tickets/{world['h1']}/files/{world['w1_file']}").status_code == 404
    # internal files: desk and desk-wide managers only
    internal_ok = role in ("agent", "lead", "manager", "admin")
    r = browser.get(f"/tickets/{world['h1']}/files/{world['h1_internal']}")
    assert r.status_code == (200 if internal_ok else 404)
    if h1_ok:
        page = browser.get(f"/tickets/{world['h1']}").get_data(as_text=True)
        assert ("内部の検討メモ" in page) == internal_ok
        assert ("内部資料.txt" in page) == internal_ok


def test_missing_and_hidden_tickets_look_the_same(world, auth, browser):
    auth.login("staff_health")
    hidden = browser.get(f"/tickets/{world['w1']}")
    missing = browser.get("/tickets/2026-99999")
    assert hidden.status_code == missing.status_code == 404
    # The forms' CSRF tokens carry the second they were made in: the only part allowed to differ.
    token = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*|(value=")[^"]*("[^>]*name="csrf_token")')

    def page(response, number):
        return token.sub(r"\1\2TOKEN\3", response.get_data(as_text=True).replace(number, "X"))

    assert page(hidden, world["w1"]) == page(missing, "2026-99999")


ACTIONS = [
    ("claim", {}),
    ("assign", {"assignee": ""}),
    ("status", {"status": "resolved"}),
    ("close", {}),
    ("reopen", {}),
    ("reply", {"body": "横から返信"}),
    ("note", {"note-body": "横からメモ"}),
]


@pytest.mark.parametrize("action, data", ACTIONS)
def test_staff_cannot_touch_another_departments_ticket(action, data, world, auth, browser):
    auth.login("staff_welfare")
    r = browser.post(f"/tickets/{world['h1']}/{action}", data)
    assert r.status_code == 404
    t = db.session.query(Ticket).filter_by(number=world["h1"]).one()
    assert (t.status, t.assignee_id) == ("new", None)


@pytest.mark.parametrize("action, data", [a for a in ACTIONS if a[0] in ("claim", "assign", "status", "note")])
def test_staff_cannot_use_desk_actions_on_their_own_ticket(action, data, world, auth, browser):
    auth.login("staff_health")
    r = browser.post(f"/tickets/{world['h1']}/{action}", data)
    assert r.status_code in (302, 404)
    db.session.expire_all()
    t = db.session.query(Ticket).filter_by(number=world["h1"]).one()
    assert (t.status, t.assignee_id) == ("new", None)
    page = browser.get(f"/tickets/{world['h1']}").get_data(as_text=True)
    assert "横からメモ" not in page


@pytest.mark.parametrize("role", ["manager", "manager_health"])
def test_managers_read_but_do_not_work_tickets(role, world, auth, browser):
    auth.login(role)
    browser.post(f"/tickets/{world['h1']}/claim")
    browser.post(f"/tickets/{world['h1']}/status", {"status": "resolved"})
    db.session.expire_all()
    t = db.session.query(Ticket).filter_by(number=world["h1"]).one()
    assert (t.status, t.assignee_id) == ("new", None)


PAGES = {
    # url: roles allowed (others get 403)
    "/consultations/new": {"staff_health", "staff_welfare"},
    "/admin/users": {"admin"},
    "/admin/users/new": {"admin"},
    "/admin/users/import": {"admin"},
    "/reference/governance": set(ROLES),
    "/reference/initiatives": set(ROLES),
    "/consultations": set(ROLES),
    "/queue": {"agent", "lead", "manager", "manager_health", "admin"},
    "/triage": {"lead", "admin"},
    "/team": {"agent", "lead", "admin"},
    "/admin/routing": {"lead", "admin"},
    "/notifications": set(ROLES),
    "/reports": {"manager", "manager_health", "lead", "admin"},
    "/settings/notifications": set(ROLES),
}


@pytest.mark.parametrize("role", ROLES)
def test_page_access_by_role(role, auth, browser, users):
    auth.login(role)
    for url, allowed in PAGES.items():
        assert browser.get(url).status_code == (200 if role in allowed else 403), (role, url)


NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_a_link_exactly_when_its_page_opens(role, auth, browser, users):
    """The menu and the routes read the same named permissions (`may` in templates, `requires` on routes)."""
    auth.login(role)
    page = browser.get("/notifications")
    assert page.status_code == 200
    shown = set(re.findall(r'href="([^"]+)"', NAV.search(page.get_data(as_text=True)).group(1)))
    assert shown, role
    for url in shown:
        assert browser.get(url).status_code == 200, (role, url)
    for url in set(PAGES) - shown - {"/notifications", "/settings/notifications"}:
        if url.startswith("/admin/users/"):
            continue  # sub-pages of the users page, reached from it, not from the menu
        assert browser.get(url).status_code == 403, (role, url)


@pytest.mark.parametrize("url", list(PAGES) + ["/tickets/2026-00001", "/tickets/2026-00001/files/1"])
def test_anonymous_is_sent_to_sign_in(url, browser, users):
    r = browser.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_deactivated_user_loses_access_at_once(auth, browser, users, clock):
    from swat.services import accounts

    auth.login("agent")
    assert browser.get("/queue").status_code == 200
    agent = db.session.get(type(users["agent"]), users["agent"].id)
    accounts.update_user(
        db.session,
        clock.now(),
        agent,
        role="agent",
        display_name=agent.display_name,
        department_id=agent.department_id,
        theme_ids=[],
        active=False,
    )
    db.session.commit()
    r = browser.get("/queue")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_role_change_applies_immediately(auth, browser, users, clock):
    from swat.services import accounts

    auth.login("admin")
    assert browser.get("/admin/users").status_code == 200
    admin = db.session.get(type(users["admin"]), users["admin"].id)
    accounts.update_user(
        db.session, clock.now(), admin, role="agent", display_name="x", department_id=None, theme_ids=[], active=True
    )
    db.session.commit()
    assert browser.get("/admin/users").status_code in (302, 403)
