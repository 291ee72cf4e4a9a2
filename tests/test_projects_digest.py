"""The digest's 项目动态 section: new projects and stage changes in the window, per subscription filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from alerts.dispatch import compose_for
from alerts.render import render_digest, render_markdown
from store import Article, session_scope
from store.models import Subscriber, Subscription
from tests.alerts_support import add_subscription, make_settings
from tests.test_projects_store import JUNE, MARCH, _store

START = datetime(2026, 6, 1, tzinfo=UTC)
END = START + timedelta(days=30)


def _digest(engine, tmp_path, **sub_kw):
    sub_id, _ = add_subscription(engine, **sub_kw)
    with Session(engine) as session:
        sub = session.get(Subscription, sub_id)
        subscriber = session.get(Subscriber, sub.subscriber_id)
        return compose_for(session, make_settings(tmp_path), sub, subscriber, START, END)


def _history(engine):
    _store(engine, *MARCH, "www.xzgxq.gov.cn", datetime(2026, 3, 6, tzinfo=UTC))  # before the window
    _store(engine, *JUNE, "www.cnxz.com.cn", datetime(2026, 6, 9, tzinfo=UTC))  # stage change in it
    _store(
        engine,
        "铜山签约",
        "江苏铜鑫机械有限公司挖掘机属具项目在铜山经济技术开发区签约，总投资3亿元。",
        "d.cn",
        datetime(2026, 6, 20, tzinfo=UTC),
        clusters=("engineering_machinery",),
    )


def test_the_section_lists_new_projects_and_stage_changes_with_amount_place_and_stage(engine, tmp_path):
    _history(engine)
    digest = _digest(engine, tmp_path)
    assert [(p.change, p.name, p.stage, p.amount, p.place) for p in digest.projects] == [
        ("进展", "年产6GW异质结电池及组件项目", "开工", "36亿元", "徐州高新技术产业开发区"),
        ("新项目", "挖掘机属具项目", "签约", "3亿元", "铜山经济技术开发区"),
    ]
    rendered = render_digest(digest)
    for part in (rendered.text, rendered.html):
        assert "项目动态" in part and "年产6GW异质结电池及组件项目" in part and "36亿元" in part
        assert "铜山经济技术开发区" in part and "开工" in part
    title, markdown = render_markdown(digest)
    assert "**项目动态**" in markdown and "挖掘机属具项目" in markdown


def test_stage_amount_and_cluster_filters_apply(engine, tmp_path):
    _history(engine)
    assert [p.name for p in _digest(engine, tmp_path, project_stages=["signed"]).projects] == [
        "挖掘机属具项目"
    ]
    assert [
        p.name for p in _digest(engine, tmp_path, email="b@example.com", project_min_amount=10).projects
    ] == ["年产6GW异质结电池及组件项目"]
    only_machinery = _digest(engine, tmp_path, email="c@example.com", clusters=["engineering_machinery"])
    assert [p.name for p in only_machinery.projects] == ["挖掘机属具项目"]


def test_a_digest_with_only_project_news_is_not_empty_and_none_outside_the_window(engine, tmp_path):
    _store(engine, *MARCH, "www.xzgxq.gov.cn", datetime(2026, 3, 6, tzinfo=UTC))
    digest = _digest(engine, tmp_path)
    assert digest.projects == [] and digest.is_empty
    june = _store(engine, *JUNE, "www.cnxz.com.cn", datetime(2026, 6, 9, tzinfo=UTC))
    with session_scope(engine) as session:
        session.get(Article, june).alertable = False  # e.g. below its source's gate: no article item
    digest = _digest(engine, tmp_path, email="d@example.com")
    assert digest.count == 0 and len(digest.projects) == 1 and not digest.is_empty
