"""Bad input gets one clear line naming the cause and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from tests.conftest import _PG_PROBLEM, PG_URL
from xznews.cli import app

ROOT_SEEDS = __import__("core.resources", fromlist=["seeds_dir"]).seeds_dir()


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ("XZNEWS_DATABASE_URL", "XZNEWS_SMTP_HOST", "XZNEWS_CONFIG", "XZNEWS_SOURCES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XZNEWS_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fails_in_one_line(*args: str, expect: str) -> str:
    result = CliRunner().invoke(app, list(args))
    out = result.output.strip()
    assert result.exit_code not in (0, None), out
    assert "Traceback" not in out and "\n" not in out.split("error: ", 1)[-1], out
    assert expect in out, out
    return out


def test_a_missing_jsonl_file(env):
    fails_in_one_line("dedupe", "check", "--jsonl", "MISSING", expect="MISSING: No such file or directory")


def test_a_preview_into_a_folder_that_does_not_exist(env):
    fails_in_one_line(
        "digest",
        "preview",
        "a@example.com",
        "--out",
        "/no/such/dir/x.html",
        expect="/no/such/dir does not exist",
    )


def test_an_unreachable_database_names_it_with_its_password_masked(env, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATABASE_URL", "postgresql://app:hunter2@127.0.0.1:1/x")
    out = fails_in_one_line(
        "status", expect="cannot open the database postgresql://app:********@127.0.0.1:1/x"
    )
    assert "hunter2" not in out


@pytest.mark.skipif(bool(_PG_PROBLEM), reason="needs PostgreSQL")
def test_a_missing_database(env, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATABASE_URL", PG_URL.rsplit("/", 1)[0] + "/no_such_db_xznews")
    fails_in_one_line("status", expect='database "no_such_db_xznews" does not exist')


def test_a_data_folder_that_cannot_be_created(env, monkeypatch):
    (env / "afile").write_text("x", encoding="utf-8")
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(env / "afile" / "data"))
    fails_in_one_line("status", expect="(XZNEWS_DATA_DIR): cannot create it: Not a directory")


def test_a_bad_port_blames_the_variable(env, monkeypatch):
    monkeypatch.setenv("XZNEWS_WEB_PORT", "abc")
    out = fails_in_one_line("status", expect="environment variable XZNEWS_WEB_PORT='abc'")
    assert "xznews.toml" not in out


@pytest.mark.parametrize(
    ("toml", "expect"),
    [
        ('timezone = "Mars/Base"\n', "timezone: unknown time zone 'Mars/Base'"),
        ('databse_url = "postgresql://x@h/db"\n', "databse_url: unknown key (did you mean 'database_url'?)"),
        ('[smpt]\nhost = "mail.example.org"\n', "smpt: unknown key (did you mean 'smtp'?)"),
        ("[fetch]\nread_timeout_s = -3\n", "fetch.read_timeout_s: Input should be greater than 0"),
        ("[fetch]\nmax_bytes = -1\n", "fetch.max_bytes: Input should be greater than or equal to 1024"),
    ],
)
def test_bad_settings_files(env, toml, expect):
    (env / "config" / "xznews.toml").write_text(toml, encoding="utf-8")
    fails_in_one_line("status", expect=expect)


def test_a_sources_file_that_is_not_utf8(env):
    (env / "config" / "sources.toml").write_bytes('[[sources]]\nname = "徐州"\n'.encode("gb18030"))
    fails_in_one_line("sources", "list", expect="sources.toml: not UTF-8 text")


def test_host_aliases_that_are_not_a_table_are_refused_at_load(env):
    (env / "config" / "sources.toml").write_text(
        '[[sources]]\nname = "a"\nkind = "rss"\nurl = "https://x.example.org/rss"\n'
        '[sources.options]\nhost_aliases = "x"\n',
        encoding="utf-8",
    )
    fails_in_one_line("sources", "list", expect="sources[0].options.host_aliases: must be a table")


def test_a_broken_or_missing_clusters_file(env):
    (env / "config" / "clusters.toml").write_text("clusters = [\n", encoding="utf-8")
    page = env / "a.txt"
    page.write_text("# 徐工\n\n徐工集团今日发布新款挖掘机。\n", encoding="utf-8")
    fails_in_one_line("classify", str(page), expect="clusters.toml: invalid TOML")
    fails_in_one_line(
        "classify", str(page), "--lexicon", str(env / "nope.toml"), expect="lexicon file not found"
    )


def test_sources_check_on_a_host_that_does_not_resolve_says_so(env, monkeypatch):
    real = socket.getaddrinfo

    def no_dns(host, *args, **kwargs):  # offline: an unresolvable name cannot be produced any other way
        if host == "no-such-host.example.org":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    result = CliRunner().invoke(
        app, ["sources", "check", "https://no-such-host.example.org/list.html", "--json"]
    )
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert error.startswith("cannot fetch the listing: cannot resolve no-such-host.example.org")


def test_extract_on_a_binary_file_says_it_is_not_an_html_page(env):
    blob = env / "photo.jpg"
    blob.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8)
    result = CliRunner().invoke(app, ["extract", str(blob), "--json"])
    (line,) = result.output.splitlines()
    assert json.loads(line)["error"].startswith("not an HTML page") and result.exit_code == 1


def test_extract_and_classify_split_a_seed_file_like_seeds_load(env):
    seed = sorted(ROOT_SEEDS.glob("004_*.txt"))[0]  # four articles in one file
    extracted = [
        json.loads(x) for x in CliRunner().invoke(app, ["extract", str(seed), "--json"]).output.splitlines()
    ]
    classified = [
        json.loads(x) for x in CliRunner().invoke(app, ["classify", str(seed), "--json"]).output.splitlines()
    ]
    ids = [f"{seed}#{n}" for n in range(4)]
    assert [r["input"] for r in extracted] == ids and all(r["body"] and not r["error"] for r in extracted)
    assert [r["id"] for r in classified] == ids


def test_an_unexpected_error_is_one_line_too(env, monkeypatch):

    monkeypatch.setattr("alerts.status.collect_status", lambda *a, **k: {}["boom"])  # imported where used
    fails_in_one_line("status", expect="error: unexpected KeyError: 'boom'")


def test_sources_reset_clears_a_backoff_and_an_unknown_name_is_one_line(env):
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session, select

    from store import Source, make_engine, session_scope

    assert CliRunner().invoke(app, ["status"]).exit_code == 0  # creates the database
    engine = make_engine(f"sqlite:///{env / 'data' / 'xznews.db'}")
    with session_scope(engine) as session:
        session.add(
            Source(
                name="xz_gov",
                kind="rss",
                url="https://www.xz.gov.cn/rss.xml",
                consecutive_failures=5,
                next_try_at=datetime.now(UTC) + timedelta(hours=20),
                flagged="failing: 5 consecutive failures",
            )
        )
    result = CliRunner().invoke(app, ["sources", "reset", "xz_gov"])
    assert result.exit_code == 0 and "backoff cleared" in result.output
    with Session(engine) as session:
        row = session.exec(select(Source)).one()
        assert (row.consecutive_failures, row.next_try_at, row.flagged) == (0, None, None)
    fails_in_one_line("sources", "reset", "nope", expect="no such source has run yet")
