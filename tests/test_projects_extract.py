"""Project facts from one article: one test per rule of issue 16 (texts written for these tests)."""

from __future__ import annotations

import json

import opencc
import pytest

from ingest.projects import extract_projects, load_gazetteer
from ingest.projects.extract import char_overlap, name_key


def _one(title: str, text: str):
    facts = extract_projects(title, text)
    assert len(facts) == 1, facts
    return facts[0]


SIGNING = (
    "6月2日，睢宁县夏季重点项目集中签约仪式举行，共签约项目8个，协议总投资64亿元。\n\n"
    "签约项目中，江苏宁拓智能装备有限公司投资的年产2万台智能叉车项目总投资12亿元，其中一期投资5亿元，落户睢宁经济开发区，"
    "达产后年产值30亿元；徐州润禾食品有限公司的速冻米面制品项目总投资8000万元，落户睢宁县古邳镇。\n\n"
    "今年以来，睢宁县已签约亿元以上项目46个，协议总投资超过300亿元。"
)


def test_names_are_as_written_without_the_company_and_amounts_are_totals_in_yi():
    facts = extract_projects("睢宁县夏季重点项目集中签约", SIGNING)
    assert [(f.name, f.company, f.amount_yi) for f in facts] == [
        ("年产2万台智能叉车项目", "江苏宁拓智能装备有限公司", 12.0),  # not the 一期 figure, not 产值
        ("速冻米面制品项目", "徐州润禾食品有限公司", 0.8),  # 8000万元
    ]
    assert all(f.stage == "signed" for f in facts)


def test_round_up_totals_are_not_projects():
    text = "一季度，全市186个重大产业项目集中开工，总投资1320亿元，其中“343”创新产业集群项目151个。今年新签约储能项目9个。"
    assert extract_projects("全市一季度重大产业项目集中开工", text) == []


def test_unnamed_groups_and_generic_mentions_are_not_projects():
    text = (
        "观摩中，一批新能源汽车零部件项目加快建设。会议要求，各地要把更多精力投入到抓项目上来，"
        "支持企业实施智能化改造和数字化转型项目，全力保障项目建设。"
    )
    assert extract_projects("县区项目观摩", text) == []


def test_place_is_the_most_specific_and_towns_fall_back_to_their_county():
    facts = extract_projects("睢宁县夏季重点项目集中签约", SIGNING)
    assert [f.place for f in facts] == ["睢宁经济开发区", "睢宁县"]
    text = "江苏铜芯电子有限公司晶圆级封装项目在徐州高新区安全科技产业园开工，项目总投资9亿元。"
    assert _one("", text).place == "徐州高新区安全科技产业园"  # a park beats its zone
    text = "江苏邳材新材料有限公司年产3万吨铝箔项目落户邳州经济开发区新材料产业园，总投资6亿元。"
    assert _one("", text).place == "邳州经济开发区新材料产业园"  # a park of a zone, read without an entry


def test_aliases_map_to_the_canonical_place():
    text = "徐州晶川科技有限公司功率模块封装项目在经开区签约，总投资5亿元。"
    assert _one("", text).place == "徐州经济技术开发区"
    assert load_gazetteer().canonical("徐州高新区") == "徐州高新技术产业开发区"


def test_the_place_whose_projects_the_article_reports_stands_when_the_project_names_none():
    text = "9月8日，丰县举行重点项目集中开工仪式。江苏丰源机械有限公司的农机零部件项目总投资3亿元。"
    assert _one("丰县重点项目集中开工", text).place == "丰县"


def test_projects_outside_xuzhou_have_no_place():
    text = "当地时间5月6日，徐工集团投资的泰国装载机工厂项目在泰国罗勇府竣工投产，总投资约4亿元。"
    fact = _one("", text)
    assert (fact.place, fact.stage, fact.company) == (None, "completed", "徐工集团")


@pytest.mark.parametrize(
    ("sentence", "stage"),
    [
        (
            "江苏安泰矿山装备有限公司井下救援机器人项目拟在徐州高新区建设，目前双方正在洽谈，项目拟总投资5亿元。",
            "planned",
        ),
        ("江苏安泰矿山装备有限公司井下救援机器人项目在徐州高新区签约，总投资5亿元，计划年底开工。", "signed"),
        (
            "江苏安泰矿山装备有限公司井下救援机器人项目在徐州高新区开工，总投资5亿元，预计明年投产。",
            "started",
        ),
        ("江苏安泰矿山装备有限公司井下救援机器人项目主体厂房已封顶，总投资5亿元。", "started"),
        ("江苏安泰矿山装备有限公司井下救援机器人项目在徐州高新区建成投产，总投资5亿元。", "completed"),
        ("江苏安泰矿山装备有限公司井下救援机器人项目一期在徐州高新区投产，总投资5亿元。", "completed"),
        ("去年签约的江苏安泰矿山装备有限公司井下救援机器人项目今天开工，总投资5亿元。", "started"),
        ("江苏安泰矿山装备有限公司井下救援机器人项目从签约到试生产仅用了10个月，总投资5亿元。", "completed"),
    ],
)
def test_the_stage_is_what_happens_now_not_plans_or_history(sentence, stage):
    assert _one("", sentence).stage == stage


