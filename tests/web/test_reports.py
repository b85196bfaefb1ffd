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
    assert ">2</a></td>" in row
    browser.logout()
    auth.login("manager_health")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    row = html.split("受付件数", 1)[1].split("</tr>", 1)[0]
    assert ">1</a></td>" in row and "福祉部" not in html


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


def test_every_number_drills_down_to_its_tickets_under_the_usual_permissions(make_ticket, auth, browser, users,
                                                                              clock):
    import re

    from swat.services import tickets

    a = make_ticket("staff_health", title="健医の相談", theme="telework")
    b = make_ticket("staff_health2", title="健医の相談その二")
    c = make_ticket("staff_welfare", title="福祉の相談", theme="telework")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), a)
    tickets.change_status(db.session, users["agent"], clock.now(), a, "resolved")
    db.session.commit()
    auth.login("manager")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    links = dict(re.findall(r'href="(/consultations\?[^"]+)">(\d+)</a>', html.replace("&amp;", "&")))
    assert links, "numbers are links"
    for url, count in links.items():
        listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(url).get_data(as_text=True)))
        assert len(listed) == int(count), url
    theme_url = next(u for u in links if "theme=telework" in u and "measure=opened" in u)
    listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(theme_url).get_data(as_text=True)))
    assert listed == {a.number, c.number}
    browser.logout()
    auth.login("staff_health")  # the same link shows staff only their own department
    listed = set(re.findall(r'href="/tickets/(2026-\d{5})"', browser.get(theme_url).get_data(as_text=True)))
    assert listed == {a.number} and b.number not in listed


def test_each_breakdown_has_a_chart_drawn_on_the_server_beside_its_table(make_ticket, auth, browser):
    make_ticket("staff_health", theme="telework")
    auth.login("lead")
    html = browser.get("/reports?period=2026-11").get_data(as_text=True)
    section = html.split("部局別", 1)[1].split("</section>", 1)[0]
    assert '<svg class="chart" role="img" aria-label="部局別"' in section
    assert "<rect" in section and "健康医療部" in section and "<table>" in section
    assert "http" not in section.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")
