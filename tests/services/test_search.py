"""Search finds what a member looks for, on both databases: every folding case, a phrase
only in a reply, internal notes for the desk only, names, file names, ticket numbers; all
words, phrases, exclusions; relevance; the count bound; the index kept and checked."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from swat.extensions import db
from swat.services import accounts, search, search_index, search_walk, tickets
from swat.services.listing import TicketFilters, list_tickets
from swat.services.storage import Upload


@pytest.fixture
def corpus(make_ticket, users, clock, store, limits):
    """Consultations whose words sit in one place each (title, body, reply, note, file, name)."""
    s = db.session
    hanako = accounts.create_user(
        s,
        clock.now(),
        username="yamada",
        password="correct horse battery",
        role="staff",
        display_name="山田 花子",
        department_id="health-medical",
        hash_method="pbkdf2:sha256:1000",
    )
    s.commit()
    made = {}
    made["hanko"] = make_ticket(title="申請手続の見直し", body="はんこが必要な申請書を減らしたい。")
    made["wave"] = make_ticket(title="窓口の受付時間", body="受付は9時〜17時です。")  # U+301C
    made["server"] = make_ticket(title="サーバー更新", body="サーバの保守期限が近い。")
    made["space"] = make_ticket(title="ワクチン\u3000接種の会場", body="会場の予約方法について。")
    made["words"] = make_ticket(title="ワクチンの在庫", body="保健所の会場に届ける。")
    made["reply"] = make_ticket(title="様式の相談", body="様式を変えたい。")
    made["note"] = make_ticket(title="調整の相談", body="庁内の調整について。")
    made["file"] = make_ticket(
        title="資料の共有",
        body="資料を添付します。",
        files=[Upload("議事録（案）.pdf", io.BytesIO(b"%PDF-1.4 minutes"), "application/pdf")],
    )
    made["name"] = tickets.file_consultation(
        s,
        hanako,
        clock.now(),
        title="電話予約の相談",
        body="予約の電話が多い。",
        theme_id=None,
        initiative_ids=[],
        priority="normal",
        due_date=None,
        files=[],
        store=store,
        limits=limits,
    )
    made["welfare"] = make_ticket(requester="staff_welfare", title="福祉のはんこ", body="はんこの電子化。")
    s.commit()
    tickets.add_reply(
        s, users["agent"], clock.now(), made["reply"], "申請書のテンプレートを共有します。", [], store, limits
    )
    tickets.add_internal_note(s, users["agent"], clock.now(), made["note"], "庁内限定の根回しメモ。", [], store, limits)
    s.commit()
    return {k: t.number for k, t in made.items()}


def found(users, who, q, **kw) -> list[str]:
    page = list_tickets(db.session, users[who], TicketFilters(q=q, per_page=200, **kw))
    return [t.number for t in page.rows]


@pytest.mark.parametrize(
    "query, key",
    [
        ("ハンコ", "hanko"),  # katakana finds hiragana
        ("ﾊﾝｺ", "hanko"),  # half-width katakana too
        ("9時～17時", "wave"),  # ～ U+FF5E finds 〜 U+301C
        ("9時~17時", "wave"),  # and the ASCII tilde
        ("ｻｰﾊﾞｰ", "server"),  # half-width long vowel
        ("ＳＥＲＶＥＲ", None),  # nothing: no English text
        ("テンプレート", "reply"),  # a word only in a reply
        ("議事録", "file"),  # a file name
        ("議事録（案）.pdf", "file"),  # the whole file name, punctuation included
        ("山田 花子", "name"),  # the requester's name
        ("押", None),
    ],
)
def test_folding_and_places(corpus, users, query, key):
    hits = found(users, "agent", query)
    if key is None:
        assert not any(n in hits for n in (corpus["hanko"], corpus["server"]))
    else:
        assert corpus[key] in hits, (query, hits)


def test_words_of_one_and_two_characters_and_the_department(corpus, users):
    assert corpus["words"] in found(users, "agent", "保")  # one character
    assert corpus["words"] in found(users, "agent", "保健")  # two
    assert corpus["words"] not in found(users, "agent", "保険")
    # The department's name finds its consultations, not another's.
    hits = found(users, "agent", "健康医療部")
    assert corpus["hanko"] in hits and corpus["welfare"] not in hits


def test_all_words_a_phrase_and_an_exclusion(corpus, users):
    # Both words anywhere: the title's ワクチン and the body's 会場.
    both = found(users, "agent", "ワクチン 会場")
    assert corpus["space"] in both and corpus["words"] in both
    # The phrase: only where they stand together, an ideographic space typed as a space.
    assert found(users, "agent", '"ワクチン 接種"') == [corpus["space"]]
    assert found(users, "agent", "ワクチン -接種") == [corpus["words"]]
    # Filters combine with words.
    assert found(users, "agent", "ワクチン", statuses=["resolved"]) == []


def test_the_title_is_stored_as_typed(corpus, session):
    stored = session.execute(text("SELECT title FROM tickets WHERE number = :n"), {"n": corpus["space"]}).scalar_one()
    assert stored == "ワクチン\u3000接種の会場"


def test_internal_notes_are_found_by_the_desk_only(corpus, users):
    assert found(users, "agent", "根回し") == [corpus["note"]]
    assert found(users, "staff_health", "根回し") == []
    page = list_tickets(db.session, users["staff_health"], TicketFilters(q="根回し"))
    assert page.total == 0 and page.snippets == {}
    # The requester still finds the ticket by its public words, never by the note's.
    assert found(users, "staff_health", "調整") == [corpus["note"]]
    assert found(users, "staff_health", "調整 -根回し") == [corpus["note"]]
    assert found(users, "agent", "調整 -根回し") == []


def test_another_department_never_finds_a_ticket(corpus, users):
    assert found(users, "staff_welfare", "はんこ") == [corpus["welfare"]]
    assert corpus["welfare"] not in found(users, "staff_health", "はんこ")


def test_a_ticket_number_is_an_exact_hit_with_or_without_the_year(corpus, users):
    number = corpus["server"]  # 2026-00003
    year, seq = number.split("-")
    for q in (
        number,
        seq,
        str(int(seq)),
        "２０２６－００００３".replace("２０２６", year.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
    ):
        hits = found(users, "agent", q, sort="relevance")
        assert hits and hits[0] == number, (q, hits)
    # The visibility rule holds for numbers too.
    assert found(users, "staff_welfare", number) == []


def test_relevance_puts_the_title_first_and_snippets_mark_the_words(corpus, users):
    page = list_tickets(db.session, users["agent"], TicketFilters(q="はんこ", sort="relevance"))
    assert [t.number for t in page.rows][:1] == [corpus["welfare"]]  # in its title and body
    snip = page.snippets[page.rows[1].id]
    assert ("はんこ", True) in snip and "".join(p for p, _ in snip) == "はんこが必要な申請書を減らしたい。"
    # A snippet is the stored text as typed, marked where the folded word matched.
    page = list_tickets(db.session, users["agent"], TicketFilters(q="ﾃﾝﾌﾟﾚｰﾄ"))
    assert ("テンプレート", True) in page.snippets[page.rows[0].id]


def test_the_count_stops_at_its_bound_unless_asked(corpus, users, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    page = list_tickets(db.session, users["agent"], TicketFilters(q="相談", per_page=2))
    assert (page.total, page.at_least) == (2, True)
    page = list_tickets(db.session, users["agent"], TicketFilters(q="相談", per_page=2, exact_count=True))
    assert (page.total, page.at_least) == (3, False)
    # A page that shows every match knows the count.
    page = list_tickets(db.session, users["agent"], TicketFilters(q="相談"))
    assert (len(page.rows), page.total, page.at_least) == (3, 3, False)


def test_the_index_follows_renames_and_the_check_finds_what_differs(corpus, users, clock, session):
    hanako = session.execute(text("SELECT id FROM users WHERE username = 'yamada'")).scalar_one()
    user = accounts.get_user(session, hanako)
    accounts.update_user(
        session,
        clock.now(),
        user,
        role="staff",
        department_id="health-medical",
        display_name="佐藤 花子",
        theme_ids=[],
        active=True,
    )
    session.commit()
    assert found(users, "agent", "佐藤 花子") == [corpus["name"]]
    assert found(users, "agent", "山田 花子") == []
    assert search_index.check(session.connection()).ok
    # A change written behind the services' back is found by the check and mended by a rebuild.
    session.execute(text("UPDATE tickets SET title = '書き換え' WHERE number = :n"), {"n": corpus["hanko"]})
    tid = session.execute(text("SELECT id FROM tickets WHERE number = :n"), {"n": corpus["hanko"]}).scalar_one()
    result = search_index.check(session.connection())
    assert result.stale == [tid] and not result.missing
    assert search_index.rebuild(session.connection()) == len(corpus)
    assert search_index.check(session.connection()).ok
    assert found(users, "agent", "書き換え") == [corpus["hanko"]]


def test_similar_consultations_come_by_content_without_a_theme(make_ticket, users):
    from swat.services import similar

    old = make_ticket(title="ワクチン接種会場の予約システム", body="予約システムの導入事例を知りたい。")
    other_theme = make_ticket(title="予約システムの更新", body="ワクチン接種の予約システム。", theme="healthcare")
    make_ticket(title="道路の補修", body="舗装工事の件。")
    new = make_ticket(title="ワクチン接種会場の予約システムについて", body="予約システムを入れたい。")
    found = [s.ticket.number for s in similar.similar_tickets(db.session, users["agent"], new)]
    # Both by content, the one without a theme as the one with another theme; not the road.
    assert sorted(found) == [old.number, other_theme.number]
    assert similar.similar_tickets(db.session, users["staff_health"], new) == []


def test_similar_consultations_walk_the_newest_first_and_then_the_whole_index(make_ticket, users, monkeypatch):
    """A word is looked for in the newest consultations first, and through the whole index
    when it is not found often enough there: the same consultations either way."""
    from swat.services import similar

    monkeypatch.setattr(similar, "SIMILAR_PER_WORD", 2)
    rare = make_ticket(title="量子鍵配送の実証", body="量子鍵配送を庁内網で試したい。")
    common = [make_ticket(title=f"電子申請の様式{i}", body="電子申請の様式を作りたい。") for i in range(4)]
    new = make_ticket(title="量子鍵配送と電子申請", body="量子鍵配送で電子申請を守りたい。")

    def found() -> list[str]:
        return sorted(s.ticket.number for s in similar.similar_tickets(db.session, users["agent"], new))

    whole = found()  # fewer consultations than the walk: the whole index at once
    monkeypatch.setattr(similar, "WALK", 3)  # the newest three: the common word's two newest are there
    assert found() == whole
    assert rare.number in whole  # older than the walk: found through the whole index
    assert common[-1].number in whole and common[0].number not in whole  # the newest of each word


def test_a_rename_beside_a_reply_waits_for_it_and_indexes_both(make_ticket, users, clock, store, limits):
    """Two transactions write one document: the second reads after the first commits."""
    import threading

    from sqlalchemy.orm import Session as OrmSession

    from swat.models import Ticket, User

    t = make_ticket(title="窓口の相談", body="窓口の混雑。")
    agent_id, staff_id, ticket_id = users["agent"].id, users["staff_health"].id, t.id
    db.session.commit()  # the test's own session holds no transaction meanwhile
    replying, renaming = OrmSession(db.engine), OrmSession(db.engine)
    try:
        ticket = replying.get(Ticket, ticket_id)
        tickets.add_reply(
            replying, replying.get(User, agent_id), clock.now(), ticket, "整理券の導入を提案します。", [], store, limits
        )
        done = threading.Event()

        def rename():
            user = renaming.get(User, staff_id)
            accounts.update_user(
                renaming,
                clock.now(),
                user,
                role="staff",
                department_id="health-medical",
                display_name="保健 一郎",
                theme_ids=[],
                active=True,
            )
            renaming.commit()
            done.set()

        thread = threading.Thread(target=rename)
        thread.start()
        assert not done.wait(1.0)  # the rename waits for the reply's transaction
        replying.commit()
        thread.join(30)
        assert done.is_set()
    finally:
        replying.close()
        renaming.close()
    db.session.expire_all()
    assert found(users, "agent", "整理券 保健一郎") == [] and found(users, "agent", '整理券 "保健 一郎"') == [t.number]
    assert search_index.check(db.session.connection()).ok


def test_two_replies_at_once_on_one_ticket_both_commit_and_are_indexed(make_ticket, users, clock):
    """Each reply inserts its message (on PostgreSQL its foreign key holds a key-share lock on
    the ticket) and then writes the ticket's document: two at once, interleaved so that both
    messages are in before either document, both commit, and the document holds both."""
    import threading

    from sqlalchemy import insert

    from swat.models import Message

    t = make_ticket(title="窓口の相談", body="窓口の混雑。")
    ticket_id, agent_id, engine = t.id, users["agent"].id, db.engine
    db.session.commit()
    interleave = engine.dialect.name == "postgresql"  # SQLite's writers take turns anyway
    barrier = threading.Barrier(2, timeout=30)
    ended: dict[str, str] = {}
    now = clock.now()

    def reply(word: str) -> None:
        try:
            with engine.connect() as conn:
                conn.execute(
                    insert(Message).values(
                        ticket_id=ticket_id, author_id=agent_id, body=f"{word}を提案します。", created_at=now
                    )
                )
                if interleave:
                    barrier.wait()
                search_index.index_tickets(conn, [ticket_id])
                conn.commit()
            ended[word] = "committed"
        except Exception as exc:  # which reply failed, and how
            if interleave:
                barrier.abort()
            ended[word] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=reply, args=(w,)) for w in ("整理券", "予約制")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert ended == {"整理券": "committed", "予約制": "committed"}
    assert found(users, "agent", "整理券 予約制") == [t.number]
    assert search_index.check(db.session.connection()).ok


def test_relevance_ranks_the_newest_matches_and_pages_through_every_match_once(make_ticket, users, monkeypatch):
    monkeypatch.setattr(search, "RELEVANCE_POOL", 3)
    made = [make_ticket(title=f"相談{i}", body="はんこ" if i != 4 else "はんこ はんこ はんこ") for i in range(6)]
    title_hit = make_ticket(title="はんこの相談", body="書類。")  # the newest, and the word in its title
    numbers = [t.number for t in made]
    pages = [
        [
            t.number
            for t in list_tickets(
                db.session, users["agent"], TicketFilters(q="はんこ", sort="relevance", page=p, per_page=2)
            ).rows
        ]
        for p in (1, 2, 3, 4)
    ]
    everything = [n for page in pages for n in page]
    assert sorted(everything) == sorted(numbers + [title_hit.number])  # each match once
    # The pool (the newest 3: the title hit, made[5], made[4]) comes first, the title hit on top;
    # then the others, newest first.
    assert everything[0] == title_hit.number
    assert set(everything[:3]) == {title_hit.number, numbers[5], numbers[4]}
    assert everything[3:] == [numbers[3], numbers[2], numbers[1], numbers[0]]
    # A typed number comes first, however old.
    page = list_tickets(db.session, users["agent"], TicketFilters(q=numbers[0], sort="relevance"))
    assert page.rows[0].number == numbers[0]


HOSTILE = [
    "'", "''", '"', '""', '"""', "\\", "\\'", "a'b", 'a"b', ":", "a:b", "{title}:x", "{title public} : x", "*", "a*",
    "&", "|", "!", "<->", "<1>", "a & b", "!a", "(", ")", "(a", "NEAR", "NEAR(a b)", "AND", "OR", "NOT", "a NOT b",
    "^a", "+a", "-", "--", "-a", '-"a b"', '"-a"', "。、・！？", "...", "\u200b", "\ufeff", "\ue000\ue100", "a" * 5000,
    "あ" * 3000, "'" * 300, "\\" * 300, "0", "00000", "２０２６－００００１", "99999", "2026-", "a:*", "'a':*",
    "x <-> y", "%", "_", "?", "[", "\u3000", "～", "ー", "\u0301", "ﾞ",
]  # fmt: skip


