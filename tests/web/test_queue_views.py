"""The queue remembers each member's filters and keeps the views they save by name."""

import re
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import delete, func, select

from swat.domain.errors import ValidationError
from swat.extensions import db
from swat.models import QueueView, User
from swat.services import queue_views, tickets

from ..conftest import count_queries
from .test_queue import rows

NOTE = "The filters from last time are applied."


@pytest.fixture
def queue(make_ticket, users, clock):
    """Three open consultations (one taken by agent) and a resolved one: name -> number."""
    made = {}
    made["line"] = make_ticket("staff_health", title="LINE相談", priority="low")
    clock.advance(minutes=5)
    made["vpn"] = make_ticket("staff_welfare", title="VPNの増強", priority="urgent")
    clock.advance(minutes=5)
    made["paper"] = make_ticket("staff_health2", title="ペーパーレス会議", priority="high")
    clock.advance(minutes=5)
    made["done"] = make_ticket("staff_health", title="解決済みの相談")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), made["vpn"])
    tickets.change_status(db.session, users["agent"], clock.now(), made["done"], "resolved")
    db.session.commit()
    return {k: v.number for k, v in made.items()}


def english(browser):
    """Pages in English, so the tests read the msgids whatever the Japanese catalog says."""
    browser.post("/language", {"locale": "en", "next": "/queue"})
    return browser


def stored(username):
    db.session.expire_all()
    return db.session.scalar(select(User.queue_query).where(User.username == username))


def views_of(username):
    db.session.expire_all()
    return sorted(
        db.session.scalars(
            select(QueueView.name).join(User, User.id == QueueView.user_id).where(User.username == username)
        )
    )


def nav(html):
    match = re.search(r'<nav class="queue-views" aria-label="[^"]+">(.*?)</nav>', html, re.S)
    assert match, "no views navigation"
    return match.group(1)


def current_links(html):
    return re.findall(r'<a href="([^"]+)" aria-current="page">([^<]*)</a>', nav(html))


@pytest.mark.parametrize(
    "query, canonical",
    [
        ("", ""),
        ("page=3", ""),  # the page is not a filter
        (
            "status=new&status=assigned&status=in_progress&status=waiting&theme=&department=&assignee="
            "&priority=&q=&sort=priority&dir=asc",
            "",
        ),  # the filter form at its defaults
        ("status=resolved&status=new", "status=new&status=resolved"),  # one order
        ("status=", "status="),  # every status: not the default
        ("status=bogus", "status="),  # the queue lists every status then too
        ("dir=desc&sort=created&assignee=me", "assignee=me&sort=created&dir=desc"),
        ("assignee=someone&priority=panic&sort=random&per_page=999", "per_page=200"),
        ("q=%E3%80%80+LINE%E7%9B%B8%E8%AB%87+&page=2", "q=LINE%E7%9B%B8%E8%AB%87"),  # full-width space trimmed
    ],
)
def test_one_list_of_filters_is_one_query_string(query, canonical):
    assert queue_views.canonical_query(parse_qsl(query, keep_blank_values=True)) == canonical
    assert queue_views.canonical(canonical) == canonical


def test_a_bare_queue_goes_back_to_the_filters_used_last(queue, auth, browser):
    english(auth.login("agent"))
    assert rows(browser.get("/queue?assignee=none&sort=created&page=1")) == [queue["line"], queue["paper"]]
    assert stored("agent") == "assignee=none&sort=created"
    back = browser.get("/queue")
    assert back.status_code == 302
    assert back.headers["Location"] == "/queue?assignee=none&sort=created"  # the URL shows the filters
    page = browser.get(back.headers["Location"])
    html = page.get_data(as_text=True)
    assert rows(page) == [queue["line"], queue["paper"]]
    assert NOTE in html and 'href="/queue?reset=1"' in html
    # The note is said once, not on every later look at the same list.
    assert NOTE not in browser.get("/queue?assignee=none&sort=created").get_data(as_text=True)
    # Each member has their own memory.
    english(auth.login("lead"))
    assert browser.get("/queue").status_code == 200
    assert stored("lead") == ""


def test_paging_and_looking_again_write_nothing(queue, auth, browser):
    auth.login("agent")
    browser.get("/queue?status=new&status=assigned&per_page=2")
    assert stored("agent") == "status=new&status=assigned&per_page=2"

    def user_updates(url):
        with count_queries() as statements:
            assert browser.get(url).status_code == 200
        return [s for s in statements if s.lstrip().upper().startswith("UPDATE USERS")]

    assert user_updates("/queue?status=assigned&status=new&per_page=2&page=2") == []  # same filters
    assert user_updates("/queue?page=2") == []  # no filters at all
    assert stored("agent") == "status=new&status=assigned&per_page=2"
    assert len(user_updates("/queue?priority=high")) == 1
    assert stored("agent") == "priority=high"


