"""The taxonomy's boundary cases (clusters-343.md, issue 14 point 3) and the method that generalizes: families
of compounds, stage words as substance, customers and applications as mentions."""

from __future__ import annotations

from ingest.classify.clusters import classify


def topics_and_mentions(title: str, text: str) -> tuple[list[str], list[str]]:
    result = classify(title, text)
    return result.clusters, result.mentions


def test_electronic_chemicals_are_new_materials():
    clusters, _ = topics_and_mentions(
        "光刻胶项目投产",
        "企业新建的光刻胶和湿电子化学品生产线日前投产，总投资6亿元，年产光刻胶800吨。\n"
        "公司表示，电子化学品产品线将继续扩充。",
    )
    assert clusters == ["new_materials"]


def test_silicon_materials_are_new_materials():
    clusters, _ = topics_and_mentions(
        "有机硅新材料项目签约",
        "新沂市签约一个有机硅项目，总投资12亿元，以工业硅为原料生产硅橡胶和硅油。\n项目达产后年产硅材料10万吨。",
    )
    assert clusters == ["new_materials"]


def test_wafers_electronic_grade_polysilicon_and_sic_devices_are_ic_ict():
    for title, text in [
        ("大硅片项目投产", "项目建成12英寸大硅片生产线，月产晶圆30万片，总投资50亿元。"),
        ("电子级多晶硅扩产", "鑫华半导体电子级多晶硅扩产项目竣工，年产能5000吨，供应国内硅片企业。"),
        ("碳化硅器件下线", "企业碳化硅功率器件首批下线，项目总投资20亿元，年产碳化硅器件60万只。"),
    ]:
        clusters, _ = topics_and_mentions(title, text)
        assert "ic_ict" in clusters, title
        assert "green_energy" not in clusters, title


def test_a_photoresist_plant_for_chips_is_new_materials_and_may_carry_ic_ict():
    clusters, mentions = topics_and_mentions(
        "博康光刻胶二期开工",
        "徐州博康信息化学品有限公司光刻胶二期项目开工，总投资10亿元，新建ArF光刻胶生产线。\n"
        "产品供应国内晶圆制造厂，已通过多家芯片企业验证。",
    )
    assert "new_materials" in clusters
    assert "ic_ict" in clusters + mentions


def test_a_cluster_named_only_as_a_customer_or_application_is_a_mention():
    clusters, mentions = topics_and_mentions(
        "特钢企业高强钢板产量创新高",
        "铜山一家特钢企业前三季度生产高强钢板45万吨，同比增长18%，总投资8亿元的新轧线投产。\n"
        "产品主要用于工程机械、风电装备和船舶制造，企业与多家主机厂签订年度供货协议。",
    )
    assert clusters == ["steel"]
    assert "engineering_machinery" not in clusters and "green_energy" not in clusters


def test_a_compound_on_a_family_head_counts_for_the_family():
    clusters, _ = topics_and_mentions(
        "铜山区固态电池中试线启动",
        "铜山区一家企业的固态电池中试线启动运行，总投资6亿元。\n企业计划两年内实现全固态电池小批量供货。",
    )
    assert clusters == ["green_energy"]


def test_a_family_head_after_another_industrys_term_belongs_to_that_industry():
    result = classify("", "新沂一家企业生产风电装备，年产风电塔筒600套，总投资8亿元。")
    assert "engineering_machinery" not in result.clusters + result.mentions
    assert "green_energy" in result.clusters


def test_a_project_stage_makes_one_sentence_substantive():
    staged = classify("", "园区一家企业的动力电池项目签约。")
    plain = classify("", "园区一家企业的动力电池项目。")
    assert staged.scores["green_energy"] > plain.scores["green_energy"]


def test_customers_named_with_their_products_stay_mentions():
    clusters, mentions = topics_and_mentions(
        "功率模块生产线投产",
        "企业IGBT模块生产线投产，年产车规级功率模块120万只。\n"
        "产品主要供应新能源汽车电控系统、光伏逆变器和储能变流器厂商。\n"
        "公司还将面向动力电池和储能电站客户开发碳化硅器件。",
    )
    assert clusters == ["ic_ict"]
    assert "green_energy" in mentions


def test_a_reposts_related_news_links_are_not_its_topics():
    clusters, mentions = topics_and_mentions(
        "睢宁县一纺织项目竣工投产",
        "当前位置：首页>县区动态\n睢宁县一家纺织企业年产3万吨差别化纤维项目竣工投产，总投资5.8亿元。\n"
        "企业负责人说，项目达产后年销售收入可达12亿元。\n上一篇：我县新能源汽车下乡活动启动\n"
        "下一篇：全市储能电站项目观摩会召开\n相关阅读\n徐工新一代电动装载机下线\n我市光伏组件出口创新高",
    )
    assert clusters == ["textiles"] and mentions == []


def test_a_contest_of_rescue_teams_is_not_the_safety_industry():
    result = classify(
        "徐州举办应急救援技能竞赛",
        "全市消防、矿山、电力等行业的26支救援队伍参加应急救援技能竞赛，比赛设置绳索救援、破拆救援等科目。",
    )
    assert result.clusters == [] and result.development < 0.5


def test_the_industry_before_yong_is_the_application():
    clusters, _ = topics_and_mentions(
        "工程机械用高强钢实现本地供应",
        "一家特钢企业的耐磨钢板通过徐工集团认证，开始批量供应挖掘机和起重机结构件。\n"
        "过去，工程机械用高强钢主要从外地采购。公司投资3亿元改造轧钢生产线，高强钢年产能达到30万吨。",
    )
    assert clusters == ["steel"]
