"""Fixtures: one app per session, a clean database per test, a signed-in client.

The suite runs on SQLite by default and on PostgreSQL when
SWAT_TEST_DATABASE_URL is set (postgresql+psycopg://...). The schema is made
by the real Alembic migrations, once; each test then starts from reference
data only.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import has_app_context
from sqlalchemy import event, text, update

os.environ.setdefault("SWAT_CONFIG", "config/testing.toml")

from swat.app import create_app  # noqa: E402
from swat.domain.clock import FixedClock  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Base, ReferenceDocument  # noqa: E402
from swat.services import accounts, tickets  # noqa: E402
from swat.services.reference import load_reference  # noqa: E402
from swat.services.routing_rules import load_routing  # noqa: E402
from swat.services.sla import load_sla  # noqa: E402
from swat.services.storage import AttachmentStore  # noqa: E402

# Fixtures of their own modules (tests/fixtures/): one per real server.
pytest_plugins = ["tests.fixtures.dovecot", "tests.fixtures.slapd", "tests.fixtures.smtp"]

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo, a Wednesday
PASSWORD = "correct horse battery"
# Tables holding reference data survive between tests; everything else is emptied.
REFERENCE_TABLES = {
    "reference_documents",
    "departments",
    "governance_bodies",
    "escalation_steps",
    "themes",
    "initiatives",
    "initiative_departments",
    "initiative_themes",
    "alembic_version",
}

USERS = {
    # username: (role, department, themes)
    "staff_health": ("staff", "health-medical", []),
    "staff_health2": ("staff", "health-medical", []),
    "staff_welfare": ("staff", "welfare", []),
    "agent": ("agent", "smart-city", ["citizen-services", "healthcare"]),
    "agent2": ("agent", "smart-city", ["telework"]),
    "lead": ("lead", "smart-city", ["ict-governance"]),
    "manager": ("manager", None, []),
    "manager_health": ("manager", "health-medical", []),
    "admin": ("admin", None, []),
}


def database_url(tmp_root) -> str:
    url = os.environ.get("SWAT_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_root}/test.db"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("swat")
    application = create_app(
        {
            "database_url": database_url(root),
            "instance_path": str(root / "instance"),
            "attachment_dir": str(root / "attachments"),
        }
    )
    with application.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
        load_reference(db.session, application.config["SWAT"]["reference_dir"])
        load_routing(db.session, application.config["SWAT"]["reference_dir"], START)
        load_sla(db.session, application.config["SWAT"]["reference_dir"], START)
        db.session.commit()
        application.extensions["test.routing_doc"] = db.session.get(ReferenceDocument, "routing")
        db.session.expunge_all()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe(application) -> None:
    shutil.rmtree(application.config["SWAT"]["attachment_dir"], ignore_errors=True)
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    # On SQLite deleting children fires the report-fact triggers, and deleting facts fires
    # the triggers of their sums: empty the facts after the tickets, and their sums last.
    order = {"report_facts": 1, "report_time_counts": 1, "report_months": 2, "report_time_buckets": 2}
    tables.sort(key=lambda t: order.get(t.name, 0))
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())
    load_reference(db.session, application.config["SWAT"]["reference_dir"])
    # Put back the shipped routing rules if a test loaded others (cheaper than reloading them).
    shipped = application.extensions["test.routing_doc"]
    db.session.execute(
        update(ReferenceDocument)
        .where(ReferenceDocument.name == "routing", ReferenceDocument.checksum != shipped.checksum)
        .values(content=shipped.content, checksum=shipped.checksum)
    )
    db.session.commit()


@pytest.fixture
def renamed_department(app, tmp_path):
    """A context: the reference data loaded with one department's name replaced (or one text
    of another file of the reference data), then the shipped data loaded again (both
    committed)."""
    from pathlib import Path

    @contextmanager
    def renamed(old: str, new: str, file: str = "departments.yaml"):
        src = Path(app.config["SWAT"]["reference_dir"])
        shutil.copytree(src, tmp_path / "ref", dirs_exist_ok=True)
        yaml = tmp_path / "ref" / file
        yaml.write_text(yaml.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        load_reference(db.session, tmp_path / "ref")
        db.session.commit()
        try:
            yield
        finally:
            load_reference(db.session, src)
            db.session.commit()

    return renamed


@pytest.fixture
def clock(app):
    c = FixedClock(START)
    app.extensions["swat.clock"] = c
    return c


@pytest.fixture
def ctx(app, clock):
    """An app context on a clean database (reference data only)."""
    with app.app_context():
        _wipe(app)
        yield app
        db.session.remove()


@pytest.fixture
def session(ctx):
    return db.session


@pytest.fixture
def users(ctx, clock):
    """The standard cast, committed: a dict of username -> User."""
    made = {}
    for username, (role, dep, themes) in USERS.items():
        made[username] = accounts.create_user(
            db.session,
            clock.now(),
            username=username,
            password=PASSWORD,
            role=role,
            display_name=username.replace("_", " ").title(),
            department_id=dep,
            theme_ids=themes,
            hash_method="pbkdf2:sha256:1000",
            must_change_password=False,
        )
    db.session.commit()
    return made


@pytest.fixture
def store(app):
    return AttachmentStore(app.config["SWAT"]["attachment_dir"])


@pytest.fixture
def limits(app):
    s = app.config["SWAT"]
    return tickets.Limits(s["max_attachment_bytes"], s["max_attachments_per_post"])


@pytest.fixture
def make_ticket(ctx, users, clock, store, limits):
    """File a consultation through the service and commit it."""

    def make(
        requester="staff_health",
        title="LINEで相談を受けたい",
        body="LINE相談の事例を教えてください。",
        theme=None,
        initiatives=(),
        priority="normal",
        due_date=None,
        files=(),
        **_,
    ):
        t = tickets.file_consultation(
            db.session,
            users[requester],
            clock.now(),
            title=title,
            body=body,
            theme_id=theme,
            initiative_ids=list(initiatives),
            priority=priority,
            due_date=due_date,
            files=list(files),
            store=store,
            limits=limits,
        )
        db.session.commit()
        return t

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A test client that signs in through /login and sends CSRF tokens like a browser.

    Each request runs in an app context of its own (its own `g` and database
    session), as it would in a server; the test's own session first ends its
    transaction, as another user's would have.
    """

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self._token = None

    def _open(self, method, url, **kw):
        if has_app_context():
            db.session.commit()
        with self.app.app_context():
            response = self.client.open(url, method=method, **kw)
            response.get_data()  # read streamed bodies while the request's context is alive
            response.close()  # closes files a download streamed
            return response

    def token(self):
        if self._token is None:
            page = self.get("/login")
            match = CSRF_RE.search(page.get_data(as_text=True))
            assert match, "no CSRF token on the page"
            self._token = match.group(1)
        return self._token

    def login(self, username, password=PASSWORD):
        self._token = None
        response = self.post("/login", {"username": username, "password": password})
        self._token = None
        return response

    def logout(self):
        response = self.post("/logout", {})
        self._token = None
        return response

    def get(self, url, **kw):
        return self._open("GET", url, **kw)

    def post(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self._open("POST", url, data=data, **kw)


@pytest.fixture
def client(ctx):
    return ctx.test_client()


@pytest.fixture
def browser(ctx, client):
    return Browser(ctx, client)


@pytest.fixture
def auth(browser, users):
    """auth.login("agent") signs the browser in as one of the standard users."""

    class Auth:
        def login(self, username):
            response = browser.login(username)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            return browser

    return Auth()


@contextmanager
def count_queries():
    statements = []

    def before(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def query_counter(ctx):
    return count_queries
