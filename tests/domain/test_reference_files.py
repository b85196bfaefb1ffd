"""The shipped reference files: valid, and carrying exactly the ids of DOMAIN.md."""

from pathlib import Path

import pytest

from swat.services.reference import read_reference

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "config" / "reference"

DEPARTMENTS = [
    "smart-city",
    "health-medical",
    "crisis-management",
    "police",
    "welfare",
    "education",
    "commerce-labor",
    "urban-development",
    "environment-agriculture",
    "finance",
    "accounting",
    "general-affairs",
]
THEMES = ["mobility", "healthcare", "three-less", "telework", "ict-governance", "citizen-services", "data"]
INITIATIVES = {
    1: [
        "smartphone-apps",
        "sns-consultation",
        "smart-mobility",
        "drones",
        "ict-construction",
        "smart-agriculture",
        "smart-school",
    ],
    2: [
        "cashless",
        "paperless-meetings",
        "hanko-less",
        "telework",
        "rpa",
        "ai-transcription",
        "line-works",
        "child-abuse-response",
    ],
    3: ["open-data", "data-platform", "5g", "strategy-advisors", "smart-city-subsidy", "dx-field", "disaster-response"],
}
GOVERNANCE = {
    "strategy-council",
    "promotion-hq",
    "steering-committee",
    "panel-ict-governance",
    "corona-swat",
    "osaka-city-hq",
    "municipal-liaison",
}


@pytest.fixture(scope="module")
def data():
    return read_reference(REFERENCE_DIR)


def test_departments_are_the_twelve_of_the_seed_in_order(data):
    assert [d["id"] for d in data.departments] == DEPARTMENTS
    short = {d["id"]: d["short_name"] for d in data.departments}
    assert short["health-medical"] == "健医"
    assert short["commerce-labor"] == "商労"
    assert [d["sort_order"] for d in data.departments] == list(range(1, 13))
    assert all(d["active"] and d["name"] and d["name_en"] for d in data.departments)


def test_themes_are_the_seven_of_domain_each_with_its_own_panel(data):
    assert [t["id"] for t in data.themes] == THEMES
    assert {t["id"]: t["panel_id"] for t in data.themes} == {t: f"panel-{t}" for t in THEMES}
    kinds = {b["id"]: b["kind"] for b in data.governance}
    parents = {b["id"]: b["parent_id"] for b in data.governance}
    for theme in THEMES:
        assert kinds[f"panel-{theme}"] == "panel"
        assert parents[f"panel-{theme}"] == "steering-committee"


def test_initiatives_are_the_twenty_two_of_the_catalog(data):
    assert len(data.initiatives) == 22
    by_category = {c: [i["id"] for i in data.initiatives if i["category"] == c] for c in (1, 2, 3)}
    assert by_category == INITIATIVES
    by_id = {i["id"]: i for i in data.initiatives}
    assert by_id["smartphone-apps"]["name"] == "スマホアプリ活用"
    assert by_id["smartphone-apps"]["department_ids"] == ["health-medical", "crisis-management", "police"]
    assert by_id["smartphone-apps"]["contents"].count("\n") == 2
    for all_depts in ("paperless-meetings", "hanko-less", "ai-transcription"):
        assert by_id[all_depts]["all_departments"] and by_id[all_depts]["department_ids"] == []
    assert by_id["rpa"]["department_ids"] == ["general-affairs"]
    assert by_id["rpa"]["departments_note"] == "ほか"
    assert by_id["telework"]["theme_ids"][0] == "telework"
    assert by_id["open-data"]["theme_ids"][0] == "data"
    assert by_id["drones"]["theme_ids"][0] == "mobility"
    assert by_id["child-abuse-response"]["theme_ids"][0] == "healthcare"
    assert by_id["sns-consultation"]["theme_ids"][0] == "citizen-services"
    assert all(1 <= len(i["theme_ids"]) <= 2 for i in data.initiatives)


def test_governance_has_every_domain_body_and_the_dissolved_history(data):
    bodies = {b["id"]: b for b in data.governance}
    assert GOVERNANCE | {f"panel-{t}" for t in THEMES} <= set(bodies)
    assert bodies["steering-committee"]["parent_id"] == "promotion-hq"
    assert bodies["corona-swat"]["parent_id"] == "promotion-hq"
    assert "CIO" in bodies["panel-ict-governance"]["chair"]
    zone = bodies["special-zone-hq"]
    assert (zone["name"], zone["established_on"], zone["kind"], zone["active"]) == (
        "特区推進本部",
        "2014-05-12",
        "dissolved",
        False,
    )
    info = bodies["administrative-informatization-committee"]
    assert (info["name"], info["established_on"], info["kind"], info["active"]) == (
        "行政情報化推進委員会",
        "1986-09-05",
        "dissolved",
        False,
    )
    assert [b["id"] for b in data.governance if not b["active"]] == [
        "special-zone-hq",
        "administrative-informatization-committee",
    ]


def test_escalation_chain_runs_member_lead_cio_steering_committee(data):
    chain = [(s["level"], s["kind"], s["body_id"]) for s in data.escalation]
    assert chain == [
        (1, "assignee", None),
        (2, "lead", None),
        (3, "cio", "panel-ict-governance"),
        (4, "body", "steering-committee"),
    ]
    assert all(s["label"] and s["label_en"] for s in data.escalation)
