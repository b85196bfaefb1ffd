"""A consultation's life through the pages: file, follow, claim, reply, resolve."""

import io
import re

from sqlalchemy import select

from swat.extensions import db
from swat.models import Attachment, Ticket


def file_form(**over):
    data = {
        "title": "LINEで子育て相談を受けたい",
        "body": "他部局の事例を教えてください。",
        "priority": "high",
        "theme": "",
        "due_date": "",
        "submission_token": "tok-" + over.pop("tok", "1"),
    }
    data.update(over)
    return data


def test_staff_files_and_sees_confirmation(auth):
    b = auth.login("staff_health")
    page = b.get("/consultations/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("title", "body", "theme", "initiatives", "priority", "due_date", "attachments"):
        assert f'name="{name}"' in html
    r = b.post(
        "/consultations/new",
        file_form(
            initiatives=["sns-consultation"],
            theme="citizen-services",
            due_date="2026-12-10",
            attachments=[(io.BytesIO("内容".encode()), "相談資料.txt")],
        ),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    number = r.headers["Location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"2026-\d{5}", number)
    page = b.get(r.headers["Location"]).get_data(as_text=True)
    assert number in page and "LINEで子育て相談を受けたい" in page and "相談資料.txt" in page
    listing = b.get("/consultations").get_data(as_text=True)
    assert number in listing


def test_double_submit_makes_one_ticket(auth):
    b = auth.login("staff_health")
    first = b.post("/consultations/new", file_form(tok="same"))
    second = b.post("/consultations/new", file_form(tok="same"))
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(Ticket)).all()) == 1


def test_going_back_after_filing_and_sending_the_same_text_asks_before_filing_it_again(auth, clock):
    b = auth.login("staff_health")
    first = b.post("/consultations/new", file_form(tok="first"))
    number = first.headers["Location"].rsplit("/", 1)[-1]
    clock.advance(minutes=3)
    # Back to the form: a new page (its own token) with the same text typed again.
    r = b.post("/consultations/new", file_form(tok="after-back"))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    question = html.split('id="duplicate"', 1)[1].split("</div>", 1)[0]
    assert f"同じ件名・内容の相談を {number} として登録済みです" in question
    assert f'href="/tickets/{number}"' in question and 'name="file_anyway"' in question
    assert "LINEで子育て相談を受けたい" in html  # what was typed is still in the form
    assert len(db.session.scalars(select(Ticket)).all()) == 1

    # Asked, the requester files it as another consultation.
    again = b.post("/consultations/new", file_form(tok="after-back", file_anyway="1"))
    assert again.status_code == 302 and again.headers["Location"] != first.headers["Location"]
    assert len(db.session.scalars(select(Ticket)).all()) == 2


def test_the_same_title_with_other_text_or_a_day_later_is_filed_without_asking(auth, clock, app):
    from tests.conftest import Browser

    def filed(browser, **form):
        r = browser.post("/consultations/new", file_form(**form))
        assert r.status_code == 302 and "/tickets/" in r.headers["Location"], r.status_code

    b = auth.login("staff_health")
    filed(b, tok="a")
    filed(b, tok="b", body="別の内容です。")
    colleague = Browser(app, app.test_client())
    colleague.login("staff_health2")  # the same department, another requester
    filed(colleague, tok="c")
    clock.advance(hours=24, minutes=1)
    filed(auth.login("staff_health"), tok="d")
    assert len(db.session.scalars(select(Ticket)).all()) == 4


def test_one_filed_before_moving_department_is_not_named_after_the_move(auth, users):
    b = auth.login("staff_health")
    first = b.post("/consultations/new", file_form(tok="before"))
    number = first.headers["Location"].rsplit("/", 1)[-1]
    users["staff_health"].department_id = "welfare"
    db.session.commit()
    r = b.post("/consultations/new", file_form(tok="after"))
    assert r.status_code == 302 and number not in r.headers["Location"]


def test_bad_input_gets_errors_in_japanese_not_500(auth):
    b = auth.login("staff_health")
    r = b.post("/consultations/new", file_form(title="", body=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "件名を入力してください。" in html and "相談内容を入力してください。" in html
    assert 'aria-invalid="true"' in html
    r = b.post("/consultations/new", file_form(title="あ" * 10000))
    assert r.status_code == 400 and "200" in r.get_data(as_text=True)
    r = b.post("/consultations/new", file_form(due_date="2026-13-45"))
    assert r.status_code == 400 and "正しい日付（YYYY-MM-DD）を入力してください。" in r.get_data(as_text=True)
    r = b.post("/consultations/new", file_form(theme="no-such-theme", initiatives=["nope"]))
    assert r.status_code == 400 and "有効なテーマを選択してください。" in r.get_data(as_text=True)
    r = b.post("/consultations/new", file_form(priority="<script>"))
    assert r.status_code == 400
    assert db.session.scalars(select(Ticket)).all() == []


def test_oversize_file_is_refused_with_a_message(auth, app):
    b = auth.login("staff_health")
    limit = app.config["SWAT"]["max_attachment_bytes"]
    r = b.post(
        "/consultations/new",
        file_form(attachments=[(io.BytesIO(b"x" * (limit + 1)), "大きな資料.pdf")]),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert "大きな資料.pdf" in r.get_data(as_text=True)
    assert db.session.scalars(select(Ticket)).all() == [] and db.session.scalars(select(Attachment)).all() == []


def test_request_over_the_total_limit_gets_a_friendly_413(auth, app):
    b = auth.login("staff_health")
    app.config["MAX_CONTENT_LENGTH"], old = 2048, app.config["MAX_CONTENT_LENGTH"]
    try:
        r = b.post(
            "/consultations/new",
            file_form(attachments=[(io.BytesIO(b"x" * 4096), "a.bin")]),
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    assert r.status_code == 413
    assert "MB" in r.get_data(as_text=True) and "Request Entity Too Large" not in r.get_data(as_text=True)


def test_agent_claims_replies_and_resolves(auth, make_ticket, browser):
    t = make_ticket()
    b = auth.login("agent")
    queue = b.get("/queue").get_data(as_text=True)
    assert t.number in queue
    assert b.post(f"/tickets/{t.number}/claim").status_code == 302
    assert b.post(f"/tickets/{t.number}/reply", {"body": "事例をお送りします。"}).status_code == 302
    assert b.post(f"/tickets/{t.number}/note", {"note-body": "福祉部の事例が近い"}).status_code == 302
    assert b.post(f"/tickets/{t.number}/status", {"status": "resolved"}).status_code == 302
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "事例をお送りします。" in page and "福祉部の事例が近い" in page
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "resolved"
    # the requester sees the answer but never the note
    b.logout()
    auth.login("staff_health")
    page = browser.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "事例をお送りします。" in page
    assert "福祉部の事例が近い" not in page and "内部メモ" not in page
    assert browser.post(f"/tickets/{t.number}/reopen").status_code == 302
    assert browser.post(f"/tickets/{t.number}/close").status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "closed"


def test_second_claim_is_told_who_won(auth, make_ticket, users, clock):
    from swat.services import tickets

    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent2"], clock.now(), t)
    db.session.commit()
    b = auth.login("agent")
    r = b.post(f"/tickets/{t.number}/claim", follow_redirects=True)
    assert users["agent2"].display_name in r.get_data(as_text=True)


def test_history_shows_who_changed_what(auth, make_ticket):
    t = make_ticket()
    b = auth.login("lead")
    b.post(f"/tickets/{t.number}/claim")
    b.post(f"/tickets/{t.number}/status", {"status": "in_progress"})
    html = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    history = html.split('class="history"', 1)[1]
    assert "Lead" in history and "対応中" in history


def test_main_pages_render_for_every_role(auth, browser, make_ticket, users):
    t = make_ticket()
    pages = {
        "staff_health": [
            "/consultations",
            "/consultations/new",
            f"/tickets/{t.number}",
            "/reference/governance",
            "/reference/initiatives",
        ],
        "agent": [
            "/queue",
            "/consultations",
            f"/tickets/{t.number}",
            "/reference/initiatives?category=2&theme=telework",
        ],
        "manager": ["/queue", f"/tickets/{t.number}"],
        "admin": ["/admin/users", "/admin/users/new", f"/admin/users/{users['agent'].id}", "/admin/users/import"],
    }
    for who, urls in pages.items():
        auth.login(who)
        for url in urls:
            r = browser.get(url)
            assert r.status_code == 200, (who, url, r.status_code)
        browser.logout()


def test_ticket_page_ids_are_unique_so_labels_point_at_their_fields(auth, make_ticket, browser):
    t = make_ticket()
    auth.login("agent")
    html = browser.get(f"/tickets/{t.number}").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'for="note-body"' in html and 'id="note-body"' in html
