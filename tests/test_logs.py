"""Logging in one place: the request id on every line of a request and in the response, the
500 page showing it, JSON lines when asked for, and no reset-link token in any line."""

import json
import logging
import re

import pytest

from swat import logs
from swat.app import create_app
from swat.extensions import db

from .conftest import CSRF_RE

ID = re.compile(r"^[0-9a-f]{16}$")
TOKEN = "ab" * 32


@pytest.fixture
def make_app(app, tmp_path):
    """An app on the suite's database with some settings of its own; the suite's logging is
    put back afterwards."""
    made = []

    def make(**overrides):
        settings = {
            "database_url": app.config["SQLALCHEMY_DATABASE_URI"],
            "instance_path": str(tmp_path / "instance"),
            "attachment_dir": str(tmp_path / "attachments"),
            **overrides,
        }
        other = create_app(settings)
        other.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page answers
        other.extensions["swat.clock"] = app.extensions["swat.clock"]
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    logs.configure(app.config["SWAT"])


def test_each_response_says_its_request_id_and_each_is_new(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert ID.match(first.headers["X-Request-Id"]) and ID.match(second.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_an_id_from_the_proxy_is_kept_only_when_the_proxy_is_trusted(make_app):
    direct = make_app().test_client()
    assert direct.get("/healthz", headers={"X-Request-Id": "lb-42.a_b"}).headers["X-Request-Id"] != "lb-42.a_b"
    proxied = make_app(proxy_count=1).test_client()
    assert proxied.get("/healthz", headers={"X-Request-Id": "lb-42.a_b"}).headers["X-Request-Id"] == "lb-42.a_b"
    for bad in ("has space", "x" * 129, "ü-id", "<script>"):
        answered = proxied.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert ID.match(answered), bad


def _lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_every_line_of_a_request_carries_its_id_as_json(make_app, users, capsys):
    desk = make_app(log_format="json")
    client = desk.test_client()
    capsys.readouterr()
    with desk.app_context():
        page = client.get("/login").get_data(as_text=True)
        token = CSRF_RE.search(page)
        answer = client.post("/login", data={"username": "agent", "password": "wrong", "csrf_token": token.group(1)})
    rid = answer.headers["X-Request-Id"]
    entries = [json.loads(line) for line in _lines(capsys)]
    failed = [e for e in entries if "failed sign-in" in e["message"]]
    assert len(failed) == 1, entries
    entry = failed[0]
    assert entry["request_id"] == rid and entry["level"] == "INFO" and entry["logger"] == desk.logger.name
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", entry["time"])


def test_the_500_page_shows_the_id_its_log_lines_carry(make_app, users, capsys):
    desk = make_app()

    @desk.get("/boom")
    def boom():
        raise RuntimeError("a bug nobody saw coming")

    capsys.readouterr()
    answer = desk.test_client().get("/boom")
    rid = answer.headers["X-Request-Id"]
    assert answer.status_code == 500 and f'data-testid="error-reference">{rid}<' in answer.get_data(as_text=True)
    lines = _lines(capsys)
    failure = [line for line in lines if "Exception on /boom" in line]
    assert failure and f"[{rid}]" in failure[0], lines
    assert any("a bug nobody saw coming" in line for line in lines)


def test_outside_a_request_the_id_is_a_dash_and_extra_fields_are_kept(capsys):
    out = logs.handler("json")
    record = logging.LogRecord("swat.jobs", logging.INFO, __file__, 1, "sweep done in %d ms", (12,), None)
    record.escalations = 3
    entry = json.loads(out.format(record) if out.filter(record) else "{}")
    assert entry["request_id"] == "-" and entry["message"] == "sweep done in 12 ms" and entry["escalations"] == 3


def test_no_line_holds_a_reset_links_token(make_app, capsys):
    desk = make_app()
    capsys.readouterr()
    desk.test_client().post(
        f"/password/reset/{TOKEN}", data={}
    )  # a POST the link does not take: logged? never its token
    logging.getLogger("swat.test").warning("opened %s", f"/password/reset/{TOKEN}")
    logging.getLogger("swat.test").warning(f"opened /password/reset/{TOKEN} again")
    assert TOKEN not in capsys.readouterr().err
    access = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%(h)s "%(r)s" %(s)s',
        None,
        None,
    )
    access.args = {
        "h": "192.0.2.1",
        "r": f"GET /password/reset/{TOKEN} HTTP/1.1",
        "U": f"/password/reset/{TOKEN}",
        "s": "303",
        "M": "4",
        "B": "0",
        "m": "GET",
        "q": "",
        logs.ACCESS_ID: "0123456789abcdef",
    }
    out = logs.handler("json")
    assert out.filter(access)
    entry = json.loads(out.format(access))
    assert TOKEN not in json.dumps(entry)
    assert entry["path"] == "/password/reset/…" and entry["status"] == 303 and entry["request_id"] == "0123456789abcdef"


def test_a_bad_log_setting_stops_the_desk(app, tmp_path):
    from swat.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="log_format"):
        load_settings({"log_format": "xml", "instance_path": str(tmp_path)})
    with pytest.raises(SettingsError, match="log_level"):
        load_settings({"log_level": "LOUD", "instance_path": str(tmp_path)})
    assert load_settings({"log_level": "debug", "instance_path": str(tmp_path)})["log_level"] == "DEBUG"


def test_a_request_refused_before_any_view_is_logged_and_answered_with_its_id(make_app, capsys):
    """The CSRF check and the boundary's guard answer before any view; the proxy's id is still
    in the response and on the line the refusal wrote."""
    client = make_app(proxy_count=1).test_client()
    capsys.readouterr()
    missing = client.post("/login", data={"username": "agent"}, headers={"X-Request-Id": "lb-csrf-1"})
    assert missing.status_code == 400 and missing.headers["X-Request-Id"] == "lb-csrf-1"
    assert "フォームの有効期限" in missing.get_data(as_text=True)  # the desk's page, not a bare 400
    said = [line for line in _lines(capsys) if "CSRF" in line]
    assert said and all("[lb-csrf-1]" in line for line in said), said
    nul = client.get("/login?next=a%00b", headers={"X-Request-Id": "lb-nul-2"})
    assert nul.status_code == 400 and nul.headers["X-Request-Id"] == "lb-nul-2"
