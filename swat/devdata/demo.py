"""Demo accounts and consultations for `make run` (never in production)."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Ticket, User
from ..services import routing, tickets
from ..services.accounts import create_user
from ..services.storage import AttachmentStore, Upload

DEMO_PASSWORD = "swat-demo-2026"
# The demo accounts' addresses: example.jp is reserved for examples, so a demo desk's mail
# reaches no one even if a real server relays it (email-validator refuses .localhost and .test).
DEMO_MAIL_DOMAIN = "demo.example.jp"

ACCOUNTS = [
    # username, display name, role, department, themes
    ("admin", "管理者 太郎", "admin", None, []),
    ("lead", "班長 花子", "lead", "smart-city", ["healthcare", "ict-governance", "telework"]),
    ("agent1", "スワット 一郎", "agent", "smart-city", ["citizen-services", "healthcare", "data"]),
    ("agent2", "スワット 二葉", "agent", "smart-city", ["three-less", "telework", "ict-governance"]),
    ("agent3", "スワット 三郎", "agent", "smart-city", ["mobility", "data", "citizen-services"]),
    ("manager", "部長 正子", "manager", None, []),
    ("kenko", "健康 医子", "staff", "health-medical", []),
    ("fukushi", "福祉 守", "staff", "welfare", []),
    ("kyoiku", "教育 学", "staff", "education", []),
    ("somu", "総務 勤", "staff", "general-affairs", []),
]

CONSULTATIONS = [
    # requester, title, body, theme, initiatives, priority, age (hours), steps
    (
        "fukushi",
        "LINEで子育て相談を24時間受け付けたい",
        "外出自粛で子育て中の保護者の不安が増えています。電話窓口がつながりにくいので、LINEで相談を受け付ける仕組みを作りたいのですが、他部局の事例や費用感を教えてください。",
        "citizen-services",
        ["sns-consultation"],
        "high",
        2,
        [],
    ),
    (
        "kenko",
        "保健所の疫学調査票をタブレットで入力したい",
        "保健所で紙の調査票に手書きし、あとでExcelに転記しています。タブレットで直接入力し、集計まで自動化できないでしょうか。",
        "healthcare",
        ["rpa"],
        "urgent",
        5,
        ["claim:agent1"],
    ),
    (
        "somu",
        "在宅勤務用のリモートアクセス端末を増やしたい",
        "緊急事態宣言に備え、職員の在宅勤務を一気に拡大したいです。現在のリモートアクセスの同時接続数では足りないため、増強の方法を相談したいです。",
        "telework",
        ["telework"],
        "high",
        30,
        [
            "claim:agent2",
            "status:in_progress",
            "reply:agent2:同時接続ライセンスの追加と、VDIの段階的な増強が考えられます。現在の利用状況を教えてください。",
            "status:waiting",
        ],
    ),
    (
        "kyoiku",
        "オンライン授業の配信方法について",
        "臨時休校中の府立学校で、オンライン授業を配信したいと考えています。学校ごとに環境が違うため、どのように進めるべきか相談させてください。",
        "citizen-services",
        ["smart-school"],
        "normal",
        50,
        [
            "claim:agent3",
            "status:in_progress",
            "reply:agent3:モデル校5校の取組みを横展開するのが早道です。資料をお送りします。",
            "status:resolved",
        ],
    ),
    (
        "kenko",
        "新型コロナの陽性者数をオープンデータで公開したい",
        "日々の陽性者数や検査件数を、機械判読できる形で公開したいです。Code for OSAKA との連携の事例があれば教えてください。",
        "data",
        ["open-data"],
        "normal",
        72,
        [
            "claim:agent1",
            "status:in_progress",
            "note:agent1:健医の既存のCSV出力を流用できそう。",
            "reply:agent1:オープンデータ形式の雛形をお送りします。",
            "status:resolved",
            "status:closed",
        ],
    ),
    (
        "somu",
        "押印の見直し対象の洗い出し方",
        "はんこレスを進めたいのですが、押印の根拠が要領だけのものをどう洗い出せばよいか分かりません。",
        "three-less",
        ["hanko-less"],
        "low",
        1,
        [],
    ),
    (
        "fukushi",
        "児童相談所の記録システムにAIを使えるか",
        "児童虐待の通告が増えています。過去の記録からリスクを見立てる支援にAIを活用できるか、検討の進め方を相談したいです。",
        "healthcare",
        ["child-abuse-response"],
        "high",
        8,
        ["claim:lead"],
    ),
    (
        "kyoiku",
        "ＷＥＢ会議のセキュリティ設定を確認したい",
        "教職員の会議をWEB会議で行う際、情報漏えいを防ぐための設定を確認したいです。",
        None,
        [],
        "normal",
        0.5,
        [],
    ),
]


def load_demo(session: Session, now, settings: dict, force: bool = False) -> str:
    """Create demo users and consultations if there are none; return the logins as text.

    Refused in production: demo accounts have a published password.
    """
    if settings["env"] == "production":
        return "demo data is never created in production"
    if not force and session.execute(select(func.count()).select_from(User)).scalar_one() > 0:
        return "the database already has users; demo data not added"
    users = {}
    for username, name, role, dep, themes in ACCOUNTS:
        users[username] = create_user(
            session,
            now,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=name,
            department_id=dep,
            theme_ids=themes,
            hash_method=settings["password_hash_method"],
            must_change_password=False,  # the demo desk's accounts share one published password
            email=f"{username}@{DEMO_MAIL_DOMAIN}",
        )
    store = AttachmentStore(settings["attachment_dir"])
    limits = tickets.Limits(settings["max_attachment_bytes"], settings["max_attachments_per_post"])
    for requester, title, body, theme, inits, prio, age, steps in CONSULTATIONS:
        at = now - timedelta(hours=age)
        files = []
        if requester == "kenko" and "疫学" in title:
            files = [Upload("疫学調査票_様式.csv", io.BytesIO("項目,内容\n氏名,\n発症日,\n".encode()), "text/csv")]
        t = tickets.file_consultation(
            session,
            users[requester],
            at,
            title=title,
            body=body,
            theme_id=theme,
            initiative_ids=inits,
            priority=prio,
            due_date=None,
            files=files,
            store=store,
            limits=limits,
        )
        if not steps:
            # Consultations nobody has touched yet go through routing as they would when filed.
            routing.route_new_ticket(session, t, at, auto_apply=settings["routing_auto_apply"])
        for i, step in enumerate(steps, start=1):
            when = at + timedelta(minutes=20 * i)
            kind, _, rest = step.partition(":")
            if kind == "claim":
                tickets.claim_ticket(session, users[rest], when, t)
            elif kind == "status":
                actor = users.get(_assignee_name(session, t, users) or "") or users["lead"]
                tickets.change_status(session, actor, when, t, rest)
            elif kind in ("reply", "note"):
                who, _, text = rest.partition(":")
                fn = tickets.add_reply if kind == "reply" else tickets.add_internal_note
                fn(session, users[who], when, t, text, [], store, limits)
    session.flush()
    lines = [f"demo accounts (password for all: {DEMO_PASSWORD}):"]
    for username, name, role, dep, _themes in ACCOUNTS:
        lines.append(f"  {username:<9} {role:<8} {dep or '':<16} {name}")
    n = session.scalar(select(func.count()).select_from(Ticket))
    lines.append(f"{n} demo consultations")
    return "\n".join(lines)


def _assignee_name(session: Session, ticket: Ticket, users: dict) -> str | None:
    session.refresh(ticket)
    for name, user in users.items():
        if user.id == ticket.assignee_id:
            return name
    return None