def test_a_later_sentence_about_the_project_gives_its_total_and_company():
    text = (
        "10月12日，新沂海川冷链物流园项目在新沂市开工建设。\n\n"
        "该项目由江苏海川供应链有限公司投资建设，总投资6.5亿元，其中固定资产投资5亿元，已完成投资1.2亿元。"
    )
    fact = _one("新沂冷链物流园项目开工", text)
    assert (fact.company, fact.amount_yi, fact.stage, fact.place) == (
        "江苏海川供应链有限公司",
        6.5,
        "started",
        "新沂市",
    )


def test_fixed_asset_investment_counts_only_when_no_total_is_given():
    text = "江苏丰泽机械有限公司风机制造项目在丰县签约，其中固定资产投资总额1.6亿元，环保投资800万元。"
    assert _one("", text).amount_yi == 1.6


def test_a_list_with_a_size_class_and_distributed_stages():
    text = "去年，经开区甲乙新材料一体化、丙丁30GWh储能电池、戊己氢能装备制造等3个百亿级项目“投产一个、在建一个、签约一个”。"
    facts = extract_projects("经开区工作会议", text)
    assert [(f.name, f.amount_yi, f.stage) for f in facts] == [
        ("甲乙新材料一体化", 100.0, "completed"),
        ("丙丁30GWh储能电池", 100.0, "started"),
        ("戊己氢能装备制造", 100.0, "signed"),
    ]


def test_items_of_a_list_share_its_predicate_and_place():
    text = "在沛县经济开发区食品产业园内，江苏沛禾食品有限公司酱卤制品项目、徐州香满园食品有限公司糕点生产线项目同时竣工投产。"
    facts = extract_projects("", text)
    assert [(f.stage, f.place) for f in facts] == [("completed", "沛县经济开发区食品产业园")] * 2


def test_a_company_short_name_or_a_shortened_name_is_the_same_project():
    text = (
        "江苏澄光能源科技有限公司年产4GW钙钛矿叠层电池项目在徐州高新区签约，总投资28亿元。\n\n"
        "据了解，澄光能源项目是高新区今年签约的最大项目。此次签约的钙钛矿叠层电池项目将于年内开工。"
    )
    fact = _one("徐州高新区钙钛矿电池项目签约", text)
    assert fact.name == "年产4GW钙钛矿叠层电池项目"


def test_traditional_text_gives_the_same_facts_copied_as_written():
    s2t = opencc.OpenCC("s2t")
    simplified = extract_projects("睢宁县夏季重点项目集中签约", SIGNING)
    traditional = extract_projects(s2t.convert("睢宁县夏季重点项目集中签约"), s2t.convert(SIGNING))
    strip = [(f.amount_yi, f.stage, f.place) for f in simplified]
    assert [(f.amount_yi, f.stage, f.place) for f in traditional] == strip
    assert traditional[0].name == s2t.convert("年产2万台智能叉车项目")  # copied as written
    assert all(f.evidence in s2t.convert(SIGNING) for f in traditional)


def test_evidence_is_copied_from_the_text():
    for fact in extract_projects("睢宁县夏季重点项目集中签约", SIGNING):
        assert fact.evidence in SIGNING and fact.name in fact.evidence


def test_an_article_without_projects_gives_an_empty_list():
    assert (
        extract_projects("彭城读书节开幕", "4月23日，第十届彭城读书节开幕，将举办各类阅读活动120场。") == []
    )


def test_to_json_is_the_batch_contract():
    fact = extract_projects("睢宁县夏季重点项目集中签约", SIGNING)[0]
    assert sorted(json.loads(json.dumps(fact.to_json()))) == [
        "amount_yi",
        "company",
        "evidence",
        "name",
        "place",
        "stage",
    ]


def test_name_keys_and_overlap():
    assert name_key("年產6GW異質結電池項目") == "6gw异质结电池"
    assert char_overlap("abcd", "abxy") == 0.5


def test_a_zone_written_before_a_company_name_is_the_place_not_part_of_the_name():
    text = "走进邳州高新区江苏邳锐电子有限公司柔性电路板项目车间，工人正在进行设备安装。项目总投资4亿元。"
    assert _one("", text).place == "邳州高新技术产业开发区"
    text = "邳州邳锐电子有限公司柔性电路板项目在睢宁县开工，总投资4亿元。"
    assert _one("", text).place == "睢宁县"  # 邳州 here begins the company's name
