"""The routing scorer, on small hand-made rules: no database, no app."""

import pytest

from swat.domain.routing import RulesError, compile_rules, route
from swat.domain.routing_evaluate import evaluate

CATALOG_THEMES = {
    "sns-consultation": ["citizen-services"],
    "telework": ["telework"],
    "rpa": ["three-less"],
    "line-works": ["telework"],
}
THEME_TEXTS = {
    "citizen-services": "府民向けデジタルサービス SNS LINE 相談",
    "telework": "テレワーク 在宅勤務",
    "three-less": "3レス 業務効率化 RPA ペーパーレス",
}
INIT_TEXTS = {
    "sns-consultation": "SNSによる相談 LINEを活用した相談体制",
    "telework": "テレワーク 庁内での本格導入",
    "rpa": "業務効率 RPA AI-OCR",
    "line-works": "LINEワークス 災害時の意思疎通",
}


def rules(**over):
    doc = plain_doc()
    doc.update(over)
    return compile_rules(doc, CATALOG_THEMES, THEME_TEXTS, INIT_TEXTS)


def test_keywords_decide_theme_and_initiatives_with_reasons():
    p = route("LINEで相談を受けたい", "府民からの相談を受け付けたい", rules())
    assert p.theme == "citizen-services"
    assert p.initiatives[0] == "sns-consultation"
    reason = next(r for r in p.reasons if r.target == "initiative:sns-consultation")
    assert reason.keywords == ["line", "相談"]


def test_full_width_and_synonyms_are_read_alike():
    half = route("在宅勤務のVPNを増やしたい", "", rules())
    full = route("リモートワークのＶＰＮを増やしたい", "", rules())
    assert half.theme == full.theme == "telework"
    assert half.theme_scores == full.theme_scores
    assert "テレワーク" in next(r for r in full.reasons if r.target == "theme:telework").keywords


def test_longer_synonym_wins_so_line_works_is_not_line():
    p = route("災害時にLINE WORKSで職員に連絡したい", "", rules())
    assert p.initiatives[0] == "line-works"
    assert not any(r.target == "initiative:sns-consultation" for r in p.reasons)


def test_title_counts_more_than_body():
    in_title = route("RPAで自動化", "本文", rules())
    in_body = route("件名", "RPAで自動化", rules())
    assert in_title.initiative_scores["rpa"] > in_body.initiative_scores["rpa"]


def test_unsure_when_scores_are_close_or_low():
    assert route("テレワークのVPN", "", rules()).confident
    vague = route("相談があります", "よろしくお願いします", rules())
    assert not vague.confident
    split = route("テレワークとRPAの自動化と転記", "", rules(confidence_threshold=0.9))
    assert not split.confident


def test_threshold_is_data():
    text = ("テレワークとRPA", "")
    assert route(*text, rules(confidence_threshold=0.0)).confident
    assert not route(*text, rules(confidence_threshold=0.99)).confident


@pytest.mark.parametrize(
    "change, message",
    [
        ({"themes": {"no-such-theme": {"keywords": {"x": 1}}}}, "themes.no-such-theme"),
        ({"initiatives": {"nope": {"keywords": {}}}}, "initiatives.nope"),
        ({"confidence_threshold": 3}, "confidence_threshold"),
        ({"themes": {"telework": {"keywords": {"vpn": "heavy"}}}}, "themes.telework.keywords.vpn"),
        ({"colour": "blue"}, "unknown key"),
        ({"members": {"agent1": {"skills": ["x"]}}}, "members.agent1"),
    ],
)
def test_bad_rules_name_the_place(change, message):
    with pytest.raises(RulesError, match=message):
        rules(**change)


def test_evaluate_counts_theme_and_initiative_hits():
    rows = [
        {"id": "a", "title": "LINE相談", "body": "", "theme": "citizen-services", "initiatives": ["sns-consultation"]},
        {"id": "b", "title": "テレワーク", "body": "", "theme": "telework", "initiatives": []},
        {"id": "c", "title": "RPAで転記を自動化", "body": "", "theme": "telework", "initiatives": ["telework", "rpa"]},
    ]
    ev = evaluate(rows, rules())
    assert ev.n == 3
    assert ev.theme_accuracy == pytest.approx(2 / 3)
    assert ev.initiative_top1 == pytest.approx(1.0)  # c's first proposal (rpa) is one of its initiatives
    assert ev.initiative_top3 == pytest.approx(1.0)
    assert ev.confusion["telework"] == {"telework": 1, "three-less": 1}
    assert [m["id"] for m in ev.misses] == ["c"]


def test_theme_boost_multiplies_its_keywords():
    themes = {"telework": {"keywords": {"vpn": 2}}}
    plain = route("VPNの利用", "", rules(themes=themes))
    boosted = route("VPNの利用", "", rules(themes={"telework": {"keywords": {"vpn": 2}, "boost": 2.0}}))
    assert boosted.theme_scores["telework"] - plain.theme_scores["telework"] == pytest.approx(2 * 1.5 * 2 - 2 * 1.5)
    with pytest.raises(RulesError, match="themes.telework.boost"):
        rules(themes={"telework": {"keywords": {}, "boost": 0}})


def test_examples_teach_a_model_that_joins_the_scores_but_not_the_confidence():
    examples = [{"title": "会議室の予約を変えたい", "body": "予約の方法", "theme": "telework"}] * 5 + [
        {"title": "窓口の混雑", "body": "府民の相談窓口", "theme": "citizen-services"}
    ] * 5
    plain = rules()
    taught = compile_rules({**plain_doc(), "example_weight": 8}, CATALOG_THEMES, THEME_TEXTS, INIT_TEXTS, examples)
    before = route("会議室の予約", "", plain)
    after = route("会議室の予約", "", taught)
    assert after.theme == "telework" and after.theme_scores["telework"] > before.theme_scores["telework"] + 4
    assert not after.confident  # no keyword evidence: the lead decides
    assert (
        route(
            "会議室の予約",
            "",
            compile_rules({**plain_doc(), "example_weight": 0}, CATALOG_THEMES, THEME_TEXTS, INIT_TEXTS, examples),
        ).theme_scores
        == before.theme_scores
    )


def plain_doc():
    return {
        "confidence_threshold": 0.3,
        "min_score": 2.0,
        "default_cap": 5,
        "title_weight": 1.5,
        "synonyms": {"テレワーク": ["在宅勤務", "リモートワーク"], "lineworks": ["line works", "ラインワークス"]},
        "themes": {
            "telework": {"keywords": {"テレワーク": 3, "vpn": 2}},
            "citizen-services": {"keywords": {"府民": 1}},
            "three-less": {"keywords": {"自動化": 2}},
        },
        "initiatives": {
            "sns-consultation": {"keywords": {"line": 3, "相談": 1}},
            "telework": {"keywords": {"テレワーク": 3}},
            "rpa": {"keywords": {"rpa": 3, "転記": 2}},
            "line-works": {"keywords": {"lineworks": 4}},
        },
    }
