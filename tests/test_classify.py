"""Classification: topics vs mentions, evidence, relevance, traditional mirrors, and the command."""

from __future__ import annotations

import json
from pathlib import Path

import opencc
import pytest
import typer
from typer.testing import CliRunner

from ingest.classify.clusters import classify
from ingest.classify.lexicon import CLUSTER_IDS
from xznews.cli.classify_cmd import register

ROOT = Path(__file__).resolve().parents[1]
SEED_003 = next((ROOT / "seeds").glob("003_*.txt"))

CRANES = (
    "徐工全地面起重机批量发往中东",
    "徐工重型在徐州经开区举行发车仪式，30台全地面起重机和15台汽车起重机将发往沙特。\n"
    "这批起重机针对高温工况进行了适配。今年一季度公司海外订单同比增长35%。",
)
LIST_343 = (
    "徐州着力培育创新产业集群",
    "徐州着力打造工程机械、绿色低碳能源、新材料三大优势创新产业集群，培育数字经济、集成电路与ICT、"
    "医药健康、安全应急四大新兴创新产业集群，提升精品钢材、高端纺织、食品及农副产品加工三大特色创新产业集群。",
)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_an_article_about_cranes_is_engineering_machinery_with_evidence():
    result = classify(*CRANES)
    assert result.clusters == ["engineering_machinery"]
    terms = dict(result.evidence["engineering_machinery"])
    assert {"全地面起重机", "汽车起重机", "起重机", "徐工重型"} <= set(terms)
    assert result.scores["engineering_machinery"] > 0.5
    assert result.xuzhou >= 0.5 and result.development >= 0.5


def test_a_list_of_the_343_clusters_only_mentions_them():
    result = classify(*LIST_343)
    assert result.clusters == []
    assert result.mentions == list(CLUSTER_IDS)
    assert all(score < 0.5 for score in result.scores.values())


def test_a_row_of_growth_figures_is_a_mention():
    result = classify(
        "前三季度工业经济运行平稳",
        "分行业看，工程机械产值增长6.5%，绿色低碳能源产值增长21.3%，新材料产值增长9.8%，集成电路与ICT产值增长15.2%。",
    )
    assert result.clusters == []
    assert {"engineering_machinery", "green_energy", "new_materials", "ic_ict"} <= set(result.mentions)


def test_the_title_counts_more_than_the_body():
    body = "会议还提到，当地企业在推进数字化。"
    in_title = classify("光伏企业扩产", body)
    in_body = classify("企业扩产", "光伏企业扩产。" + body)
    assert in_title.scores["green_energy"] > in_body.scores["green_energy"]


def test_coverage_over_several_sentences_counts_more_than_one():
    one = classify("", "公司投产储能电池生产线，年产储能电池5GWh。")
    spread = classify("", "公司投产储能电池生产线。\n新线年产5GWh。\n储能电池主要供应电网。")
    assert spread.scores["green_energy"] >= one.scores["green_energy"]
    assert spread.clusters == ["green_energy"]


def test_a_traditional_mirror_classifies_like_its_original():
    s2t = opencc.OpenCC("s2t")
    original = classify(*CRANES)
    mirror = classify(s2t.convert(CRANES[0]), s2t.convert(CRANES[1]))
    assert mirror.to_json() == original.to_json()


def test_workplace_safety_duties_are_not_the_safety_industry():
    result = classify("开展安全生产大检查", "各地要压实安全生产责任，做好应急值守，严防各类事故发生。")
    assert "safety_emergency" not in result.clusters + result.mentions
    assert result.development < 0.5


def test_news_from_another_city_is_not_xuzhou_news():
    result = classify(
        "无锡集成电路产业规模突破2500亿元",
        "无锡市集成电路产业去年营收突破2500亿元，芯片设计、晶圆制造和封装测试全产业链协同发展。无锡高新区集聚了一批晶圆厂。",
    )
    assert result.clusters == ["ic_ict"]
    assert result.xuzhou < 0.5 and result.development >= 0.5


def test_a_marathon_in_xuzhou_is_xuzhou_news_but_not_development():
    result = classify(
        "徐州马拉松鸣枪开跑", "3万名选手参加比赛，男子冠军由一名肯尼亚运动员获得，交警实施交通管制。"
    )
    assert result.clusters == [] and result.xuzhou >= 0.5 and result.development < 0.5


