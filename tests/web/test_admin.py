"""Administration: users, roles, skills, and staff import from CSV."""

import io
import shutil

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from swat.extensions import db
from swat.models import User

from ..conftest import PASSWORD


def user(username):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username).options(selectinload(User.themes)))


def test_admin_creates_a_swat_member_with_skills(auth, browser):
    auth.login("admin")
    r = browser.post(
        "/admin/users/new",
        {
            "username": "sato",
            "display_name": "佐藤 一",
            "password": "a long password",
            "role": "agent",
            "department": "smart-city",
            "themes": ["telework", "data"],
            "active": "y",
        },
    )
    assert r.status_code == 302
    u = user("sato")
    assert (u.role, u.department_id, sorted(t.id for t in u.themes)) == ("agent", "smart-city", ["data", "telework"])
    assert "佐藤 一" in browser.get("/admin/users").get_data(as_text=True)
    browser.logout()
    assert browser.login("sato", "a long password").status_code == 302


def test_admin_form_errors_are_shown(auth, browser):
    auth.login("admin")
    r = browser.post(
        "/admin/users/new",
        {"username": "staff_health", "display_name": "x", "password": "short", "role": "staff", "department": ""},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert user("staff_health").display_name == "Staff Health"


def test_admin_deactivates_and_changes_role(auth, browser, users):
    auth.login("admin")
    uid = users["agent2"].id
    r = browser.post(
        f"/admin/users/{uid}",
        {"display_name": "二葉", "role": "lead", "department": "smart-city", "themes": ["telework"], "email": ""},
    )
    assert r.status_code == 302
    u = user("agent2")
    assert (u.role, u.active, u.display_name) == ("lead", False, "二葉")  # unchecked box = deactivated
    browser.logout()
    assert browser.login("agent2").status_code == 200  # a deactivated account cannot sign in


CSV = "username,display_name,department,email\r\nyamada,山田 太郎,welfare,yamada@example.jp\r\nsuzuki,鈴木 花子,education,\r\n"


def test_staff_import_from_csv_with_generated_passwords(auth, browser):
    auth.login("admin")
    r = browser.post(
        "/admin/users/import",
        {"file": (io.BytesIO(("\ufeff" + CSV).encode("utf-8")), "職員.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "山田 太郎" in html and "鈴木 花子" in html
    u = user("yamada")
    assert (u.role, u.department_id) == ("staff", "welfare")


def test_staff_import_accepts_shift_jis(auth, browser):
    auth.login("admin")
    r = browser.post(
        "/admin/users/import",
        {"file": (io.BytesIO(CSV.encode("cp932")), "職員.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert user("suzuki").display_name == "鈴木 花子"


def test_one_bad_row_imports_nothing_and_names_the_line(auth, browser):
    auth.login("admin")
    bad = CSV + "tanaka,田中,no-such-department,\r\n"
    r = browser.post(
        "/admin/users/import", {"file": (io.BytesIO(bad.encode()), "x.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "4行目" in html
    assert user("yamada") is None and user("tanaka") is None


def test_cli_creates_users_and_loads_reference(app, ctx, tmp_path):
    runner = app.test_cli_runner()
    r = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "cli-agent",
            "--password-stdin",
            "--role",
            "agent",
            "--themes",
            "telework,data",
        ],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    assert sorted(t.id for t in user("cli-agent").themes) == ["data", "telework"]
    r = runner.invoke(
        args=["users", "create", "--username", "cli-staff", "--password-stdin", "--role", "staff"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 1 and "department" in r.output.lower()
    r = runner.invoke(args=["reference", "load"])
    assert r.exit_code == 0 and "0 created, 0 updated" in r.output
    shutil.copytree(app.config["SWAT"]["reference_dir"], tmp_path / "ref")
    (tmp_path / "ref" / "departments.yaml").write_text("departments: [", encoding="utf-8")
    r = runner.invoke(args=["reference", "load", "--dir", str(tmp_path / "ref")])
    assert r.exit_code == 1 and "departments.yaml" in r.output and "nothing was loaded" in r.output


def test_routing_evaluate_reports_figures_and_never_judges_with_its_own_rows(app, ctx, tmp_path):
    import json

    runner = app.test_cli_runner()
    examples = app.config["SWAT"]["reference_dir"] + "/routing-examples/dev.jsonl"
    r = runner.invoke(args=["routing", "evaluate", examples, "--json"])
    assert r.exit_code == 0, r.output
    figures = json.loads(r.stdout)
    assert set(figures) >= {
        "theme_accuracy",
        "initiative_top1",
        "initiative_top3",
        "n",
        "calibration",
        "applied",
        "brier",
    }
    assert sum(b["n"] for b in figures["calibration"]) == 30 and figures["applied_right"] <= figures["applied"] <= 30
    assert figures["n"] == 30 and 0.8 <= figures["theme_accuracy"] < 1.0  # not a model that saw these rows
    r = runner.invoke(args=["routing", "evaluate", examples])
    assert "theme accuracy" in r.output and "confusion" in r.output and "confidence calibration" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x", "body": "y", "theme": "telework"}\nnot json\n', encoding="utf-8")
    r = runner.invoke(args=["routing", "evaluate", str(bad)])
    assert r.exit_code == 1 and "bad.jsonl:2" in r.output


def test_an_address_that_is_not_one_is_refused_in_the_form_and_the_import(auth, browser):
    import html as html_lib

    auth.login("admin")
    form = {"username": "kato", "display_name": "加藤", "password": "a long password", "role": "staff"}
    form |= {"department": "welfare", "active": "y"}
    for bad in ("not-an-email", "kato@pref.example.jp\r\nBcc: all@pref.example.jp", "kato@@pref"):
        r = browser.post("/admin/users/new", {**form, "email": bad})
        assert r.status_code == 400, bad
        assert "正しいメールアドレスを入力してください" in html_lib.unescape(r.get_data(as_text=True))
        assert user("kato") is None
    assert browser.post("/admin/users/new", {**form, "email": " Kato@Pref.Example.JP "}).status_code == 302
    assert user("kato").email == "Kato@pref.example.jp"  # the domain in its normal form
    bad_row = CSV + "tanaka,田中,welfare,tanaka at pref\r\n"
    r = browser.post(
        "/admin/users/import", {"file": (io.BytesIO(bad_row.encode()), "x.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 400 and "4行目" in html_lib.unescape(r.get_data(as_text=True))
    assert user("tanaka") is None
