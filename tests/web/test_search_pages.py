"""Search as a member and a requester see it: marked snippets of the stored text (escaped),
the count bound with its link, the order by best match; and `swat search reindex`."""

from __future__ import annotations

from sqlalchemy import text

from swat.extensions import db
from swat.services import search, tickets


def test_the_queue_marks_the_words_where_they_were_found(make_ticket, users, clock, store, limits, auth, browser):
    t = make_ticket(title="様式の相談", body="<b>太字</b>で書いた はんこ の話。")
    tickets.add_reply(
        db.session, users["agent"], clock.now(), t, "申請書のテンプレートを共有します。", [], store, limits
    )
    db.session.commit()
    auth.login("agent")
    html = browser.get("/queue?q=ﾊﾝｺ").get_data(as_text=True)
    assert "<mark>はんこ</mark>" in html
    assert "&lt;b&gt;太字&lt;/b&gt;" in html and "<b>太字" not in html
    html = browser.get("/queue?q=テンプレート").get_data(as_text=True)
    assert "申請書の<mark>テンプレート</mark>を共有します。" in html
    assert 'value="relevance" selected' in html  # a search is ordered by best match


def test_a_requester_finds_replies_but_not_notes(make_ticket, users, clock, store, limits, auth, browser):
    t = make_ticket(title="調整の相談", body="庁内の調整。")
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答の骨子です。", [], store, limits)
    tickets.add_internal_note(db.session, users["agent"], clock.now(), t, "根回しが必要。", [], store, limits)
    db.session.commit()
    auth.login("staff_health")
    html = browser.get("/consultations?q=骨子").get_data(as_text=True)
    assert t.number in html and "<mark>骨子</mark>" in html
    html = browser.get("/consultations?q=根回し").get_data(as_text=True)
    assert t.number not in html and "根回し</mark>" not in html and "0件" in html


def test_beyond_the_bound_the_count_is_a_lower_bound_with_a_link(make_ticket, auth, browser, monkeypatch):
    for i in range(5):
        make_ticket(title=f"相談{i}")
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    auth.login("agent")
    html = browser.get("/queue?q=相談&per_page=2").get_data(as_text=True)
    assert "2件以上" in html and "count=exact" in html
    html = browser.get("/queue?q=相談&per_page=2&count=exact").get_data(as_text=True)
    assert "5件" in html and "件以上" not in html
    # The last page, not full, knows the whole count; a page that shows every match too.
    html = browser.get("/queue?q=相談&per_page=2&page=3").get_data(as_text=True)
    assert "5件" in html and "件以上" not in html
    html = browser.get("/queue?q=相談").get_data(as_text=True)
    assert "5件" in html and "件以上" not in html


def test_swat_search_reindex_checks_and_rebuilds(make_ticket, app):
    t = make_ticket(title="はんこの相談")
    cli = app.test_cli_runner()
    r = cli.invoke(args=["search", "reindex", "--check"])
    assert r.exit_code == 0 and "agrees" in r.output, r.output
    db.session.execute(text("UPDATE tickets SET title = '書き換え' WHERE id = :id"), {"id": t.id})
    db.session.commit()
    r = cli.invoke(args=["search", "reindex", "--check"])
    assert r.exit_code == 1 and f"stale: ticket ids {t.id}" in r.output, r.output
    r = cli.invoke(args=["search", "reindex"])
    assert r.exit_code == 0 and "rebuilt: 1 documents" in r.output, r.output
    assert cli.invoke(args=["search", "reindex", "--check"]).exit_code == 0


def test_the_ticket_page_names_the_themes_of_similar_past_consultations(make_ticket, auth, browser):
    """The routing's evidence from past cases comes from the search index by content: the
    themes of the similar consultations, counted, whatever the new one's own theme."""
    make_ticket(title="発熱外来の予約受付システム", body="発熱外来の予約を電話で受けています。", theme="healthcare")
    make_ticket(title="発熱外来の予約受付の電子化", body="発熱外来の予約受付を自動化したい。", theme="healthcare")
    make_ticket(title="発熱外来の予約受付と公用車", body="発熱外来の予約受付と送迎。", theme="mobility")
    make_ticket(title="庁舎の清掃", body="清掃の委託。", theme="telework")
    new = make_ticket(title="発熱外来の予約受付", body="発熱外来の予約受付を改善したい。")
    auth.login("agent")
    html = browser.get(f"/tickets/{new.number}").get_data(as_text=True)
    evidence = html.split('class="similar-themes"')[1].split("</p>")[0]
    assert "類似の過去相談のテーマ" in evidence
    assert evidence.index("ヘルスケア（2件）") < evidence.index("モビリティ（1件）")
    assert "テレワーク" not in evidence
    similar = html.split('class="plain similar"')[1].split("</ul>")[0]
    assert similar.count("ヘルスケア") == 2 and "清掃" not in similar
    auth.login("staff_health")
    assert "similar-themes" not in browser.get(f"/tickets/{new.number}").get_data(as_text=True)
