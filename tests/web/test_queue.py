"""The queue: filters, sorting, paging, Japanese search, and a fixed number of queries."""

import re
from datetime import date

import pytest

from swat.extensions import db
from swat.services import tickets

from ..conftest import count_queries

NUMBER = re.compile(r'href="/tickets/(2026-\d{5})"')


def rows(response):
    return list(dict.fromkeys(NUMBER.findall(response.get_data(as_text=True))))


@pytest.fixture
def queue(make_ticket, users, clock):
    made = {}
    made["line"] = make_ticket(
        "staff_health", title="ＬＩＮＥで相談を受けたい", body="全角の本文", priority="low", theme="citizen-services"
    )
    clock.advance(minutes=5)
    made["vpn"] = make_ticket(
        "staff_welfare",
        title="VPNの増強",
        body="テレワーク用",
        priority="urgent",
        theme="telework",
        due_date=date(2026, 12, 1),
    )
    clock.advance(minutes=5)
    made["paper"] = make_ticket(
        "staff_health2",
        title="ペーパーレス会議",
        body="タブレット 100%導入",
        priority="high",
        theme="three-less",
        due_date=date(2026, 11, 30),
    )
    clock.advance(minutes=5)
    made["done"] = make_ticket("staff_health", title="解決済みの相談", body="完了", priority="normal")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), made["vpn"])
    tickets.change_status(db.session, users["agent"], clock.now(), made["done"], "resolved")
    db.session.commit()
    return {k: v.number for k, v in made.items()}


def test_default_queue_is_open_tickets_most_urgent_first(queue, auth, browser):
    auth.login("agent")
    assert rows(browser.get("/queue")) == [queue["vpn"], queue["paper"], queue["line"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=resolved", ["done"]),
        ("status=new&status=assigned", ["vpn", "paper", "line"]),
        ("theme=telework", ["vpn"]),
        ("department=welfare", ["vpn"]),
        ("assignee=me", ["vpn"]),
        ("assignee=none", ["paper", "line"]),
        ("priority=high", ["paper"]),
        ("q=line", ["line"]),  # half-width finds full-width ＬＩＮＥ
        ("q=ＶＰＮ", ["vpn"]),  # and the other way round
        ("q=テレワーク", ["vpn"]),  # the body is searched too
        ("q=100%", ["paper"]),  # % is a character, not a wildcard
        ("q=ペーパーレス タブレット", ["paper"]),  # words are ANDed
        ("sort=created", ["line", "vpn", "paper"]),
        ("sort=created&dir=desc", ["paper", "vpn", "line"]),
        ("sort=due", ["paper", "vpn", "line"]),  # undated last
        ("status=new&status=assigned&status=resolved&sort=number", ["line", "vpn", "paper", "done"]),
    ],
)
def test_filters_and_sorting(query, expected, queue, auth, browser):
    auth.login("agent")
    assert rows(browser.get(f"/queue?{query}")) == [queue[k] for k in expected]


def test_paging(queue, auth, browser):
    auth.login("agent")
    first = browser.get("/queue?per_page=2")
    assert rows(first) == [queue["vpn"], queue["paper"]]
    assert "1 / 2" in first.get_data(as_text=True) or "2ページ中1ページ目" in first.get_data(as_text=True)
    assert rows(browser.get("/queue?per_page=2&page=2")) == [queue["line"]]
    assert rows(browser.get("/queue?per_page=2&page=99")) == [queue["line"]]  # past the end: the last page


def test_queue_and_ticket_pages_take_a_fixed_number_of_queries(make_ticket, users, clock, store, limits, auth, browser):
    def measure():
        with count_queries() as q:
            assert browser.get("/queue").status_code == 200
        queue_queries = len(q)
        with count_queries() as q:
            assert browser.get(f"/tickets/{first.number}").status_code == 200
        return queue_queries, len(q)

    first = make_ticket(initiatives=["sns-consultation", "telework"])
    tickets.add_reply(db.session, users["agent"], clock.now(), first, "返信", [], store, limits)
    make_ticket()  # a similar consultation from the start: the ticket page shows one
    db.session.commit()
    auth.login("agent")
    small = measure()
    for i in range(30):
        t = make_ticket(
            requester=["staff_health", "staff_welfare", "staff_health2"][i % 3],
            title=f"相談{i}",
            theme=["telework", "healthcare", None][i % 3],
        )
        if i % 2:
            tickets.claim_ticket(db.session, users[["agent", "agent2", "lead"][i % 3]], clock.now(), t)
    for i in range(20):
        tickets.add_reply(db.session, users["agent"], clock.now(), first, f"返信{i}", [], store, limits)
        tickets.add_internal_note(db.session, users["lead"], clock.now(), first, f"メモ{i}", [], store, limits)
    db.session.commit()
    large = measure()
    assert large == small, f"queries grew with rows: {small} -> {large}"
    assert large[0] <= 14 and large[1] <= 28


