"""Bad input never reaches a 500: every route of the URL map, with hostile values everywhere.

The routes come from the application's own URL map, so a route added later is walked
without being listed. What each route reads is found, not listed either:

- path parameters from the rule;
- query parameters from the links, GET forms and redirects that point at the route on
  every page the cast can open, and from the keys the view actually read (request.args
  is watched while the pages are crawled);
- form fields from the <form>s that post to the route, with their values as the
  baseline, and from the keys the view read while it was being probed.

Each parameter in turn gets each value of BAD (the other parameters keep good values),
as the first role (in ROLES order) that can open the page or was shown a form for it;
every other such role gets the values of EVERY_ROLE (NUL, an id beyond the integer, a
period at the calendar's end), which keeps the walk to a few minutes. A route no page
links to is walked as every role. The rule:

- never a 5xx;
- a NUL anywhere, or a query value or form field over the boundary's limit: 400 with the
  boundary's message, in Japanese;
- an id in the path beyond the database's integer: 404;
- any other 4xx: the desk's HTML page in the user's language (Japanese), and nothing
  written (the rows of every table counted before and after);
- otherwise the normal page or a redirect: the value was legitimately ignored or taken.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from flask import request
from flask.signals import request_started
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from swat.app import create_app
from swat.extensions import db
from swat.models import Base, MemberAbsence
from swat.services import escalation, queue_views, tickets
from swat.services.storage import Upload
from swat.web.boundary import DB_INT_MAX, MAX_FIELD_CHARS, MAX_FILENAME_CHARS, MAX_QUERY_CHARS, IdConverter

NUL_JA = "保存できない文字（NUL文字、コード0）が含まれています"
CONTROL_JA = "保存できない制御文字（コード1）が含まれています"
CSRF_JA = "フォームの有効期限が切れました"
TOO_LONG_JA = "長すぎる値があります"

# The hostile values every parameter gets, by name.
BAD = {
    "nul": "1\x00",
    "control": "1\x01",
    "int_over": str(DB_INT_MAX + 1),
    "int_huge": "9" * 40,
    "negative": "-1",
    "superscript_digits": "²³",  # str.isdigit() says yes, int() says no
    "arabic_digits": "١٢",  # int() reads these
    "malformed": "1e3'\"<>;--%s{}",
    "fy1": "FY1",
    "month_1": "0001-01",
    "year_9999": "9999-12-01..9999-12-31",
    "date_9999": "9999-12-31",
    "bad_date": "2026-02-30",
    "empty": "",
}
ROLES = ("anonymous", "staff_health", "agent", "lead", "manager", "admin")
# The first role that can open a page gets every value; the others (whose requests take the
# same parsing paths) get the values each layer refuses differently, to keep the walk quick.
EVERY_ROLE = ("nul", "control", "int_over", "year_9999")


def limit_of(where: str, kind: str | None) -> int:
    """The boundary's limit for a query value, a form field or an uploaded file's name."""
    if where == "query":
        return MAX_QUERY_CHARS
    return MAX_FILENAME_CHARS if kind == "file" else MAX_FIELD_CHARS


# ------------------------------------------------------------------ the routes
def _rules():
    app = create_app({"database_url": "sqlite://", "instance_path": tempfile.mkdtemp(prefix="swat-rules-")})
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append(pytest.param(rule.rule, method, id=f"{method} {rule.rule}"))
    return out


RULES = _rules()


# ------------------------------------------------------------------ what a view reads
class Watched(MultiDict):
    """request.args or request.form that remembers the keys a view asked for."""

    def __init__(self, data, seen: set[str]):
        super().__init__(data)
        self.seen = seen

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002
        self.seen.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)


class Reads:
    """The query keys and form keys each endpoint read, while connected."""

    def __init__(self):
        self.args: dict[str, set[str]] = {}
        self.form: dict[str, set[str]] = {}

    def __call__(self, sender, **extra):
        endpoint = request.endpoint
        if endpoint is None:
            return
        request.args = Watched(request.args, self.args.setdefault(endpoint, set()))
        if request.method == "POST":
            request.form = Watched(request.form, self.form.setdefault(endpoint, set()))


# ------------------------------------------------------------------ pages
class Page(HTMLParser):
    """The forms and links of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").upper(),
                "multipart": "multipart" in a.get("enctype", ""),
                "fields": [],  # (name, value or list, type)
            }
            self.forms.append(self._form)
        elif self._form is None or not a.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((a["name"], a.get("value", "on"), kind))
                else:
                    self._form["fields"].append((a["name"], None, kind))
            elif kind not in ("submit", "button", "reset", "image"):
                self._form["fields"].append((a["name"], a.get("value", ""), kind))
        elif tag == "select":
            self._select = (a["name"], "multiple" in a)
            self._options = []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, multiple = self._select
            chosen = [v for v, selected in self._options if selected]
            if multiple:
                self._form["fields"].append((name, chosen, "select-multiple"))
            else:
                first = self._options[0][0] if self._options else ""
                self._form["fields"].append((name, chosen[0] if chosen else first, "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append((self._textarea, self._text, "textarea"))
            self._textarea = None


class Site:
    """What the crawl found, per endpoint: who opened it, which query keys point at it,
    the forms that post to it (fields and baseline values, and the path they post to)."""

    def __init__(self, world_ids):
        self.world_ids = world_ids
        self.opened: dict[tuple[str, str], set[str]] = {}  # (endpoint, method) -> roles
        self.query: dict[str, set[str]] = {}
        self.forms: dict[str, dict] = {}  # endpoint -> {"fields": {...}, "types": {...}, "multipart", "path"}
        self.paths: dict[str, str] = {}  # endpoint -> a path seen pointing at it


def _match(adapter, url: str, method: str):
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/"):
        return None
    try:
        endpoint, _args = adapter.match(parts.path, method=method)
    except (HTTPException, RequestRedirect):
        return None
    return endpoint, parts.path, [k for k, _v in parse_qsl(parts.query, keep_blank_values=True)]


def crawl(app, clients, world) -> Site:
    site = Site(world.ids)
    adapter = app.url_map.bind("localhost")
    for role, client in clients.items():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            response = client.get(path_for(rule, world))
            if response.status_code == 200:
                site.opened.setdefault((rule.endpoint, "GET"), set()).add(role)
            location = response.headers.get("Location")
            found = [location] if location else []
            forms = []
            if response.mimetype == "text/html":
                parser = Page()
                parser.feed(response.get_data(as_text=True))
                found += parser.links
                forms = parser.forms
            for url in found:
                hit = _match(adapter, url, "GET")
                if hit:
                    site.query.setdefault(hit[0], set()).update(hit[2])
                    site.paths.setdefault(hit[0], hit[1])
            for form in forms:
                hit = _match(adapter, form["action"] or response.request.path, form["method"])
                if hit is None:
                    continue
                endpoint = hit[0]
                if form["method"] == "GET":
                    site.query.setdefault(endpoint, set()).update(name for name, _v, _t in form["fields"])
                    continue
                site.opened.setdefault((endpoint, "POST"), set()).add(role)
                site.paths.setdefault(endpoint, hit[1])
                known = site.forms.setdefault(
                    endpoint, {"fields": {}, "types": {}, "multipart": form["multipart"], "path": hit[1]}
                )
                for name, value, kind in form["fields"]:
                    if name == "csrf_token":
                        continue  # each client sends its own session's token (a stale one fails every probe)
                    known["types"].setdefault(name, kind)
                    if kind in ("checkbox", "radio"):
                        if value is not None:
                            known["fields"].setdefault(name, value)
                    elif kind != "file":
                        known["fields"].setdefault(name, value)
    return site


ARGUMENT = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def is_id(app, rule, name: str) -> bool:
    """The parameter is read by the id converter (`<int:name>`)."""
    for converter, arg in ARGUMENT.findall(rule.rule):
        if arg == name:
            return app.url_map.converters.get(converter or "default") is IdConverter
    return False


def path_for(rule, world, override: tuple[str, str] | None = None) -> str:
    """The rule's path with the world's values, one of them replaced (percent-encoded)."""

    def value(m: re.Match) -> str:
        name = m.group(2)
        if override and override[0] == name:
            text = override[1]
        elif name in world.paths:
            text = world.paths[name]
        else:
            text = "1" if m.group(1) == "int" else "x"
        return quote(text, safe="/")

    return ARGUMENT.sub(value, rule.rule)


# ------------------------------------------------------------------ the world
class World:
    def __init__(self, paths: dict[str, str]):
        self.paths = paths
        self.ids = tuple(sorted(paths.items()))


@pytest.fixture
def world(users, make_ticket, clock, store, limits, app):
    """A desk with one of everything a page can show a form for."""
    agent = users["agent"]
    first = make_ticket(
        priority="urgent", files=[Upload("資料.txt", io.BytesIO(b"data"), "text/plain")], theme="citizen-services"
    )
    tickets.claim_ticket(db.session, agent, clock.now(), first)
    tickets.add_internal_note(
        db.session, agent, clock.now(), first, "内部メモ", [Upload("内部.txt", io.BytesIO(b"x"))], store, limits
    )
    make_ticket(title="まだ誰も見ていない相談")
    from swat.services import routing

    triaged = make_ticket(title="相談です", body="よろしくお願いします。")
    routing.route_new_ticket(db.session, triaged, clock.now(), auto_apply=False)
    done = make_ticket(title="解決した相談")
    tickets.claim_ticket(db.session, agent, clock.now(), done)
    tickets.change_status(db.session, agent, clock.now(), done, "resolved")
    db.session.commit()
    clock.advance(minutes=45)  # 75 % of the urgent first response: the assignee is warned
    escalation.sweep(db.session, clock.now())
    view = queue_views.save_view(db.session, agent, clock.now(), "自分の担当", "assignee=me")
    today = clock.now().date()
    absence = MemberAbsence(
        user_id=agent.id,
        starts_on=today + timedelta(days=1),
        ends_on=today + timedelta(days=2),
        note="研修",
        created_by_id=agent.id,
        created_at=clock.now(),
    )
    db.session.add(absence)
    db.session.commit()
    from swat.models import Attachment, Escalation

    esc = db.session.scalar(select(Escalation))
    att = db.session.scalar(select(Attachment).where(Attachment.ticket_id == first.id).order_by(Attachment.id))
    assert esc is not None and att is not None
    return World(
        {
            "number": first.number,
            "file_id": str(att.id),
            "user_id": str(agent.id),
            "escalation_id": str(esc.id),
            "view_id": str(view.id),
            "absence_id": str(absence.id),
            "filename": "css/app.css",
        }
    )


_SITE: list[Site] = []


@pytest.fixture
def reads(app):
    watcher = Reads()
    request_started.connect(watcher, app)
    yield watcher
    request_started.disconnect(watcher, app)


@pytest.fixture
def clients(app, browser, world):
    make = type(browser)  # the suite's browser-like client, one per role
    out = {}
    for role in ROLES:
        b = make(app, app.test_client())
        if role != "anonymous":
            assert b.login(role).status_code == 302
        out[role] = b
    return out


@pytest.fixture
def site(app, clients, world, reads) -> Site:
    if not _SITE or _SITE[0].world_ids != world.ids:
        _SITE[:] = [crawl(app, clients, world)]
    return _SITE[0]


def row_counts() -> tuple[int, ...]:
    tables = Base.metadata.sorted_tables
    counts = tuple(
        db.session.execute(select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])).one()
    )
    db.session.commit()
    return counts


