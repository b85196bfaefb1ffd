"""The governance chart and the initiative catalog, as every signed-in user reads them."""

import re

import pytest

from swat.extensions import db
from swat.models import GovernanceBody


def test_governance_chart_shows_every_body_and_the_chain(auth, browser):
    auth.login("staff_health")
    html = browser.get("/reference/governance").get_data(as_text=True)
    for body in db.session.query(GovernanceBody).filter_by(active=True):
        assert f'id="{body.id}"' in html, body.id
    assert "コロナ SWAT チーム" in html or "コロナSWATチーム" in html
    chain = html.split('class="chain"', 1)[1].split("</ol>", 1)[0]
    assert chain.count("<li>") == 4
    assert "特区推進本部" in html  # dissolved bodies are kept as history


@pytest.mark.parametrize(
    "query, present, absent",
    [
        ("", ["sns-consultation", "telework", "disaster-response"], []),
        ("category=2", ["cashless", "child-abuse-response"], ["sns-consultation", "open-data"]),
        ("department=education", ["sns-consultation", "smart-school", "hanko-less"], ["drones", "cashless"]),
        ("theme=telework", ["telework"], ["drones"]),
    ],
)
def test_catalog_filters(query, present, absent, auth, browser):
    auth.login("agent")
    html = browser.get(f"/reference/initiatives?{query}").get_data(as_text=True)
    ids = set(re.findall(r'<tr id="([a-z0-9-]+)"', html))
    assert set(present) <= ids
    assert not set(absent) & ids


def test_catalog_lists_all_22_with_departments(auth, browser):
    auth.login("staff_welfare")
    html = browser.get("/reference/initiatives").get_data(as_text=True)
    assert len(re.findall(r'<tr id="', html)) == 22
    row = html.split('<tr id="sns-consultation"', 1)[1].split("</tr>", 1)[0]
    assert "健医" in row and "福祉" in row and "教育庁" in row