def test_reset_forgets_the_filters_and_shows_the_default_queue(queue, auth, browser):
    english(auth.login("agent"))
    browser.get("/queue?status=resolved")
    reset = browser.get("/queue?reset=1")
    assert reset.status_code == 302 and reset.headers["Location"] == "/queue"
    assert stored("agent") == ""
    page = browser.get("/queue")
    assert page.status_code == 200
    assert rows(page) == [queue["vpn"], queue["paper"], queue["line"]]
    assert NOTE not in page.get_data(as_text=True)


def test_choosing_the_default_filters_again_forgets_the_old_ones(queue, auth, browser):
    auth.login("agent")
    browser.get("/queue?assignee=me")
    browser.get("/queue?status=new&status=assigned&status=in_progress&status=waiting&assignee=&sort=priority")
    assert stored("agent") == ""
    assert browser.get("/queue").status_code == 200


def test_a_report_drill_down_is_not_remembered(queue, auth, browser):
    auth.login("agent")
    browser.get("/queue?status=resolved&period=2026-11&measure=opened")
    assert stored("agent") == ""


def test_every_member_has_the_built_in_views(queue, auth, browser):
    english(auth.login("agent2"))
    html = browser.get("/queue").get_data(as_text=True)
    links = nav(html)
    assert 'aria-label="Queue views"' in html
    assert '<a href="/queue?assignee=me">Assigned to me</a>' in links
    assert '<a href="/queue?assignee=none">Unassigned</a>' in links
    assert '<a href="/queue?sort=sla">Overdue first</a>' in links
    assert current_links(html) == []
    unassigned = browser.get("/queue?assignee=none")
    assert rows(unassigned) == [queue["paper"], queue["line"]]  # open ones only: not the resolved one
    assert current_links(unassigned.get_data(as_text=True)) == [("/queue?assignee=none", "Unassigned")]