# ------------------------------------------------------------------ the walk
@pytest.mark.parametrize("rule_text, method", RULES)
def test_every_parameter_of_every_route_refuses_bad_input_cleanly(rule_text, method, app, site, clients, world, reads):
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text)
    endpoint = rule.endpoint
    opened = site.opened.get((endpoint, method), set())
    roles = [r for r in ROLES if r in opened] or list(ROLES)
    form = site.forms.get(endpoint, {"fields": {}, "types": {}, "multipart": False})
    failures: list[str] = []
    sent = 0
    reached = 0  # probes that got past the boundary's and the CSRF check's refusals
    counted = [row_counts()]  # the rows now: each probe's "after" is the next one's "before"

    def probe(role: str, where: str, name: str, label: str, value: str) -> None:
        nonlocal sent, reached
        client = clients[role]
        path = path_for(rule, world, (name, value) if where == "path" else None)
        query: dict[str, str] = {}
        data: dict = dict(form["fields"]) if method == "POST" else {}
        if where == "query":
            query[name] = value
        elif where == "form":
            if form["types"].get(name) == "file" and label != "text_in_file_field":
                data[name] = (io.BytesIO(b"x"), value)
            else:
                data[name] = value
        before = counted[0]
        kw = {"query_string": query}
        if method == "POST":
            if form["multipart"] or any(isinstance(v, tuple) for v in data.values()):
                kw["content_type"] = "multipart/form-data"
            response = client.post(path, data, **kw)
        else:
            response = client.get(path, **kw)
        sent += 1
        after = counted[0] = row_counts()
        status = response.status_code
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        what = f"{method} {rule_text} as {role}: {where} {name!r} = {label}"
        if status >= 500:
            failures.append(f"{what} -> {status}")
            return
        refused_early = status == 400 and any(m in body for m in (NUL_JA, CONTROL_JA, TOO_LONG_JA, CSRF_JA))
        reached += not refused_early
        if CSRF_JA in body and name != "csrf_token":  # a bad token itself is rightly refused so
            failures.append(f"{what} -> the CSRF refusal: the probe never reached the view")
        if "\x01" in value:
            if status != 400 or CONTROL_JA not in body:
                failures.append(f"{what} -> {status}, not the control character refusal")
        elif "\x00" in value or "\x00" in name:
            if status != 400 or NUL_JA not in body:
                failures.append(f"{what} -> {status}, not the NUL refusal")
        elif where in ("query", "form") and len(value) > limit_of(where, form["types"].get(name)):
            if status != 400 or TOO_LONG_JA not in body:
                failures.append(f"{what} -> {status}, not the length refusal")
        elif where == "path" and is_id(app, rule, name) and _out_of_range(value):
            if status != 404:
                failures.append(f"{what} -> {status}, not 404")
        if 400 <= status < 500:
            if after != before:
                failures.append(f"{what} -> {status} but rows changed")
            if 'lang="ja"' not in body:
                failures.append(f"{what} -> {status} without the Japanese page")
        if status in (301, 302, 303) and role != "anonymous":
            target = urlsplit(response.headers.get("Location", "")).path
            if target == "/login":  # the probe ended the session: sign in again
                assert client.login(role).status_code == 302
                counted[0] = row_counts()

    for role in roles:
        first_role = role == roles[0]
        # The route as the pages use it (world values, the form's own defaults): the
        # baseline that shows the walk reaches the view at all.
        probe(role, "none", "", "baseline", "")
        params: list[tuple[str, str]] = [("path", a) for a in sorted(rule.arguments)]
        if method == "GET":
            keys = site.query.get(endpoint, set()) | reads.args.get(endpoint, set())
            params += [("query", k) for k in sorted(keys)]
            params.append(("query", "x\x00"))  # a NUL in a parameter's name
        else:
            params += [("form", k) for k in sorted(set(form["fields"]) | set(form["types"]))]
            params.append(("form", "x\x00"))
        done: set[tuple[str, str]] = set()
        while params:
            where, name = params.pop(0)
            if (where, name) in done:
                continue
            done.add((where, name))
            values = dict(BAD)
            if where != "path":
                limit = limit_of(where, form["types"].get(name))
                values["too_long"] = "あ" * (limit + 1)
                values["at_limit"] = "あ" * limit
            else:
                values["too_long"] = "9" * 5000
            if form["types"].get(name) == "file":
                values["text_in_file_field"] = "not a file"
            if not first_role:
                values = {k: v for k, v in values.items() if k in EVERY_ROLE}
            if "\x00" in name:
                values = {"ok": "1"}
            for label, value in values.items():
                probe(role, where, name, label, value)
            # Keys the view read that no page showed: probed too.
            if method == "POST":
                params += [("form", k) for k in sorted(reads.form.get(endpoint, set())) if ("form", k) not in done]
            else:
                params += [("query", k) for k in sorted(reads.args.get(endpoint, set())) if ("query", k) not in done]
    assert sent > 0
    assert reached > 0, f"no probe of {method} {rule_text} got past the boundary"
    assert not failures, "\n".join(failures[:40]) + (
        f"\n... and {len(failures) - 40} more" if len(failures) > 40 else ""
    )


def _out_of_range(value: str) -> bool:
    return value.isascii() and value.isdigit() and (len(value) > 10 or int(value) > DB_INT_MAX)


def test_the_walk_finds_what_the_routes_read(app, site, world):
    """The crawl is what makes the walk honest: it must see the forms and parameters the
    desk really has (a walk that found nothing would pass for nothing)."""
    assert {"title", "body", "priority", "theme", "due_date", "attachments"} <= set(
        site.forms["consultations.new"]["types"]
    )
    assert "assignee" in site.forms["tickets.assign"]["fields"]
    assert {"theme", "initiatives", "assignee"} <= set(site.forms["triage.decide"]["types"])
    assert {"starts_on", "ends_on", "note"} <= set(site.forms["triage.add_absence"]["types"])
    assert "remark" in site.forms["notifications.acknowledge"]["types"]
    assert {"username", "password"} <= set(site.forms["auth.login"]["types"])
    assert {"period", "table"} <= site.query["reports.export_csv"] and "period" in site.query["reports.index"]
    assert {"period", "measure"} <= site.query["consultations.index"]
    assert "next" in site.query["auth.login"]