@pytest.mark.parametrize("who", ["staff_health", "agent"])
def test_hostile_queries_are_words_never_syntax(make_ticket, users, who):
    t = make_ticket(title="申請 a'b の件 x:y", body="back\\slash と a&b")
    for q in HOSTILE:
        for sort in ("relevance", "priority"):
            found(users, who, q, sort=sort)  # never an error
    for q in ("a'b", "x:y", "back\\slash", "a&b"):
        assert t.number in found(users, who, q), q


def test_long_texts_are_found_to_their_end(make_ticket, users, clock, store, limits):
    """PostgreSQL keeps positions up to 16,383 and 256 per token: documents are cut in parts."""
    long_body = make_ticket(title="長い相談", body="あいう" * 6000 + " ユニーク語句です")
    common = make_ticket(title="会議の件", body="の会。" * 300 + "東京の会議")
    thread = make_ticket(title="長いやりとり", body="最初の相談。")
    for _ in range(5):
        tickets.add_reply(db.session, users["agent"], clock.now(), thread, "回答本文" * 900, [], store, limits)
    tickets.add_reply(
        db.session, users["agent"], clock.now(), thread, "最後に特別な合言葉を伝えます", [], store, limits
    )
    db.session.commit()
    assert found(users, "agent", "ユニーク語句") == [long_body.number]
    assert found(users, "agent", "東京の会議") == [common.number]
    assert found(users, "staff_health", "特別な合言葉") == [thread.number]
    assert found(users, "agent", "特別な 東京") == []  # all words, in one consultation
    assert search_index.check(db.session.connection()).ok


