"""The agent's day at a glance: counts at the top of the queue, each a link to those very rows."""

import re
from datetime import timedelta

from swat.extensions import db
from swat.services import tickets


def count(html, label):
    found = re.search(re.escape(label) + r' <span class="n">(\d+)</span>', html)
    assert found, label
    return int(found.group(1))


def numbers(html):
    return set(re.findall(r'<tr data-number="([^"]+)"', html))


def test_the_counts_say_what_the_links_list(auth, make_ticket, users, clock):
    now = clock.now()
    overdue, today, waiting, other = (make_ticket(title=f"自分の{i}") for i in range(4))
    for t in (overdue, today, waiting):
        tickets.claim_ticket(db.session, users["agent"], now, t)
    tickets.claim_ticket(db.session, users["agent2"], now, other)
    tickets.change_status(db.session, users["agent"], now, waiting, "waiting")
    overdue.sla_due_at = now - timedelta(minutes=5)
    today.sla_due_at = now + timedelta(hours=3)  # 13:00 in Tokyo: later today
    waiting.sla_due_at = None
    mine_theme = make_ticket(title="医療の未割当", theme="healthcare")
    make_ticket(title="他テーマの未割当", theme="telework")
    db.session.commit()

    b = auth.login("agent")
    queue = b.get("/queue").get_data(as_text=True)
    day = queue.split('class="my-day"', 1)[1].split("</nav>", 1)[0]
    assert (count(day, "自分の未完了"), count(day, "今日が期限"), count(day, "期限超過")) == (3, 1, 1)
    assert (count(day, "相談者の回答待ち"), count(day, "担当テーマの未割当")) == (1, 1)

    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>([^<]+) <span', day))
    by_label = {label: href.replace("&amp;", "&") for href, label in links.items()}
    assert numbers(b.get(by_label["自分の未完了"]).get_data(as_text=True)) == {
        overdue.number,
        today.number,
        waiting.number,
    }
    assert numbers(b.get(by_label["今日が期限"]).get_data(as_text=True)) == {today.number}
    assert numbers(b.get(by_label["期限超過"]).get_data(as_text=True)) == {overdue.number}
    assert numbers(b.get(by_label["相談者の回答待ち"]).get_data(as_text=True)) == {waiting.number}
    assert numbers(b.get(by_label["担当テーマの未割当"]).get_data(as_text=True)) == {mine_theme.number}
    # A manager reading the queue has no day of their own to count.
    assert 'class="my-day"' not in auth.login("manager").get("/queue?status=open").get_data(as_text=True)
