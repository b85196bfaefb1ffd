"""The made-up texts of `swat seed`: names, and consultation titles, bodies and replies
in the prefecture's own words, by theme.

Formatting and folding a text is the slow part of making one, so `text_pools` makes a pool
of ready ones per theme once and the life model picks from it per ticket.
"""

from __future__ import annotations

import random

POOL = 1024  # ready-made title/body texts per theme

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山崎",
    "森",
    "池田",
]
GIVEN = ["太郎", "花子", "健一", "美咲", "大輔", "由美", "翔太", "陽子", "直樹", "恵", "拓也", "真理子"]

TOPICS = {  # theme -> (services, technologies)
    "mobility": (
        ["公用車の運行管理", "オンデマンド交通の実証", "駐車場の満空情報", "観光地の混雑対策"],
        ["AIオンデマンドバス", "MaaSアプリ", "IoTセンサー", "自動運転バス"],
    ),
    "healthcare": (
        ["保健所の健康観察", "ワクチン接種の予約受付", "陽性者への療養案内", "入院調整", "宿泊療養施設の運営"],
        ["チャットボット", "AI音声認識", "オンライン診療", "ＨＥＲ－ＳＹＳ連携", "自動架電システム"],
    ),
    "three-less": (
        ["飲食店の感染防止認証", "イベントの来場者管理", "窓口の混雑緩和", "会議のオンライン化"],
        ["大阪コロナ追跡システム", "ＱＲコード", "予約システム", "Web会議"],
    ),
    "telework": (
        ["職員の在宅勤務", "庁内会議", "テレワーク端末の貸出", "時差出勤の管理"],
        ["VPN", "Web会議", "シンクライアント", "クラウドストレージ"],
    ),
    "ict-governance": (
        ["システム調達", "個人情報の取り扱い", "クラウド利用の審査", "情報セキュリティ対策"],
        ["クラウドサービス", "生成AI", "外部委託先の管理", "多要素認証"],
    ),
    "citizen-services": (
        ["府民からの問い合わせ対応", "補助金の電子申請", "営業時間短縮協力金の審査", "各種証明書の発行"],
        ["LINE公式アカウント", "ＬＩＮＥ", "電子申請システム", "AI-OCR", "RPA"],
    ),
    "data": (
        ["感染状況の集計", "オープンデータの公開", "統計データの可視化", "部局間のデータ共有"],
        ["ダッシュボード", "BIツール", "オープンデータ", "データ連携基盤"],
    ),
}
GENERIC = (
    ["業務のデジタル化", "窓口業務", "庁内の事務作業", "府民向けの周知"],
    ["RPA", "クラウドサービス", "タブレット端末", "チャットボット"],
)
TARGETS = ["府民", "高齢者", "保護者", "事業者", "医療機関", "職員", "児童・生徒"]
PROBLEMS = [
    "入力作業の負担",
    "電話がつながらない問題",
    "紙の書類が多い問題",
    "集計の遅れ",
    "セキュリティ上の懸念",
    "費用の見積もり",
    "調達の進め方",
    "アカウントの管理",
]
TITLES = [
    "{service}の{tech}化について相談したい",
    "{target}向けに{tech}を導入したい",
    "{service}における{problem}を解消したい",
    "{tech}の調達手続きと{problem}について",
    "{service}で{tech}を使えるか教えてください",
    "【至急】{service}の{problem}について",
]
SENTENCES = [
    "現在、{service}では{problem}が大きな課題になっています。",
    "{tech}を活用して改善できないか検討しています。",
    "他の自治体や府内の部局で{tech}を導入した事例があれば教えてください。",
    "{target}への影響も考慮したうえで、月末までに方針を決める必要があります。",
    "予算は今年度の補正予算で確保する予定です。概算の費用感についても助言をお願いします。",
    "個人情報を扱うため、ICTガバナンスの観点から注意点を確認したいです。",
    "担当者は{n}名で、現在はすべて手作業で対応しています。",
]
DESK_REPLIES = [
    "ご相談ありがとうございます。{tech}の導入事例を取りまとめてお送りします。",
    "関係部局の事例を確認しました。一度オンラインで打ち合わせをさせてください。",
    "{problem}については、ICTガバナンス部会の見解を確認のうえご連絡します。",
    "{service}での{tech}の活用について、手順と留意点を添付の資料にまとめました。",
]
FOLLOW_UPS = [
    "ありがとうございます。資料を確認して部内で検討します。",
    "打ち合わせの候補日を送ります。よろしくお願いします。",
    "追加で質問です。{tech}の運用体制はどのようにされていますか。",
    "部内で確認しました。{target}向けの説明資料もいただけますか。",
]


def _fill(template: str, rng: random.Random, topic: tuple[list[str], list[str]]) -> str:
    return template.format(
        service=rng.choice(topic[0]),
        tech=rng.choice(topic[1]),
        target=rng.choice(TARGETS),
        problem=rng.choice(PROBLEMS),
        n=rng.randint(2, 12),
    )


def text_pools(rng: random.Random, themes: list[str]):
    """Ready-made (title, body) per theme, and reply texts, picked per ticket."""
    pools: dict[str | None, list[tuple[str, str]]] = {}
    for theme in [None, *themes]:
        topic = TOPICS.get(theme or "", GENERIC)
        pool = []
        for _ in range(POOL):
            title = _fill(rng.choice(TITLES), rng, topic)[:200]
            body = "\n".join(_fill(s, rng, topic) for s in rng.sample(SENTENCES, rng.randint(2, 4)))
            pool.append((title, body))
        pools[theme] = pool
    desk = [_fill(rng.choice(DESK_REPLIES), rng, TOPICS[rng.choice(list(TOPICS))]) for _ in range(256)]
    follow = [_fill(rng.choice(FOLLOW_UPS), rng, TOPICS[rng.choice(list(TOPICS))]) for _ in range(256)]
    return pools, desk, follow