def test_opening_remembered_filters_again_writes_and_commits_nothing(make_ticket, auth, browser):
    """Paging through a filtered list, or opening the same filters again, costs what a bare
    queue costs: no commit, so the signed-in user is not loaded twice."""
    make_ticket()
    auth.login("agent")
    with count_queries() as q:
        assert browser.get("/queue").status_code == 200
    bare = len(q)
    assert browser.get("/queue?status=new").status_code == 200  # remembered: one write
    for _ in range(2):
        with count_queries() as q:
            assert browser.get("/queue?status=new&page=1").status_code == 200
        assert len(q) == bare, q


def test_queue_shows_business_time_left_at_risk_and_overdue_in_words(make_ticket, auth, browser, clock):
    urgent = make_ticket(title="至急の相談", priority="urgent")  # first response due in 60 business minutes
    auth.login("agent")
    row = lambda html: html.split(urgent.number, 2)[2].split("</tr>", 1)[0]  # noqa: E731
    assert "残り1時間00分" in row(browser.get("/queue").get_data(as_text=True))
    clock.advance(minutes=50)
    assert "期限間近：残り10分" in row(browser.get("/queue").get_data(as_text=True))
    clock.advance(minutes=40)
    assert "30分超過" in row(browser.get("/queue").get_data(as_text=True))
    page = browser.get(f"/tickets/{urgent.number}").get_data(as_text=True)
    assert "初回回答" in page and "期限超過" in page
    clock.advance(hours=15)  # 02:30 the next morning: only business time counts
    auth.login("agent")  # (the idle session ended overnight)
    assert "6時間45分超過" in row(browser.get("/queue").get_data(as_text=True))
    clock.advance(hours=6)  # 08:30: still before opening
    auth.login("agent")
    assert "6時間45分超過" in row(browser.get("/queue").get_data(as_text=True))


def test_queue_sorts_by_sla_due(make_ticket, auth, browser):
    low = make_ticket(title="低", priority="low")
    urgent = make_ticket(title="至急", priority="urgent")
    normal = make_ticket(title="通常", priority="normal")
    auth.login("agent")
    assert rows(browser.get("/queue?sort=sla")) == [urgent.number, normal.number, low.number]


def test_the_filters_offer_the_catalog_as_the_last_reference_load_left_it(auth, browser, renamed_department):
    """The themes and departments the filters offer come from the catalog stored with each
    reference load: a renamed department is offered by its new name at the next page."""

    def offered(name):
        page = browser.get("/queue?status=new").get_data(as_text=True)
        return re.findall(rf'<option value="[^"]*"[^>]*>{name}</option>', page)

    auth.login("agent")
    assert offered("健康医療部") and not offered("健康福祉医療局")
    with renamed_department("健康医療部", "健康福祉医療局"):
        assert offered("健康福祉医療局") and not offered("健康医療部")
    assert offered("健康医療部") and not offered("健康福祉医療局")


def test_a_theme_and_a_department_of_the_same_id_keep_their_own_names(app):
    """Catalog ids are unique within their kind only: a page's rows name each by its kind."""
    from swat.services.listing import ListRow, Named, Person
    from swat.web.pieces import consultation_rows, queue_rows

    when = app.extensions["swat.clock"].now()
    row = ListRow(
        id=1,
        number="2026-00001",
        title="件名",
        status="new",
        priority=2,
        created_at=when,
        last_activity_at=when,
        due_date=None,
        department_id="data",
        department=Named("data", "データ活用推進部", "Data Promotion Department"),
        theme=Named("data", "データ利活用", "Use of data"),
        requester_id=5,
        requester=Person(5, "相談者"),
        assignee=None,
    )
    with app.test_request_context("/queue"):
        queue = str(queue_rows([row, row], {}, False, {}))
        listed = str(consultation_rows([row], {}))
    assert queue.count('<td class="opt">データ活用推進部</td>') == 2
    assert queue.count('<td class="opt">データ利活用</td>') == 2
    assert "データ活用推進部 · 相談者" in listed