def test_a_phrase_never_runs_from_one_text_into_the_next(make_ticket, users):
    make_ticket(title="件名", body="よろしくお願いします")  # the requester's name "Staff Health" follows
    assert found(users, "agent", '"します staff"') == []
    assert found(users, "agent", "します staff") != []


def test_paging_by_relevance_with_a_typed_number_shows_every_match_once(make_ticket, users, monkeypatch):
    monkeypatch.setattr(search, "RELEVANCE_POOL", 3)
    made = sorted(make_ticket(title=f"件名6番 {i}", body="本文").number for i in range(8))
    for per_page in (1, 2, 3, 5):
        seen, p = [], 1
        while True:
            page = list_tickets(
                db.session, users["agent"], TicketFilters(q="6", per_page=per_page, page=p, sort="relevance")
            )
            seen += [t.number for t in page.rows]
            if p >= page.pages:
                break
            p += 1
        assert sorted(seen) == made, (per_page, seen)
        assert seen[0].endswith("-00006")


def test_past_the_counting_bound_every_page_can_be_reached(make_ticket, users, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    made = sorted(make_ticket(title=f"ワクチン {i}", body="本文").number for i in range(7))
    seen, p = [], 1
    while True:
        page = list_tickets(db.session, users["agent"], TicketFilters(q="ワクチン", per_page=2, page=p, sort="number"))
        assert page.page == p
        seen += [t.number for t in page.rows]
        if p >= page.pages:
            break
        p += 1
    assert sorted(seen) == made


def test_a_renamed_department_is_found_by_its_new_name(make_ticket, users, renamed_department):
    t = make_ticket(title="相談", body="本文")
    with renamed_department("健康医療部", "健康福祉医療局"):
        assert found(users, "agent", "健康福祉医療局") == [t.number]
        assert search_index.check(db.session.connection()).ok


def test_a_rename_beside_a_filing_indexes_the_new_ticket_under_the_new_name(make_ticket, users, clock, store, limits):
    import threading

    from sqlalchemy.orm import Session as OrmSession

    from swat.models import User

    make_ticket(title="前の相談", body="本文")
    uid = users["staff_health"].id
    db.session.commit()
    filing, renaming = OrmSession(db.engine), OrmSession(db.engine)
    try:
        new = tickets.file_consultation(
            filing, filing.get(User, uid), clock.now(), title="新しい相談", body="本文です", theme_id=None,
            initiative_ids=[], priority="normal", due_date=None, files=[], store=store, limits=limits,
        )  # fmt: skip
        number = new.number
        done = threading.Event()

        def rename():
            user = renaming.get(User, uid)
            accounts.update_user(
                renaming, clock.now(), user, role=user.role, display_name="改名 太郎", department_id=user.department_id,
                theme_ids=[], active=True,
            )  # fmt: skip
            renaming.commit()
            done.set()

        thread = threading.Thread(target=rename)
        thread.start()
        assert not done.wait(1.0)  # the rename waits for the filing
        filing.commit()
        thread.join(30)
        assert done.is_set()
    finally:
        filing.close()
        renaming.close()
    db.session.expire_all()
    assert number in found(users, "agent", '"改名 太郎"')
    assert search_index.check(db.session.connection()).ok


def _every_page(users, who, **kw):
    """Every row of every page of a list, in order, as its number (and the first page)."""
    seen, p, first = [], 1, None
    while True:
        page = list_tickets(db.session, users[who], TicketFilters(page=p, **kw))
        first = first or page
        assert page.page == p
        seen += [t.number for t in page.rows]
        if p >= page.pages:
            return seen, first
        p += 1


@pytest.fixture
def mixed(make_ticket, monkeypatch):
    """24 consultations: every third holds 相談窓口 (one of them in the title), one 量子鍵配送;
    the checks of a list's newest tickets are made small, so every way of finding runs."""
    monkeypatch.setattr(search_walk, "PROBE", 4)
    monkeypatch.setattr(search_walk, "WALK_BUDGET", 8)
    monkeypatch.setattr(search_walk, "RARE", 0.2)
    monkeypatch.setattr(search, "RELEVANCE_POOL", 3)
    made = []
    for i in range(24):
        body = "相談窓口の混雑について。" if i % 3 == 0 else "道路の補修。"
        if i == 5:
            body += "量子鍵配送の件。"
        title = "相談窓口の件" if i == 18 else f"件名{i}"
        made.append(make_ticket(title=title, body=body).number)
    return made


def test_a_common_word_counts_at_least_what_was_checked_and_pages_reach_every_match(mixed, users):
    hits = [n for i, n in enumerate(mixed) if i % 3 == 0]
    seen, first = _every_page(users, "agent", q="相談窓口", sort="number", per_page=2)
    assert seen == hits  # oldest first, each once, past any bound of the count
    assert first.total <= len(hits) and (first.at_least or first.total == len(hits))
    if db.session.get_bind().dialect.name == "postgresql":
        # Only the newest tickets were checked: what they hold is the lower bound shown.
        assert first.at_least and 1 <= first.total < len(hits)
    exact = list_tickets(db.session, users["agent"], TicketFilters(q="相談窓口", exact_count=True))
    assert (exact.total, exact.at_least) == (len(hits), False)
    # Every match on one page: the count is what the page shows, not a smaller bound.
    whole = list_tickets(db.session, users["agent"], TicketFilters(q="相談窓口", sort="number", per_page=50))
    assert (len(whole.rows), whole.total, whole.at_least) == (len(hits), len(hits), False)
    # By relevance: the newest ranked (the title hit, second newest, first), then the others
    # newest first; the same with the exact count asked for.
    newest = hits[::-1]
    for exact_count in (False, True):
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="relevance", per_page=2, exact_count=exact_count)
        assert seen == [mixed[18]] + [n for n in newest if n != mixed[18]], exact_count
    # A staff member's list of another department: nothing, counted as nothing.
    seen, first = _every_page(users, "staff_welfare", q="相談窓口", sort="relevance", per_page=2)
    assert (seen, first.total, first.at_least) == ([], 0, False)


