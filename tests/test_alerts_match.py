"""Which articles a subscription gets: window, clusters (any of), mentions, sources, keywords."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from alerts.match import candidate_articles, evidence_terms, match_articles
from store.models import Subscription
from tests.alerts_support import T0, add_article, add_subscription

END = T0 + timedelta(days=1)


def _matched_ids(engine, **sub_kw) -> list[int]:
    sub_id, _ = add_subscription(engine, f"r{len(sub_kw)}{id(sub_kw)}@example.com", **sub_kw)
    with Session(engine) as session:
        sub = session.get(Subscription, sub_id)
        pool = candidate_articles(session, T0, END)
        return [m.article.id for m in match_articles(sub, pool, T0, END)]


def test_only_alertable_articles_fetched_inside_the_window_match(engine):
    inside = add_article(engine)
    add_article(engine, alertable=False, verdict="duplicate")
    add_article(engine, fetched_at=T0)  # the window is (start, end]
    at_end = add_article(engine, fetched_at=END)
    add_article(engine, fetched_at=END + timedelta(seconds=1))
    assert _matched_ids(engine) == [inside, at_end]


def test_clusters_are_any_of_and_empty_means_all(engine):
    machinery = add_article(engine, clusters=["engineering_machinery"])
    energy = add_article(engine, clusters=["green_energy", "new_materials"])
    none = add_article(engine, clusters=[])
    assert _matched_ids(engine, clusters=["green_energy", "steel"]) == [energy]
    assert _matched_ids(engine, clusters=["engineering_machinery", "new_materials"]) == [machinery, energy]
    assert _matched_ids(engine, clusters=[]) == [machinery, energy, none]


def test_list_only_mentions_count_only_when_asked(engine):
    mention = add_article(engine, clusters=[], mentions=["steel"])
    assert _matched_ids(engine, clusters=["steel"]) == []
    assert _matched_ids(engine, clusters=["steel"], include_mentions=True) == [mention]


def test_sources_filter_by_source_name_or_site(engine):
    a = add_article(engine, source_name="xz_gov", site="www.xz.gov.cn")
    b = add_article(engine, source_name="cnxz", site="www.cnxz.com.cn")
    assert _matched_ids(engine, sources=["cnxz"]) == [b]
    assert _matched_ids(engine, sources=["www.xz.gov.cn"]) == [a]


def test_the_keyword_query_is_matched_on_title_and_body(engine):
    xcmg = add_article(engine, title="徐工发布新品", body="新款起重机下线。")
    gcl = add_article(
        engine, title="光伏项目签约", body="协鑫科技在徐州投资颗粒硅项目。", clusters=["green_energy"]
    )
    add_article(engine, title="无关新闻", body="今天天气很好。")
    assert _matched_ids(engine, keywords="徐工 | 协鑫") == [xcmg, gcl]
    assert _matched_ids(engine, keywords="协鑫 -光伏") == []


def test_keyword_hits_and_evidence_explain_the_match(engine):
    add_article(
        engine, evidence={"engineering_machinery": [{"term": "徐工", "where": "title"}, {"term": "挖掘机"}]}
    )
    sub_id, _ = add_subscription(engine, keywords="挖掘机")
    with Session(engine) as session:
        sub = session.get(Subscription, sub_id)
        [m] = match_articles(sub, candidate_articles(session, T0, END), T0, END)
    assert m.evidence == {"engineering_machinery": ["徐工", "挖掘机"]}
    assert {h.term for h in m.hits} == {"挖掘机"}


def test_evidence_is_read_in_any_stored_shape():
    assert evidence_terms({"steel": [["特钢", 3], ["钢", 1]]}, "steel") == [
        "特钢",
        "钢",
    ]  # ingest.classify.clusters
    assert evidence_terms({"steel": ["钢", "特钢"]}, "steel") == ["钢", "特钢"]
    assert evidence_terms({"steel": {"terms": ["钢"]}}, "steel") == ["钢"]
    assert evidence_terms({"steel": {"钢": 1.0, "特钢": 2.0}}, "steel") == ["钢", "特钢"]
    assert evidence_terms({}, "steel") == [] and evidence_terms(None, "steel") == []
