"""/reports as managers read it, and its CSV."""

from swat.extensions import db
from swat.models import Department


def test_report_page_and_scoping(make_ticket, auth, browser):
    make_ticket("staff_health", title="健医の相談")
    make_ticket("staff_welfare", title="福祉の相談")
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    assert "2026年11月" in html and "部局別" in html
    row = html.split("受付件数", 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td>" in row
    browser.logout()
    auth.login("manager_health")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    row = html.split("受付件数", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row and "福祉部" not in html


def test_bad_period_is_a_clear_400(auth, browser, users):
    auth.login("manager")
    assert browser.get("/reports?period=2026-13").status_code == 400


def test_csv_has_a_bom_and_neutralised_cells(make_ticket, auth, browser):
    dep = db.session.get(Department, "health-medical")
    dep.name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    make_ticket("staff_health")
    auth.login("manager")
    r = browser.get("/reports/export.csv?period=2026-11&table=department")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.data.startswith("\ufeff".encode())
    text = r.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert browser.get("/reports/export.csv?period=2026-11&table=nothing").status_code == 404
