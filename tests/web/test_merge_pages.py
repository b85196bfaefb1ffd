"""Linking and merging from the consultation's page, as the desk and the requesters see it."""

from swat.extensions import db
from swat.models import Ticket
from swat.services import tickets
from tests.web.test_conflicts import stamp


def fresh(t):
    db.session.expire_all()
    return db.session.get(Ticket, t.id)


def test_a_member_merges_a_duplicate_and_both_pages_say_so(auth, make_ticket, users, clock, store, limits):
    original = make_ticket(title="予約システムの導入")
    clock.advance(hours=2)
    duplicate = make_ticket(
        requester="staff_health2", title="予約システム（再送）", body="同じ相談をもう一度送ります。"
    )
    b = auth.login("agent")
    page = b.get(f"/tickets/{duplicate.number}").get_data(as_text=True)
    assert f'action="/tickets/{duplicate.number}/merge"' in page

    # The first submit only shows where it would go, with the button that merges.
    r = b.post(f"/tickets/{duplicate.number}/merge", {"number": original.number, **stamp(page)})
    assert r.status_code == 200
    confirm = r.get_data(as_text=True)
    assert f"この重複相談を {original.number} に統合しますか？" in confirm and "予約システムの導入" in confirm
    assert fresh(duplicate).merged_into_id is None

    r = b.post(f"/tickets/{duplicate.number}/merge", {"number": original.number, "confirm": "1", **stamp(confirm)})

    assert r.status_code == 302
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert f"この相談を {original.number} に統合しました。" in html
    assert "この相談は次の相談に統合されました。" in html and f'href="/tickets/{original.number}"' in html
    assert f'action="/tickets/{duplicate.number}/reply"' not in html  # no more replies here
    assert f'action="/tickets/{duplicate.number}/merge"' not in html
    assert "別の相談に統合" in html.split('class="history"', 1)[1]

    # The requester of the duplicate reads it on the original, marked as coming from it.
    staff = auth.login("staff_health2")
    there = staff.get(f"/tickets/{original.number}").get_data(as_text=True)
    assert "同じ相談をもう一度送ります。" in there
    assert f"{duplicate.number} から統合" in there
    assert "統合された重複相談" in there and "重複相談を統合" in there
    assert fresh(duplicate).status == "closed"


def test_a_refused_merge_says_why_and_changes_nothing(auth, make_ticket):
    duplicate = make_ticket()
    other = make_ticket(requester="staff_welfare", title="福祉の相談")
    b = auth.login("agent")
    page = b.get(f"/tickets/{duplicate.number}").get_data(as_text=True)
    r = b.post(f"/tickets/{duplicate.number}/merge", {"number": other.number, **stamp(page)})
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "統合できるのは同じ部局の相談どうしだけです。関連付けを使ってください。" in html
    page = b.get(f"/tickets/{duplicate.number}").get_data(as_text=True)
    r = b.post(f"/tickets/{duplicate.number}/merge", {"number": "abc", **stamp(page)})
    assert "2026-00042 のような相談番号を入力してください。" in b.get(r.headers["Location"]).get_data(as_text=True)
    assert fresh(duplicate).merged_into_id is None


def test_requesters_cannot_link_or_merge(auth, make_ticket):
    a, b_ticket = make_ticket(), make_ticket(title="別件")
    staff = auth.login("staff_health")
    page = staff.get(f"/tickets/{a.number}").get_data(as_text=True)
    assert "/merge" not in page and "/link" not in page
    r = staff.post(f"/tickets/{a.number}/merge", {"number": b_ticket.number, "confirm": "1", **stamp(page)})
    html = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "この相談を変更する権限がありません。" in html
    assert fresh(a).merged_into_id is None


def test_related_consultations_link_both_ways_and_can_be_unrelated(auth, make_ticket):
    a, other = make_ticket(), make_ticket(requester="staff_welfare", title="福祉の相談")
    b = auth.login("agent")
    page = b.get(f"/tickets/{a.number}").get_data(as_text=True)
    r = b.post(f"/tickets/{a.number}/link", {"number": other.number, **stamp(page)})
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert f"{other.number} と関連付けました。" in html
    assert "関連する相談" in html and f'href="/tickets/{other.number}"' in html
    assert f'href="/tickets/{a.number}"' in b.get(f"/tickets/{other.number}").get_data(as_text=True)
    # The health department's staff do not learn of the welfare consultation.
    staff_page = auth.login("staff_health").get(f"/tickets/{a.number}").get_data(as_text=True)
    assert other.number not in staff_page

    b = auth.login("agent")
    page = b.get(f"/tickets/{a.number}").get_data(as_text=True)
    r = b.post(f"/tickets/{a.number}/unlink", {"number": other.number, **stamp(page)})
    html = b.get(r.headers["Location"]).get_data(as_text=True)
    assert f"{other.number} との関連付けを外しました。" in html
    assert "関連する相談" not in html.split('class="history"', 1)[0]


def test_a_merge_from_an_out_of_date_page_is_refused(auth, make_ticket, users, clock, store, limits):
    original, duplicate = make_ticket(), make_ticket(title="重複")
    b = auth.login("agent")
    page = b.get(f"/tickets/{duplicate.number}").get_data(as_text=True)
    tickets.add_reply(db.session, users["agent2"], clock.now(), duplicate, "回答しました", [], store, limits)
    db.session.commit()
    r = b.post(f"/tickets/{duplicate.number}/merge", {"number": original.number, "confirm": "1", **stamp(page)})
    assert r.status_code == 409
    assert fresh(duplicate).merged_into_id is None


def test_a_reply_sent_to_a_consultation_merged_meanwhile_waits_as_a_draft_on_the_original(
    auth, make_ticket, users, clock
):
    from swat.services import merge

    original, duplicate = make_ticket(), make_ticket(requester="staff_health2", title="重複")
    staff = auth.login("staff_health2")
    page = staff.get(f"/tickets/{duplicate.number}").get_data(as_text=True)
    merge.merge_ticket(db.session, users["agent"], clock.now(), duplicate, original.number)
    db.session.commit()

    r = staff.post(f"/tickets/{duplicate.number}/reply", {"body": "追加で質問です。", **stamp(page)})

    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tickets/{original.number}")
    html = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert f"入力中にこの相談は {original.number} に統合されました。" in html
    assert "追加で質問です。</textarea>" in html  # in the original's reply box, as a draft
