"""`xznews projects …` and `xznews project ID`, run as an operator would (Typer's runner, a real SQLite file)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from store import Subscription, make_engine
from tests.test_projects_store import _three
from xznews.cli import app
from xznews.cli.common import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _db(tmp_path):
    from store import init_db

    engine = make_engine(f"sqlite:///{tmp_path / 'xznews.db'}")
    init_db(engine)
    return engine


def test_extract_reads_jsonl_and_prints_one_line_per_input_without_a_database(cli_env, tmp_path):
    lines = [
        {
            "id": "a",
            "title": "新沂签约",
            "text": "江苏沂新材料有限公司年产1万吨碳纤维项目在新沂经济开发区签约，总投资9亿元。",
        },
        {"id": "b", "title": "读书节", "text": "第十届彭城读书节开幕。"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["projects", "extract", "--jsonl", str(path)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["id"] == "a" and out[1] == {"id": "b", "projects": []}
    assert out[0]["projects"] == [
        {
            "name": "年产1万吨碳纤维项目",
            "company": "江苏沂新材料有限公司",
            "amount_yi": 9.0,
            "stage": "signed",
            "place": "新沂经济开发区",
            "evidence": "江苏沂新材料有限公司年产1万吨碳纤维项目在新沂经济开发区签约，总投资9亿元",
        }
    ]
    assert not (tmp_path / "xznews.db").exists()


def test_extract_names_a_bad_line_in_one_line(cli_env, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "x"}\n{not json\n', encoding="utf-8")
    result = runner.invoke(app, ["projects", "extract", "--jsonl", str(path)])
    assert result.exit_code == 2
    assert "line 2" in result.stderr and "Traceback" not in result.output
    missing = runner.invoke(app, ["projects", "extract", "--jsonl", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_list_as_table_json_and_csv_and_one_timeline(cli_env):
    _three(_db(cli_env))
    table = runner.invoke(app, ["projects"])
    assert table.exit_code == 0, table.output
    assert (
        "年产6GW异质结电池及组件项目" in table.stdout
        and "38亿元" in table.stdout
        and "竣工/投产" in table.stdout
    )
    records = [json.loads(x) for x in runner.invoke(app, ["projects", "--json"]).stdout.splitlines()]
    assert [(r["stage"], r["place"], r["amount_yi"]) for r in records] == [
        ("completed", "徐州高新技术产业开发区", 38.0)
    ]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["projects", "--csv"]).stdout)))
    assert rows[0]["name"] == "年产6GW异质结电池及组件项目" and rows[0]["clusters"] == "green_energy"
    assert runner.invoke(app, ["projects", "--stage", "signed"]).stdout.startswith("no projects")
    assert runner.invoke(app, ["projects", "--min-amount", "40", "--json"]).stdout == ""
    shown = runner.invoke(app, ["project", str(records[0]["id"])])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.count("https://") == 3  # one link per article of the timeline
    assert "also stated: 36亿元" in shown.stdout
    timeline = json.loads(runner.invoke(app, ["project", str(records[0]["id"]), "--json"]).stdout)["timeline"]
    assert [t["stage"] for t in timeline] == ["signed", "started", "completed"]


def test_bad_filters_and_unknown_projects_are_one_clear_line(cli_env):
    _db(cli_env)
    for args, needle in (
        (["projects", "--stage", "built"], "unknown project stage built"),
        (["projects", "--cluster", "tourism"], "unknown cluster"),
        (["projects", "--since", "yesterday"], "invalid date"),
        (["project", "99"], "no project 99"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and needle in result.stderr, (args, result.output)


def test_subscribe_stores_the_project_filters(cli_env):
    result = runner.invoke(
        app, ["subscribe", "pm@example.com", "--stages", "signed,started", "--min-amount", "10", "--json"]
    )
    assert result.exit_code == 0, result.output
    with Session(_db(cli_env)) as session:
        sub = session.exec(select(Subscription)).one()
    assert (sub.project_stages, sub.project_min_amount) == (["signed", "started"], 10.0)
    bad = runner.invoke(app, ["subscribe", "pm2@example.com", "--stages", "done"])
    assert bad.exit_code != 0 and "unknown project stage done" in bad.output


def test_rebuild_reports_what_it_read(cli_env):
    _three(_db(cli_env))
    result = runner.invoke(app, ["projects", "rebuild"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "read 3 articles: 3 project facts, 1 projects"