def test_a_rare_word_is_counted_exactly_from_the_index(mixed, users):
    seen, first = _every_page(users, "agent", q="量子鍵配送", sort="relevance", per_page=2)
    assert seen == [mixed[5]] and (first.total, first.at_least) == (1, False)
    seen, first = _every_page(users, "agent", q="相談窓口 -量子鍵配送", sort="number", per_page=3)
    assert seen == [n for i, n in enumerate(mixed) if i % 3 == 0]  # 5 is not a third
    seen, first = _every_page(users, "agent", q="道路 -量子鍵配送", sort="relevance", per_page=5)
    assert sorted(seen) == sorted(n for i, n in enumerate(mixed) if i % 3 and i != 5)


def test_a_word_in_a_few_tickets_pages_in_order_past_the_checked_ones(mixed, users, make_ticket, monkeypatch):
    monkeypatch.setattr(search_walk, "RARE", 0.1)
    hits = [n for i, n in enumerate(mixed) if i % 3 == 0]
    # Twelve newer tickets, one with the word: the newest checked find it, but seldom.
    newer = [make_ticket(title=f"新しい件{i}", body="相談窓口。" if i == 10 else "道路の補修。") for i in range(12)]
    hits.append(newer[10].number)
    for per_page in (1, 2, 4):
        seen, first = _every_page(users, "agent", q="相談窓口", sort="relevance", per_page=per_page)
        assert sorted(seen) == sorted(hits), per_page
        assert seen == hits[::-1] or set(seen[:3]) == set(hits[::-1][:3]), per_page
        assert seen[3:] == [n for n in hits[::-1] if n not in seen[:3]], per_page
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="number", descending=True, per_page=per_page)
        assert seen == hits[::-1]


