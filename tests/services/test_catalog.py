"""Reading the reference catalog: the governance tree and the initiative filters."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from swat.models import Department, GovernanceBody, Initiative, Theme
from swat.services import catalog


def test_governance_is_a_tree_of_the_live_bodies_with_the_dissolved_beside_it(session):
    chart = catalog.governance(session)
    bodies = session.scalars(select(GovernanceBody)).all()
    live = {b.id for b in bodies if b.active}
    listed = [b.id for kids in chart.children.values() for b in kids]
    assert sorted(listed) == sorted(live)  # every live body once, under its parent
    assert chart.roots and all(b.parent_id is None for b in chart.roots)
    for parent, kids in chart.children.items():
        assert all(k.parent_id == parent for k in kids)
        assert [k.sort_order for k in kids] == sorted(k.sort_order for k in kids)
    assert {b.id for b in chart.dissolved} == {b.id for b in bodies if not b.active} != set()
    assert [s.level for s in chart.chain] == [1, 2, 3, 4]
    # Each theme's panel is loaded with it (the relationship refuses lazy loads).
    assert any(t.panel is not None for t in chart.themes)


def test_retired_items_leave_the_choices_but_stay_known_by_id(session):
    session.execute(update(Theme).where(Theme.id == "telework").values(active=False))
    session.execute(update(Department).where(Department.id == "welfare").values(active=False))
    assert "telework" not in [t.id for t in catalog.active_themes(session)]
    assert "welfare" not in [d.id for d in catalog.active_departments(session)]
    assert "telework" in catalog.themes_by_id(session)
    assert "welfare" in catalog.departments_by_id(session)
    themes = catalog.active_themes(session)
    assert [t.sort_order for t in themes] == sorted(t.sort_order for t in themes)
    inits = catalog.active_initiatives(session)
    assert [(i.category, i.sort_order) for i in inits] == sorted((i.category, i.sort_order) for i in inits)
    session.rollback()


def _expected(session, category=None, department="", theme=""):
    """The filters, written out in Python over every active initiative."""
    out = set()
    every = select(Initiative).where(Initiative.active)
    for i in session.scalars(every.options(selectinload(Initiative.departments), selectinload(Initiative.themes))):
        if category is not None and i.category != category:
            continue
        if department and not (i.all_departments or department in {d.id for d in i.departments}):
            continue
        if theme and theme not in {t.id for t in i.themes}:
            continue
        out.add(i.id)
    return out


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"category": 2},
        {"department": "education"},
        {"department": "welfare", "category": 1},
        {"theme": "telework"},
        {"department": "nowhere"},
        {"category": 7},
    ],
)
def test_initiative_filters_match_their_definition(session, filters):
    found = catalog.find_initiatives(
        session,
        category=filters.get("category"),
        department_id=filters.get("department", ""),
        theme_id=filters.get("theme", ""),
    )
    assert {i.id for i in found} == _expected(session, **filters)
    for i in found:  # departments and themes come loaded
        assert isinstance(i.departments, list) and isinstance(i.themes, list)


def test_initiatives_of_every_department_count_for_each_department(session):
    everyone = {i.id for i in session.scalars(select(Initiative).where(Initiative.active, Initiative.all_departments))}
    assert everyone
    assert everyone <= {i.id for i in catalog.find_initiatives(session, department_id="nowhere")}


def test_the_stored_catalog_offers_what_the_tables_offer_and_an_older_one_falls_back_to_them(session):
    """The triage list's choices from the stored catalog are the tables' active themes and
    initiatives in catalog order; a catalog stored before it held them (no such keys) is
    read from the tables instead until the next reference load."""
    from datetime import UTC, datetime

    from swat.services import documents

    session.execute(update(Theme).where(Theme.id == "telework").values(active=False))
    doc = catalog.catalog_document(session)
    documents.store(session, catalog.CATALOG_DOC, doc, datetime(2026, 12, 1, tzinfo=UTC))
    stored = catalog.stored_catalog(session)
    assert [t.id for t in stored.active_themes] == [t.id for t in catalog.active_themes(session)]
    assert "telework" not in [t.id for t in stored.active_themes] and "telework" in [t.id for t in stored.themes]
    assert [(i.id, i.name) for i in stored.active_initiatives] == [
        (i.id, i.name) for i in catalog.active_initiatives(session)
    ]
    health = next(d for d in stored.departments if d.id == "health-medical")
    assert health.short_name == "健医"
    # The first version's keys keep their rows' form, so that version reads this document too.
    assert {len(row) for k in ("themes", "departments", "escalation") for row in doc[k]} == {3}
    older = {k: v for k, v in doc.items() if k in ("themes", "departments", "escalation")}
    documents.store(session, catalog.CATALOG_DOC, older, datetime(2026, 12, 1, tzinfo=UTC))
    stored = catalog.stored_catalog(session)  # read from the tables until the next load
    assert [t.id for t in stored.active_themes] == [t.id for t in catalog.active_themes(session)]
    assert [d.id for d in stored.departments] == [d[0] for d in doc["departments"]]
    assert next(d for d in stored.departments if d.id == "health-medical").short_name == "健医"
    session.rollback()