def test_to_json_has_the_agreed_keys_and_plain_types():
    data = classify(*CRANES).to_json()
    assert set(data) == {"clusters", "mentions", "scores", "evidence", "xuzhou", "development"}
    assert list(data["scores"]) == list(CLUSTER_IDS)
    assert all(isinstance(pair, list) and len(pair) == 2 for ev in data["evidence"].values() for pair in ev)
    json.dumps(data, ensure_ascii=False)


def test_empty_input_has_no_clusters():
    result = classify("", "")
    assert (result.clusters, result.mentions, result.xuzhou, result.development) == ([], [], 0.0, 0.0)


def test_the_fast_and_jieba_paths_agree_on_a_seed():
    text = SEED_003.read_text(encoding="utf-8")
    assert classify("", text).clusters == classify("", text, method="jieba").clusters


def test_seed_003_names_the_clusters_a_reader_would():
    # A development-zone work conference: it reports named projects of machinery (徐工农机, 卡特彼勒超大挖)
    # and green energy (比亚迪刀片/钠离子电池, 中能颗粒硅, 弘元) as its results; IC projects (中环大硅片,
    # 通用半导体碳化硅, 鑫华) come in the same breath; the drug makers only sit on the rostrum; 安全生产 is a duty.
    lines = SEED_003.read_text(encoding="utf-8").strip().splitlines()
    result = classify(lines[0], "\n".join(lines[1:]))
    assert {"engineering_machinery", "green_energy"} <= set(result.clusters)
    assert "ic_ict" in result.clusters + result.mentions
    assert "health" in result.mentions
    assert not {"steel", "textiles", "food_agri", "safety_emergency"} & set(result.clusters + result.mentions)
    assert result.xuzhou >= 0.5 and result.development >= 0.5


def test_the_command_prints_one_json_line_per_file(app, tmp_path):
    article = tmp_path / "cranes.txt"
    article.write_text(f"# {CRANES[0]}\n\n{CRANES[1]}\n", encoding="utf-8")
    result = CliRunner().invoke(app, [str(article), str(SEED_003), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["id"] for line in lines] == [str(article), str(SEED_003)]
    assert lines[0]["clusters"] == ["engineering_machinery"]
    assert set(lines[0]) == {"id", "clusters", "mentions", "scores", "evidence", "xuzhou", "development"}


def test_the_command_reads_jsonl(app, tmp_path):
    jsonl = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "title": CRANES[0], "text": CRANES[1]},
        {"id": "b", "title": LIST_343[0], "text": LIST_343[1]},
    ]
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--jsonl", str(jsonl)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["id"], o["clusters"]) for o in out] == [("a", ["engineering_machinery"]), ("b", [])]


def test_explain_shows_names_tiers_evidence_and_relevance(app, tmp_path):
    article = tmp_path / "cranes.txt"
    article.write_text(f"{CRANES[0]}\n{CRANES[1]}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--explain", str(article)])
    assert result.exit_code == 0, result.output
    assert "工程机械 / Engineering machinery" in result.output and "优势" in result.output
    assert "起重机 ×" in result.output and "title+body" in result.output
    assert "relevance: Xuzhou" in result.output


def test_an_unreadable_file_is_reported_and_the_others_go_on(app, tmp_path):
    article = tmp_path / "cranes.txt"
    article.write_text(f"{CRANES[0]}\n{CRANES[1]}\n", encoding="utf-8")
    result = CliRunner().invoke(app, [str(tmp_path / "missing.txt"), str(article), "--json"])
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert "error" in first and second["clusters"] == ["engineering_machinery"]


def test_the_command_needs_some_input(app):
    result = CliRunner().invoke(app, [])
    assert result.exit_code != 0


# ---------------------------------------------------------------------------------- after the holdout test

WE_THE_CITY = (
    "全市工业经济运行分析会召开",
    "7月22日，全市上半年工业经济运行分析会召开。会议指出，上半年我市规上工业增加值同比增长6.8%，"
    "工业投资同比增长10.2%。会议要求，全市上下要加快推进在建项目竣工投产。",
)


