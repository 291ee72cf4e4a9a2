"""Facts stored per article, merged into projects with a timeline (SQLite and PostgreSQL), and the queries."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from ingest.projects import (
    ProjectFilter,
    list_projects,
    project_changes,
    project_timeline,
    rebuild_projects,
    record_article_projects,
)
from ingest.seeds import load_seeds
from store import Article, Project, ProjectReport, alembic_config, init_db, make_engine, session_scope

MARCH = (
    "辉光能源签约落户徐州高新区",
    "3月6日，江苏辉光能源科技有限公司年产6GW异质结电池及组件项目签约落户徐州高新区，项目总投资36亿元，"
    "其中一期投资15亿元。",
)
JUNE = (
    "辉光能源6GW异质结项目开工",
    "本报讯 6月9日，江苏辉光能源科技有限公司年产6GW异质结电池组件项目在徐州高新区开工建设。项目总投资36亿元。",
)
NOVEMBER = (
    "徐州高新区6GW异质结电池项目一期投产",
    "来源：荔枝网\n\n11月19日，江苏辉光能源科技有限公司年产6GW异质结电池及组件项目一期在徐州高新区建成投产。"
    "该项目总投资38亿元，一期投资15亿元。",
)


def _store(engine, title: str, body: str, site: str, when: datetime, clusters=("green_energy",)) -> int:
    with session_scope(engine) as session:
        article = Article(
            url=f"https://{site}/{when:%Y%m%d}.html",
            source_name=site,
            site=site,
            title=title,
            body=body,
            text_hash=f"{site}{when:%Y%m%d}".ljust(64, "0"),
            clusters=list(clusters),
            evidence={"green_energy": [["异质结", 2]]},
            published_at=when,
            fetched_at=when,
        )
        session.add(article)
        record_article_projects(session, article)
        return article.id  # type: ignore[return-value]


def _three(engine) -> list[int]:
    return [
        _store(engine, *MARCH, "www.xzgxq.gov.cn", datetime(2026, 3, 6, 2, tzinfo=UTC)),
        _store(engine, *JUNE, "www.cnxz.com.cn", datetime(2026, 6, 9, 2, tzinfo=UTC)),
        _store(engine, *NOVEMBER, "news.jstv.com", datetime(2026, 11, 19, 11, tzinfo=UTC)),
    ]


def test_three_articles_from_three_sites_and_months_are_one_project_with_a_timeline(engine):
    ids = _three(engine)
    with Session(engine) as session:
        projects = list(session.exec(select(Project)))
        assert len(projects) == 1
        project, entries = project_timeline(session, projects[0].id)  # type: ignore[misc,arg-type]
        assert [e.report.stage for e in entries] == ["signed", "started", "completed"]
        assert [e.article.id for e in entries] == ids
        assert [e.article.site for e in entries] == ["www.xzgxq.gov.cn", "www.cnxz.com.cn", "news.jstv.com"]
        assert [e.report.change for e in entries] == ["new", "stage", "stage"]
        assert project.stage == "completed"
        assert project.place == "徐州高新技术产业开发区"
        assert project.company == "江苏辉光能源科技有限公司"
        # The largest figure stands; the conflicting one is kept beside it with its article.
        assert project.amount_yi == 38.0
        assert [(a["amount_yi"], a["article_id"]) for a in project.amounts] == [
            (36.0, ids[0]),
            (38.0, ids[2]),
        ]
        assert project.first_reported_at == datetime(2026, 3, 6, 2, tzinfo=UTC)


def test_a_different_phase_or_product_of_the_same_company_is_another_project(engine):
    when = datetime(2026, 7, 1, tzinfo=UTC)
    _store(
        engine, "", "江苏睢晶新材料有限公司光伏压延玻璃项目在睢宁高新区竣工投产，总投资18亿元。", "a.cn", when
    )
    _store(
        engine, "", "江苏睢晶新材料有限公司光伏压延玻璃二期项目在睢宁高新区签约，总投资12亿元。", "b.cn", when
    )
    _store(engine, "", "江苏睢晶新材料有限公司光伏背板玻璃项目在睢宁高新区开工，总投资9亿元。", "c.cn", when)
    with Session(engine) as session:
        assert len(list(session.exec(select(Project)))) == 3


def test_recording_an_article_twice_adds_nothing(engine):
    article_id = _store(engine, *MARCH, "a.cn", datetime(2026, 3, 6, tzinfo=UTC))
    with session_scope(engine) as session:
        assert record_article_projects(session, session.get(Article, article_id)) == []
    with Session(engine) as session:
        assert len(list(session.exec(select(ProjectReport)))) == 1


def test_filters_and_sorts_for_the_list(engine):
    _three(engine)
    when = datetime(2026, 5, 1, tzinfo=UTC)
    _store(
        engine,
        "",
        "江苏铜鑫机械有限公司挖掘机属具项目在铜山经济技术开发区签约，总投资3亿元。",
        "d.cn",
        when,
        clusters=("engineering_machinery",),
    )
    with Session(engine) as session:
        names = lambda flt, sort="recent": [p.name for p in list_projects(session, flt, sort)]  # noqa: E731
        assert names(ProjectFilter()) == ["年产6GW异质结电池及组件项目", "挖掘机属具项目"]
        assert names(ProjectFilter(), "amount") == ["年产6GW异质结电池及组件项目", "挖掘机属具项目"]
        assert names(ProjectFilter(stages=("signed",))) == ["挖掘机属具项目"]
        assert names(ProjectFilter(min_amount=10)) == ["年产6GW异质结电池及组件项目"]
        assert names(ProjectFilter(cluster="engineering_machinery")) == ["挖掘机属具项目"]
        # A zone lies in its district: 铜山区 finds projects of 铜山经开区 and 徐州高新区 alike.
        assert len(names(ProjectFilter(place="铜山区"))) == 2
        assert names(ProjectFilter(place="铜山经开区")) == ["挖掘机属具项目"]
        assert names(ProjectFilter(since=datetime(2026, 10, 1, tzinfo=UTC))) == [
            "年产6GW异质结电池及组件项目"
        ]


def test_changes_in_a_window_are_new_projects_and_stage_changes(engine):
    _three(engine)
    with Session(engine) as session:
        rows = project_changes(session, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
        assert [(r.stage, r.change) for r, _, _ in rows] == [("started", "stage")]


def test_rebuild_gives_the_seeds_their_projects(engine):
    load_seeds(engine)
    with session_scope(engine) as session:
        session.exec(text("DELETE FROM project_facts"))  # type: ignore[call-overload]
        session.exec(text("DELETE FROM projects"))  # type: ignore[call-overload]
    articles, facts = rebuild_projects(engine)
    assert articles >= 9 and facts > 0
    with Session(engine) as session:
        big = {p.name: p for p in list_projects(session, ProjectFilter(min_amount=100))}
    # The 经开区 seed's three 百亿级 projects: "投产一个、在建一个、签约一个".
    assert {name: (p.stage, p.place) for name, p in big.items() if "比亚迪" in name or "弘元" in name} == {
        "弘元新材料新能源产业一体化": ("completed", "徐州经济技术开发区"),
        "比亚迪30GWh刀片电池": ("started", "徐州经济技术开发区"),
        "比亚迪30GWh钠离子电池": ("signed", "徐州经济技术开发区"),
    }


def test_an_installed_database_upgrades_in_place(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (email, confirmed, unsubscribe_token, created_at) "
                "VALUES ('a@example.com', 1, 'tok', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subscriptions (subscriber_id, name, clusters, sources, include_mentions, frequency, "
                "at_time, weekday, timezone, send_empty, channels, active, created_at) "
                "VALUES (1, '', '[]', '[]', 0, 'daily', '08:00', 0, 'Asia/Shanghai', 0, '[\"email\"]', 1, "
                "'2026-01-01 00:00:00')"
            )
        )
    init_db(engine)
    assert {"projects", "project_facts"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        row = conn.execute(text("SELECT project_stages, project_min_amount FROM subscriptions")).one()
    assert (row[0], row[1]) == ("[]", None)
    engine.dispose()