def test_a_word_common_in_the_archive_but_not_among_the_newest_is_found_in_ranges(
    mixed, users, make_ticket, monkeypatch
):
    """After a run of alike consultations the newest tickets checked hold none of a word the
    archive is full of: it is still found newest first, page by page, every match once; on
    PostgreSQL the index says it is common, so it is looked up for ranges of ids below the
    tickets checked (never read whole) and its count is a lower bound. (SQLite has no such
    walk: there the same results and exact counts are checked; the way of finding is
    checked in the PostgreSQL run.)"""
    hits = [n for i, n in enumerate(mixed) if i % 3 == 0]
    for i in range(12):
        make_ticket(title=f"庁舎点検{i}", body="エレベーターの点検日程。")
    postgres = db.session.get_bind().dialect.name == "postgresql"
    lows: list[int] = []
    look_up = search_walk.Matches._look_up

    def recorded(self, want, low):
        lows.append(low)
        return look_up(self, want, low)

    monkeypatch.setattr(search_walk.Matches, "_look_up", recorded)
    results = {}
    for few in (2000, 4):  # the index's bound for a rare word: above and below its 8 holders
        monkeypatch.setattr(search_walk, "RARE_DOCUMENTS", few)
        lows.clear()
        by_number, first = _every_page(users, "agent", q="相談窓口", sort="number", per_page=2)
        by_relevance, _ = _every_page(users, "agent", q="相談窓口", sort="relevance", per_page=2)
        results[few] = (by_number, by_relevance, first.total, first.at_least, list(lows))
    for few, (by_number, by_relevance, total, at_least, _looked) in results.items():
        assert by_number == hits, few
        assert sorted(by_relevance) == sorted(hits) and len(by_relevance) == len(hits), few
        if not postgres:
            assert (total, at_least) == (len(hits), False)
    if postgres:
        # Rare by the index (8 holders, at most 2000): counted exactly, looked up whole.
        assert results[2000][2:4] == (len(hits), False) and results[2000][4][0] == 0
        # Common by the index (more than 4): the first look-up is a range above the oldest
        # ids, and the count says "at least".
        assert results[4][3] is True and results[4][4] and results[4][4][0] > 0


