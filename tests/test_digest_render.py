"""The digest as people see it: grouping, story folding, highlighting, escaping, subject and text part."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from alerts.digest import bracket, highlight, lead_of, one_line
from alerts.dispatch import compose_for, dispatch_due
from alerts.render import render_digest, render_markdown
from store.models import Subscriber, Subscription
from tests.alerts_support import (
    SETTLE,
    T0,
    add_article,
    add_story,
    add_subscription,
    make_settings,
    running_sink,
)

END = T0 + timedelta(days=1)
HOSTILE = "<script>alert(1)</script>徐工\r\nBcc: victim@example.org"


@pytest.fixture
def smtp_server():
    yield from running_sink()


def _digest(engine, tmp_path, **sub_kw):
    settings_ = make_settings(tmp_path)
    sub_id, _ = add_subscription(engine, **sub_kw)
    with Session(engine) as session:
        sub = session.get(Subscription, sub_id)
        subscriber = session.get(Subscriber, sub.subscriber_id)
        return compose_for(session, settings_, sub, subscriber, T0, END)


def test_items_are_grouped_by_tier_and_cluster_in_343_order(sqlite_engine, tmp_path):
    add_article(sqlite_engine, clusters=["food_agri"], scores={"food_agri": 2})
    add_article(sqlite_engine, clusters=["health"], scores={"health": 2})
    add_article(sqlite_engine, clusters=["green_energy"], scores={"green_energy": 2})
    add_article(
        sqlite_engine,
        clusters=["engineering_machinery", "digital_economy"],
        scores={"engineering_machinery": 1, "digital_economy": 5},
    )
    digest = _digest(sqlite_engine, tmp_path)
    assert [t.name for t in digest.tiers] == ["优势产业集群", "新兴产业集群", "特色产业集群"]
    assert [g.cluster for t in digest.tiers for g in t.groups] == [
        "green_energy",
        "digital_economy",
        "health",
        "food_agri",  # each item once, under its best cluster
    ]


def test_copies_of_a_story_fold_into_one_item_linked_to_the_first_publisher(sqlite_engine, tmp_path):
    first = add_article(
        sqlite_engine, url="https://first.example/a", site="first.example", fetched_at=T0 - timedelta(hours=1)
    )
    copy1 = add_article(sqlite_engine, site="copy1.example", alertable=False, verdict="duplicate")
    copy2 = add_article(sqlite_engine, site="copy2.example", alertable=False, verdict="duplicate")
    update = add_article(
        sqlite_engine, site="first.example", verdict="update", title="徐工挖掘机出口（更新）"
    )
    add_story(sqlite_engine, [first, copy1, copy2, update])
    digest = _digest(sqlite_engine, tmp_path)
    [item] = digest.items
    assert item.article_id == update and item.is_update
    assert item.url == "https://first.example/a"
    assert item.also_sites == ["copy1.example", "copy2.example"]
    html = render_digest(digest).html
    assert "另有 2 家网站刊发" in html and "更新" in html


def test_the_subject_names_the_date_and_counts(sqlite_engine, tmp_path):
    for _ in range(3):
        add_article(sqlite_engine)
    add_article(sqlite_engine, clusters=["green_energy"])
    digest = _digest(sqlite_engine, tmp_path)
    assert digest.subject == "徐州产业动态 2026-11-22 · 4条 · 工程机械 3 / 绿色低碳能源 1"


def test_keywords_are_highlighted_in_the_lead_and_marked_in_the_text_part(sqlite_engine, tmp_path):
    add_article(sqlite_engine, body="徐工集团今日发布新款电动挖掘机。能耗降低三成。")
    rendered = render_digest(_digest(sqlite_engine, tmp_path, keywords="挖掘机"))
    assert ">挖掘机</mark>" in rendered.html
    assert "【挖掘机】" in rendered.text
    assert "关键词：挖掘机" in rendered.text and "匹配：工程机械（徐工、挖掘机）" in rendered.text


def test_hostile_titles_bodies_and_sources_are_escaped_and_one_line(sqlite_engine, tmp_path):
    add_article(
        sqlite_engine,
        title=HOSTILE,
        body="<img src=x onerror=alert(1)>徐工。",
        origin="来源\r\nX-Injected: 1",
    )
    rendered = render_digest(_digest(sqlite_engine, tmp_path))
    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;徐工 Bcc: victim@example.org" in rendered.html
    assert "来源 X-Injected: 1" in rendered.text
    assert "\r" not in rendered.subject and "\n" not in rendered.subject


def test_hostile_content_arrives_escaped_with_headers_intact_over_smtp(engine, smtp_server, tmp_path):
    settings_ = make_settings(tmp_path, smtp_server.port)
    add_article(engine, title=HOSTILE, source_name="evil\r\nBcc: x@example.org", origin=HOSTILE)
    add_subscription(engine)
    assert dispatch_due(engine, settings_, END + timedelta(minutes=1) + SETTLE).sent == 1
    [msg] = smtp_server.messages
    assert smtp_server.handler.envelopes[0][1] == ["reader@example.com"]  # no injected recipient
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert msg["Subject"].startswith("徐州产业动态 2026-11-22 · 1条")
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_markdown_for_bots_cannot_be_broken_by_a_title(sqlite_engine, tmp_path):
    add_article(sqlite_engine, title="[click](http://evil.example) <b>x</b>", url="https://ok.example/a (1)")
    _, md = render_markdown(_digest(sqlite_engine, tmp_path))
    assert "[［click］(http://evil.example) ＜b＞x＜/b＞](https://ok.example/a%20%281%29)" in md


def test_an_empty_digest_says_so(sqlite_engine, tmp_path):
    digest = _digest(sqlite_engine, tmp_path, send_empty=True)
    rendered = render_digest(digest)
    assert digest.is_empty and digest.subject == "徐州产业动态 2026-11-22 · 无新动态"
    assert "本期无新动态" in rendered.text


def test_the_lead_is_two_or_three_sentences():
    body = "第一句话很短。第二句话也不长。第三句。第四句不该出现。"
    assert lead_of(body) == "第一句话很短。第二句话也不长。第三句。"
    long = "这是一个很长的句子" * 20 + "。第二句。"
    assert len(lead_of(long)) <= 240


@settings(max_examples=200)
@given(st.text(max_size=60), st.lists(st.text(min_size=1, max_size=4), max_size=3))
def test_highlighting_never_lets_markup_through_and_keeps_the_text(text, terms):
    out = str(highlight(text, terms))
    stripped = re.sub(r"<mark[^>]*>", "", out.replace("</mark>", ""))
    assert "<" not in stripped and ">" not in stripped
    assert html.unescape(stripped) == text
    assert bracket(text, terms).replace("【", "").replace("】", "") == text.replace("【", "").replace(
        "】", ""
    )


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_one_line_never_keeps_a_line_break(text):
    assert not any(c in one_line(text) for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
