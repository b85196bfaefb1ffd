"""The consultations behind a report's count, whole, for its export: exactly the list's
tickets (scope, filters, the figure's clause, search words), and at most the limit."""

import pytest

from swat.extensions import db
from swat.services import drill_down, listing


def _numbers(export) -> list[str]:
    return [r.number for r in export.rows]


def test_the_export_holds_the_list_s_tickets_in_number_order(make_ticket, users):
    a = make_ticket("staff_health", title="LINE相談", body="窓口の相談", theme="telework")
    b = make_ticket("staff_welfare", title="電子申請", body="申請の相談", theme="telework")
    c = make_ticket("staff_health2", title="LINEの予約", body="予約の相談")
    f = listing.TicketFilters(period="2026-11", measure="opened")
    desk = drill_down.drill_down_export(db.session, users["manager"], f)
    assert _numbers(desk) == [a.number, b.number, c.number] and desk.total == 3
    assert desk.rows[0].department.name_en == "Department of Health and Medical Care"
    assert desk.rows[0].theme.name == "テレワーク" and desk.rows[2].theme is None
    # The reader's scope, the list's filters and its search words, as the list has them.
    head = drill_down.drill_down_export(db.session, users["manager_health"], f)
    assert _numbers(head) == [a.number, c.number]
    themed = listing.TicketFilters(period="2026-11", measure="opened", theme="telework")
    assert _numbers(drill_down.drill_down_export(db.session, users["manager_health"], themed)) == [a.number]
    searched = listing.TicketFilters(period="2026-11", measure="opened", q="LINE")
    assert _numbers(drill_down.drill_down_export(db.session, users["manager"], searched)) == [a.number, c.number]
    page = listing.list_tickets(db.session, users["manager"], searched)
    assert {r.number for r in page.rows} == {a.number, c.number}
    # Nothing filed in October.
    october = listing.TicketFilters(period="2026-10", measure="opened")
    assert drill_down.drill_down_export(db.session, users["manager"], october).total == 0


def test_past_the_limit_the_export_holds_the_first_and_counts_them_all(make_ticket, users):
    made = [make_ticket("staff_health") for _ in range(3)]
    f = listing.TicketFilters(period="2026-11", measure="backlog")
    cut = drill_down.drill_down_export(db.session, users["manager"], f, limit=2)
    assert _numbers(cut) == [t.number for t in made[:2]] and cut.total == 3


def test_only_a_count_s_list_is_exported(users):
    for f in (
        listing.TicketFilters(),
        listing.TicketFilters(period="2026-11"),
        listing.TicketFilters(period="2026-13", measure="opened"),
        listing.TicketFilters(period="2026-11", measure="reopened"),
    ):
        with pytest.raises(ValueError):
            drill_down.drill_down_export(db.session, users["manager"], f)