def test_a_common_word_sorted_by_urgency_or_due_date_pages_through_every_match_in_that_order(
    make_ticket, users, monkeypatch
):
    """A list sorted by something other than relevance: on PostgreSQL the tickets are checked
    in the list's order (as far as the share of matches among the newest says a page needs,
    else the index finds them); either way every page holds the matches in that order, each
    once, as sorting every match would give, and a department sees its own alone."""
    from datetime import date

    monkeypatch.setattr(search_walk, "PROBE", 4)
    monkeypatch.setattr(search_walk, "RARE", 0.2)
    priorities = ["low", "normal", "high", "urgent"]
    made = []
    for i in range(36):
        body = "相談窓口の混雑について。" if i % 2 == 0 else "道路の補修。"
        due = date(2027, 1, 1 + (i * 7) % 28) if i % 5 else None
        requester = "staff_welfare" if i % 3 == 0 else "staff_health"
        t = make_ticket(requester, title=f"件名{i}", body=body, priority=priorities[(i * 3) % 4], due_date=due)
        made.append((i, t.number, priorities[(i * 3) % 4], due, requester))
    hits = [m for m in made if m[0] % 2 == 0]
    rank = {p: k for k, p in enumerate(("urgent", "high", "normal", "low"))}  # most urgent first

    def by_priority(rows):
        return [m[1] for m in sorted(rows, key=lambda m: (rank[m[2]], m[0]))]

    def by_due(rows, descending=False):
        dated = sorted((m for m in rows if m[3]), key=lambda m: (m[3], m[0]), reverse=descending)
        undated = sorted((m for m in rows if not m[3]), key=lambda m: m[0], reverse=descending)
        return [m[1] for m in dated] + [m[1] for m in undated]  # undated last either way

    health = [m for m in hits if m[4] == "staff_health"]
    postgres = db.session.get_bind().dialect.name == "postgresql"
    ways: set[str] = set()  # how the pages were found: walked, sorted whole, by the index
    ordered_page = search_walk.Matches.ordered_page

    def recorded(self, order, offset, limit):
        got = ordered_page(self, order, offset, limit)
        ways.add("index" if got is None else "sorted" if self.done else "walked")
        return got

    monkeypatch.setattr(search_walk.Matches, "ordered_page", recorded)
    # A budget under the list's 36 tickets (checked in order, or the index past it) and one
    # over them (the newest-first check reads the list whole and its matches are sorted).
    for budget, per_page in ((12, 1), (12, 3), (12, 50), (100, 3)):
        monkeypatch.setattr(search_walk, "WALK_BUDGET", budget)
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="priority", per_page=per_page)
        assert seen == by_priority(hits), per_page
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="priority", descending=True, per_page=per_page)
        assert seen == by_priority(hits)[::-1], per_page
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="due", per_page=per_page)
        assert seen == by_due(hits), per_page
        seen, _ = _every_page(users, "agent", q="相談窓口", sort="due", descending=True, per_page=per_page)
        assert seen == by_due(hits, descending=True), per_page
        # A department's staff member sorting the same way sees only their department's.
        seen, _ = _every_page(users, "staff_health", q="相談窓口", sort="priority", per_page=per_page)
        assert seen == by_priority(health), per_page
        seen, _ = _every_page(users, "staff_health", q="相談窓口 -補修", sort="due", per_page=per_page)
        assert seen == by_due(health), per_page
    if postgres:
        assert ways == {"walked", "sorted", "index"}
    else:
        assert ways == set()  # SQLite's index query serves every order
