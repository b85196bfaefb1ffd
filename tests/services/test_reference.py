"""Loading reference data into the database: create, idempotence, edits, removals, bad files."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, event, func, insert, select
from sqlalchemy.orm import Session

from swat.models import (
    Base,
    Department,
    EscalationStep,
    GovernanceBody,
    Initiative,
    Theme,
    Ticket,
    TicketInitiative,
    User,
)
from swat.models.reference import initiative_departments, initiative_themes
from swat.models.user import user_themes
from swat.services.reference import ReferenceDataError, load_reference

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "config" / "reference"
NOW = datetime(2020, 4, 20, 1, 0, tzinfo=UTC)
TABLES = [Department, GovernanceBody, EscalationStep, Theme, Initiative, initiative_departments, initiative_themes]


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")

    @event.listens_for(engine, "connect")
    def _fk_on(dbapi_connection, _record):
        # Enforce foreign keys as PostgreSQL does, so insert order is really tested.
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def ref_dir(tmp_path):
    """A private copy of the shipped reference files, free to edit."""
    return Path(shutil.copytree(REFERENCE_DIR, tmp_path / "reference"))


def counts(session):
    out = {}
    for table in TABLES:
        table = getattr(table, "__table__", table)
        out[table.name] = session.scalar(select(func.count()).select_from(table))
    return out


def edit(directory, name, change):
    path = directory / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def drop_initiative(initiative_id):
    def change(doc):
        doc["initiatives"] = [i for i in doc["initiatives"] if i["id"] != initiative_id]

    return change


def make_user(session, department_id="health-medical"):
    user = User(
        username="hanako",
        display_name="府庁 花子",
        password_hash="x",
        role="staff",
        department_id=department_id,
        created_at=NOW,
    )
    session.add(user)
    session.flush()
    return user


def make_ticket(session, user, initiative_id):
    ticket = Ticket(
        number="2020-00001",
        title="LINE相談",
        body="相談したい",
        status="new",
        priority=2,
        theme_id="citizen-services",
        department_id=user.department_id,
        requester_id=user.id,
        created_at=NOW,
        updated_at=NOW,
        last_activity_at=NOW,
    )
    session.add(ticket)
    session.flush()
    session.add(TicketInitiative(ticket_id=ticket.id, initiative_id=initiative_id, position=0))
    session.flush()
    return ticket


def test_load_into_empty_database_creates_everything(session):
    report = load_reference(session, REFERENCE_DIR)

    assert report.created == {"departments": 12, "governance": 15, "escalation": 4, "themes": 7, "initiatives": 22}
    assert report.changed
    assert "initiatives: 22 created, 0 updated, 0 deactivated, 0 deleted" in report.summary().splitlines()
    c = counts(session)
    assert (c["departments"], c["governance_bodies"], c["escalation_steps"], c["themes"], c["initiatives"]) == (
        12,
        15,
        4,
        7,
        22,
    )
    assert session.get(GovernanceBody, "steering-committee").parent_id == "promotion-hq"
    assert session.get(GovernanceBody, "special-zone-hq").active is False
    assert session.get(Theme, "ict-governance").panel_id == "panel-ict-governance"
    assert session.get(EscalationStep, 3).body_id == "panel-ict-governance"
    apps = session.get(Initiative, "smartphone-apps")
    assert apps.contents.splitlines()[0] == "健康づくりの意識の向上等を目的とした「アスマイル」の展開"
    links = set(
        session.scalars(
            select(initiative_departments.c.department_id).where(
                initiative_departments.c.initiative_id == "smartphone-apps"
            )
        )
    )
    assert links == {"health-medical", "crisis-management", "police"}
    hanko = session.get(Initiative, "hanko-less")
    assert hanko.all_departments is True
    assert (
        session.scalar(
            select(func.count())
            .select_from(initiative_departments)
            .where(initiative_departments.c.initiative_id == "hanko-less")
        )
        == 0
    )


def test_loading_twice_changes_nothing(engine, session):
    load_reference(session, REFERENCE_DIR)
    session.commit()
    before = counts(session)
    writes = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: (
            writes.append(statement) if not statement.lstrip().upper().startswith("SELECT") else None
        ),
    )

    report = load_reference(session, REFERENCE_DIR)

    assert report.changed is False
    assert writes == []
    assert counts(session) == before


def test_edited_name_is_updated(session, ref_dir):
    load_reference(session, ref_dir)
    session.commit()

    def rename(doc):
        doc["departments"][1]["name"] = "健康医療部（改）"

    edit(ref_dir, "departments.yaml", rename)
    report = load_reference(session, ref_dir)
    session.commit()

    assert report.updated["departments"] == 1
    assert sum(report.updated.values()) == 1 and sum(report.created.values()) == 0
    session.expire_all()
    assert session.get(Department, "health-medical").name == "健康医療部（改）"


def test_changed_initiative_links_are_synced(session, ref_dir):
    load_reference(session, ref_dir)

    def relink(doc):
        item = next(i for i in doc["initiatives"] if i["id"] == "drones")
        item["departments"] = ["urban-development"]
        item["themes"] = ["data", "mobility"]

    edit(ref_dir, "initiatives.yaml", relink)
    report = load_reference(session, ref_dir)

    assert report.updated["initiatives"] == 1
    deps = set(
        session.scalars(
            select(initiative_departments.c.department_id).where(initiative_departments.c.initiative_id == "drones")
        )
    )
    themes = set(
        session.scalars(select(initiative_themes.c.theme_id).where(initiative_themes.c.initiative_id == "drones"))
    )
    assert (deps, themes) == ({"urban-development"}, {"data", "mobility"})


def test_removed_unreferenced_initiative_is_deleted(session, ref_dir):
    load_reference(session, ref_dir)
    session.commit()
    edit(ref_dir, "initiatives.yaml", drop_initiative("smart-school"))

    report = load_reference(session, ref_dir)
    session.commit()

    assert report.deleted["initiatives"] == 1 and report.deactivated["initiatives"] == 0
    assert session.get(Initiative, "smart-school") is None
    assert (
        session.scalar(
            select(func.count())
            .select_from(initiative_themes)
            .where(initiative_themes.c.initiative_id == "smart-school")
        )
        == 0
    )
    assert counts(session)["initiatives"] == 21


def test_removed_initiative_linked_to_a_ticket_is_deactivated_then_reactivated(session, ref_dir):
    load_reference(session, ref_dir)
    make_ticket(session, make_user(session), "disaster-response")
    session.commit()
    # The last item of the list, so no other item's sort order moves.
    edit(ref_dir, "initiatives.yaml", drop_initiative("disaster-response"))

    report = load_reference(session, ref_dir)
    session.commit()

    assert report.deactivated["initiatives"] == 1 and report.deleted["initiatives"] == 0
    session.expire_all()
    assert session.get(Initiative, "disaster-response").active is False
    assert counts(session)["initiatives"] == 22
    assert load_reference(session, ref_dir).changed is False

    report = load_reference(session, REFERENCE_DIR)
    assert report.updated["initiatives"] == 1
    assert session.get(Initiative, "disaster-response").active is True


def test_removed_department_is_deleted_or_kept_inactive_when_a_user_points_at_it(session, ref_dir):
    load_reference(session, ref_dir)
    make_user(session, department_id="accounting")
    session.commit()

    def drop_departments(doc):
        doc["departments"] = [d for d in doc["departments"] if d["id"] not in ("police", "accounting")]

    edit(ref_dir, "departments.yaml", drop_departments)

    def unlink(doc):
        for item in doc["initiatives"]:
            if isinstance(item["departments"], list):
                item["departments"] = [d for d in item["departments"] if d not in ("police", "accounting")]

    edit(ref_dir, "initiatives.yaml", unlink)

    report = load_reference(session, ref_dir)
    session.commit()

    assert report.deleted["departments"] == 1 and report.deactivated["departments"] == 1
    assert session.get(Department, "police") is None
    assert session.get(Department, "accounting").active is False


def test_removed_theme_with_user_themes_row_is_deactivated(session, ref_dir):
    load_reference(session, ref_dir)
    user = make_user(session)
    session.execute(insert(user_themes).values(user_id=user.id, theme_id="mobility"))
    session.commit()

    edit(ref_dir, "themes.yaml", lambda doc: doc.update(themes=[t for t in doc["themes"] if t["id"] != "mobility"]))

    def retheme(doc):
        for item in doc["initiatives"]:
            item["themes"] = [t for t in item["themes"] if t != "mobility"] or ["data"]

    edit(ref_dir, "initiatives.yaml", retheme)

    report = load_reference(session, ref_dir)

    assert report.deactivated["themes"] == 1
    assert session.get(Theme, "mobility").active is False
    # The panel is still the deactivated theme's panel, so it stays as well.
    assert session.get(GovernanceBody, "panel-mobility") is not None


def test_removed_dissolved_body_is_deleted(session, ref_dir):
    load_reference(session, ref_dir)
    edit(
        ref_dir,
        "governance.yaml",
        lambda doc: doc.update(bodies=[b for b in doc["bodies"] if b["id"] != "special-zone-hq"]),
    )

    report = load_reference(session, ref_dir)

    assert report.deleted["governance"] == 1
    assert session.get(GovernanceBody, "special-zone-hq") is None


def _broken_yaml(d):
    path = d / "departments.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - id: [broken\n", encoding="utf-8")


def _duplicate_id(d):
    edit(d, "themes.yaml", lambda doc: doc["themes"].append(dict(doc["themes"][0])))


def _unknown_field(d):
    edit(d, "initiatives.yaml", lambda doc: doc["initiatives"][0].update(owner="健医"))


def _missing_department(d):
    edit(d, "initiatives.yaml", lambda doc: doc["initiatives"][2].update(departments=["tourism"]))


def _missing_field(d):
    edit(d, "governance.yaml", lambda doc: doc["bodies"][2].pop("kind"))


@pytest.mark.parametrize(
    "breaker, file, item, words",
    [
        (_broken_yaml, "departments.yaml", "", "line"),
        (_duplicate_id, "themes.yaml", "mobility", "duplicate id"),
        (_unknown_field, "initiatives.yaml", "smartphone-apps", "unknown field 'owner'"),
        (_missing_department, "initiatives.yaml", "smart-mobility", "unknown department 'tourism'"),
        (_missing_field, "governance.yaml", "steering-committee", "missing required field 'kind'"),
    ],
)
def test_bad_file_is_refused_and_loads_nothing(session, ref_dir, breaker, file, item, words):
    load_reference(session, ref_dir)
    session.commit()
    before = counts(session)
    # Also change a valid file, to show nothing of it is applied when another is bad.
    edit(
        ref_dir,
        "departments.yaml" if file != "departments.yaml" else "themes.yaml",
        lambda doc: next(iter(doc.values()))[0].update(name="変更"),
    )
    breaker(ref_dir)

    with pytest.raises(ReferenceDataError) as caught:
        load_reference(session, ref_dir)

    err = caught.value
    assert (err.file, err.item) == (file, item)
    assert words in err.reason
    assert str(err).startswith(f"{file}: {item + ': ' if item else ''}")
    assert counts(session) == before
    assert session.get(Department, "smart-city").name == "スマートシティ戦略部"
    assert session.get(Theme, "mobility").name == "モビリティ"


def test_missing_file_is_refused(tmp_path):
    directory = Path(shutil.copytree(REFERENCE_DIR, tmp_path / "reference"))
    (directory / "themes.yaml").unlink()
    with Session(create_engine("sqlite://")) as session:
        with pytest.raises(ReferenceDataError, match=r"^themes\.yaml: file not found"):
            load_reference(session, directory)
