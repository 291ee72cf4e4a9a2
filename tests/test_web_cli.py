"""CLI parity with the web: stories, story, subscriptions edit|delete (Typer's runner, a real SQLite file)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from store.db import init_db, make_engine
from store.models import Subscription
from tests.alerts_support import add_article, add_story, add_subscription
from xznews.cli import app
from xznews.cli.common import get_settings

runner = CliRunner()


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'xznews.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_stories_lists_one_line_per_story_and_filters_like_the_web(db):
    first = add_article(db, title="徐工挖掘机出口", site="www.xz.gov.cn")
    copy = add_article(db, title="徐工挖掘机出口", site="www.cnxz.com.cn", verdict="duplicate")
    add_story(db, [first, copy])
    add_article(db, title="协鑫光伏", body="协鑫光伏组件。", clusters=["green_energy"])
    listed = run("stories")
    assert (
        listed.exit_code == 0
        and listed.output.count("徐工挖掘机出口") == 1
        and "(+1 家网站)" in listed.output
    )
    by_name = run("stories", "--cluster", "绿色低碳能源", "--json")
    assert [json.loads(line)["title"] for line in by_name.output.splitlines()] == ["协鑫光伏"]
    searched = run("stories", "--q", "挖掘机 -光伏", "--json")
    assert [json.loads(line)["id"] for line in searched.output.splitlines()] == [first]
    bad = run("stories", "--q", "徐工 |")
    assert bad.exit_code == 2 and "expected a term after '|'" in bad.output and "Traceback" not in bad.output
    assert run("stories", "--cluster", "nope").exit_code == 2


def test_story_shows_the_first_publisher_and_its_copies(db):
    first = add_article(db, title="徐工挖掘机出口", site="www.xz.gov.cn")
    copy = add_article(db, title="徐工挖掘机出口", site="www.cnxz.com.cn", verdict="duplicate")
    add_story(db, [first, copy])
    shown = run("story", str(copy))
    assert (
        shown.exit_code == 0
        and "首发" in shown.output
        and "转载" in shown.output
        and "www.cnxz.com.cn" in shown.output
    )
    data = json.loads(run("story", str(first), "--json").output)
    assert data["id"] == first and [c["site"] for c in data["copies"]] == ["www.xz.gov.cn", "www.cnxz.com.cn"]
    missing = run("story", "999")
    assert missing.exit_code == 2 and "no story 999" in missing.output


def test_subscriptions_edit_and_delete_one_subscription(db):
    sub_id, _ = add_subscription(db, clusters=["engineering_machinery"])
    other, _ = add_subscription(db, keywords="协鑫")
    edited = run(
        "subscriptions",
        "edit",
        str(sub_id),
        "--clusters",
        "工程机械,新材料",
        "--keywords",
        "徐工 | 卡特彼勒",
        "--frequency",
        "weekly",
        "--weekday",
        "fri",
        "--pause",
    )
    assert edited.exit_code == 0, edited.output
    with Session(db) as session:
        sub = session.get(Subscription, sub_id)
        assert (sub.clusters, sub.keywords, sub.frequency, sub.weekday, sub.active) == (  # type: ignore[union-attr]
            ["engineering_machinery", "new_materials"],
            "徐工 | 卡特彼勒",
            "weekly",
            4,
            False,
        )
    bad = run("subscriptions", "edit", str(sub_id), "--keywords", "(徐工")
    assert bad.exit_code == 2 and "unclosed parenthesis" in bad.output
    assert run("subscriptions", "edit", str(sub_id), "--weekday", "someday").exit_code == 2
    assert run("subscriptions", "delete", str(sub_id)).exit_code == 0
    with Session(db) as session:
        assert [s.id for s in session.exec(select(Subscription))] == [other]
    assert run("subscriptions", "delete", str(sub_id)).exit_code == 2