def test_a_member_saves_the_filters_on_screen_as_a_view(queue, auth, browser):
    english(auth.login("agent"))
    html = browser.get("/queue?priority=urgent&assignee=me").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/queue/views" class="save-view">(.*?)</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(1)
    assert 'name="query" value="assignee=me&amp;priority=urgent"' in form.group(1)
    saved = browser.post("/queue/views", {"name": "  至急・自分  ", "query": "priority=urgent&assignee=me"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/queue?assignee=me&priority=urgent"
    assert views_of("agent") == ["至急・自分"]  # trimmed, and byte for byte otherwise
    page = browser.get(saved.headers["Location"])
    html = page.get_data(as_text=True)
    assert "The view “至急・自分” was saved." in html
    assert rows(page) == [queue["vpn"]]
    assert current_links(html) == [("/queue?assignee=me&amp;priority=urgent", "至急・自分")]
    # Elsewhere the view is a plain link, and the other members do not see it.
    assert current_links(browser.get("/queue?sort=sla").get_data(as_text=True)) == [
        ("/queue?sort=sla", "Overdue first")
    ]
    auth.login("agent2")
    assert "至急・自分" not in browser.get("/queue").get_data(as_text=True)


def test_a_view_of_the_default_queue_links_past_the_remembered_filters(queue, auth, browser):
    auth.login("agent")
    browser.post("/queue/views", {"name": "いつもの", "query": ""})
    browser.get("/queue?status=resolved")
    html = browser.get("/queue?status=resolved").get_data(as_text=True)
    assert '<a href="/queue?reset=1">いつもの</a>' in nav(html)


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Enter a name for the view."),
        ("   ", "Enter a name for the view."),
        ("x" * 61, "A view name can be at most 60 characters."),
        ("Mine", "You already have a view with that name."),
    ],
)
def test_a_view_needs_a_new_short_name(name, message, queue, auth, browser):
    english(auth.login("agent"))
    assert browser.post("/queue/views", {"name": "Mine", "query": "assignee=me"}).status_code == 302
    refused = browser.post("/queue/views", {"name": name, "query": "sort=created"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/queue?sort=created"
    assert message in browser.get(refused.headers["Location"]).get_data(as_text=True)
    assert views_of("agent") == ["Mine"]


def test_sixty_characters_is_a_name_and_the_same_name_is_fine_for_someone_else(auth, browser, users):
    auth.login("agent")
    assert browser.post("/queue/views", {"name": "あ" * 60, "query": ""}).status_code == 302
    assert browser.post("/queue/views", {"name": "Mine", "query": ""}).status_code == 302
    auth.login("agent2")
    assert browser.post("/queue/views", {"name": "Mine", "query": ""}).status_code == 302
    assert views_of("agent") == ["Mine", "あ" * 60] and views_of("agent2") == ["Mine"]


def test_at_most_thirty_views(auth, browser, users, clock):
    for i in range(30):
        queue_views.save_view(db.session, users["agent"], clock.now(), f"View {i:02d}", f"q={i}")
    db.session.commit()
    english(auth.login("agent"))
    refused = browser.post("/queue/views", {"name": "One more", "query": "assignee=me"})
    assert "You can save at most 30 views." in browser.get(refused.headers["Location"]).get_data(as_text=True)
    assert len(views_of("agent")) == 30
    assert "One more" not in views_of("agent")


def test_the_unique_constraint_catches_a_duplicate_the_check_missed(users, clock, monkeypatch):
    """Two saves at once both pass the check; the constraint still keeps one, and the
    refused save leaves the transaction usable."""
    queue_views.save_view(db.session, users["agent"], clock.now(), "Mine", "assignee=me")
    db.session.flush()
    monkeypatch.setattr(queue_views, "_name_taken", lambda *a: False)
    with pytest.raises(ValidationError) as refused:
        queue_views.save_view(db.session, users["agent"], clock.now(), "Mine", "sort=sla")
    assert refused.value.message == "You already have a view with that name."
    queue_views.save_view(db.session, users["agent"], clock.now(), "Other", "sort=sla")
    db.session.commit()
    assert views_of("agent") == ["Mine", "Other"]


def test_a_member_deletes_a_view(auth, browser, users):
    english(auth.login("agent"))
    browser.post("/queue/views", {"name": "Old", "query": "sort=created"})
    browser.post("/queue/views", {"name": "Keep", "query": "sort=sla"})
    html = browser.get("/queue?sort=created").get_data(as_text=True)
    view_id = db.session.scalar(select(QueueView.id).where(QueueView.name == "Old"))
    assert f'action="/queue/views/{view_id}/delete"' in nav(html)
    assert 'aria-label="Delete the view “Old”"' in nav(html)
    gone = browser.post(f"/queue/views/{view_id}/delete", {"query": "sort=created"})
    assert gone.status_code == 302 and gone.headers["Location"] == "/queue?sort=created"
    assert "The view “Old” was deleted." in browser.get(gone.headers["Location"]).get_data(as_text=True)
    assert views_of("agent") == ["Keep"]
    assert browser.post(f"/queue/views/{view_id}/delete", {}).status_code == 404  # already gone


def test_security_idor_saved_views_of_someone_else_are_not_found(auth, browser, users):
    auth.login("agent2")
    browser.post("/queue/views", {"name": "agent2の表示", "query": "sort=sla"})
    theirs = db.session.scalar(select(QueueView.id).where(QueueView.name == "agent2の表示"))
    auth.login("agent")
    assert "agent2の表示" not in browser.get("/queue").get_data(as_text=True)
    assert browser.post(f"/queue/views/{theirs}/delete", {}).status_code == 404
    auth.login("lead")
    assert browser.post(f"/queue/views/{theirs}/delete", {}).status_code == 404
    assert views_of("agent2") == ["agent2の表示"]


def test_saving_and_deleting_views_need_a_csrf_token(auth, browser, users):
    auth.login("agent")
    assert browser.post("/queue/views", {"name": "x", "query": "", "csrf_token": "forged"}).status_code == 400
    assert views_of("agent") == []


def test_only_those_who_may_open_the_queue_have_views(auth, browser, users, clock):
    mine = queue_views.save_view(db.session, users["agent"], clock.now(), "Mine", "")
    db.session.commit()
    auth.login("staff_health")
    assert browser.get("/queue").status_code == 403
    assert browser.post("/queue/views", {"name": "x", "query": ""}).status_code == 403
    assert browser.post(f"/queue/views/{mine.id}/delete", {}).status_code == 403
    assert views_of("staff_health") == [] and views_of("agent") == ["Mine"]
    for manager in ("manager", "manager_health"):
        auth.login(manager)
        assert browser.post("/queue/views", {"name": "Weekly", "query": "sort=sla"}).status_code == 302
        assert views_of(manager) == ["Weekly"]


def test_a_users_views_go_with_them(users, clock):
    queue_views.save_view(db.session, users["agent2"], clock.now(), "Mine", "")
    db.session.commit()
    db.session.execute(delete(User).where(User.username == "agent2"))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(QueueView)) == 0


def test_filters_too_long_to_keep_are_shown_but_not_kept(auth, browser, users):
    english(auth.login("agent"))
    browser.get("/queue?assignee=me")
    words = "相談" * 100  # 200 characters: 1,800 once percent-encoded
    assert browser.get(f"/queue?q={words}").status_code == 200
    assert stored("agent") == "assignee=me"
    refused = browser.post("/queue/views", {"name": "Long", "query": f"q={words}"})
    assert "These filters are too long to save as a view." in browser.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert views_of("agent") == []