def test_we_the_city_is_xuzhou_only_when_the_source_is_a_xuzhou_outlet():
    assert classify(*WE_THE_CITY).xuzhou < 0.5  # the text alone cannot know which city 我市 is
    assert classify(*WE_THE_CITY, home=True).xuzhou >= 0.5
    other = classify(
        "长沙工程机械产业集群营收突破三千亿元",
        "记者从长沙市工信局获悉，长沙工程机械产业集群营收突破3100亿元。长沙市委有关负责人表示，"
        "我市将推动工程机械产业向电动化转型。长沙经开区集聚了一批配套企业。",
        home=True,
    )
    assert other.xuzhou < 0.5  # a Xuzhou outlet reprinting Changsha news: the named city wins


def test_home_changes_nothing_but_the_xuzhou_score():
    plain, home = classify(*CRANES), classify(*CRANES, home=True)
    assert (plain.clusters, plain.mentions, plain.scores) == (home.clusters, home.mentions, home.scores)
    assert home.xuzhou >= plain.xuzhou


def test_each_project_of_a_round_up_with_its_investment_is_a_topic():
    result = classify(
        "铜山区重大项目现场观摩",
        "在徐州高新区，总投资18亿元的碳化硅外延及器件项目厂房已经封顶。\n"
        "在马坡镇，总投资5亿元的预制菜加工项目进入设备调试阶段。\n"
        "区委书记强调，要以拼的状态推进项目建设。",
    )
    assert {"ic_ict", "food_agri"} <= set(result.clusters)


def test_a_product_rating_is_not_a_figure_and_a_passing_crane_is_a_mention():
    result = classify(
        "音乐厅钢结构顶盖吊装完成",
        "8月8日，徐州音乐厅扩建项目钢结构顶盖吊装全部完成。记者在现场看到，一台800吨履带起重机正将最后"
        "一块钢构件缓缓吊起。扩建完成后，音乐厅可以承接大型交响乐演出。",
    )
    assert "engineering_machinery" not in result.clusters
    assert "engineering_machinery" in result.mentions


def test_a_single_minor_word_is_not_a_mention():
    result = classify(
        "沛县服装企业订单排到年底",
        "沛县一家羽绒服企业车间里，300多名工人正在赶制订单。企业年产服装200万件，同时开设了自有品牌网店。"
        "企业新上了自动充绒机和智能吊挂系统，纺织服装产业成为县域特色产业。",
    )
    assert result.clusters == ["textiles"]
    assert "digital_economy" not in result.mentions  # one 网店 in passing


def test_the_silk_road_is_not_silk_and_market_inspections_are_not_the_food_industry():
    silk = classify("", "徐州主动融入丝绸之路经济带建设，中欧班列开行突破千列。")
    assert "textiles" not in silk.clusters + silk.mentions
    inspection = classify(
        "校园食品安全专项检查",
        "执法人员检查了学校食堂的食品留样和进货查验记录，发现一家小卖部销售过期食品，当场下架。"
        "此次检查食品经营户1500余家，查处三无食品和过期食品案件12起。",
    )
    assert "food_agri" not in inspection.clusters
    assert inspection.development < 0.5


def test_xcmg_information_is_the_software_company():
    result = classify(
        "汉云工业互联网平台连接设备超百万台",
        "徐工信息技术股份有限公司打造的汉云工业互联网平台连接设备突破110万台，服务企业超过7万家。"
        "平台可为中小企业提供设备管理、能耗管理等SaaS服务。",
    )
    assert result.clusters == ["digital_economy"]


def test_explain_and_stored_evidence_spell_terms_as_the_lexicon_does(app, tmp_path):
    article = tmp_path / "pv.txt"
    article.write_text(
        "协鑫topcon电池项目投产\n徐州经开区协鑫TOPCON电池项目投产，年产能10gwh。\n项目将带动ict产业链发展。\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["--explain", str(article)])
    assert result.exit_code == 0, result.output
    assert "TOPCon ×2" in result.output and "GWh ×1" in result.output
    evidence = result.output.split("title:", 1)[1].split("\n", 1)[1]  # the title line repeats the input
    assert "topcon" not in evidence and "gwh" not in evidence
    stored = classify("", "项目将带动ict产业链发展，ict产业加快集聚。").to_json()["evidence"]
    assert "ICT产业" in [term for term, _ in stored["ic_ict"]]
