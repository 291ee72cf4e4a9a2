"""Watched-keyword queries are bounded at entry: depth, terms and length, each with a message naming the limit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from alerts.query import MAX_DEPTH, MAX_QUERY_CHARS, MAX_TERMS, QueryError, parse_query
from alerts.subscriptions import SubscriptionError, check_keywords
from xznews.cli import app


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("(" * 244 + "徐工" + ")" * 244, f"nested more than {MAX_DEPTH} levels"),
        ("-" * 50 + "徐工 协鑫", f"nested more than {MAX_DEPTH} levels"),
        (" | ".join(f"词{n}" for n in range(MAX_TERMS + 1)), f"more than {MAX_TERMS} terms"),
        ("徐工 | " * 20000 + "协鑫", f"longer than {MAX_QUERY_CHARS} characters"),
    ],
)
def test_a_query_over_a_limit_is_refused_naming_the_limit(query, limit):
    with pytest.raises(QueryError, match=limit):
        parse_query(query)
    with pytest.raises(SubscriptionError, match=limit):
        check_keywords(query)


def test_queries_within_the_limits_still_parse():
    nested = "(" * MAX_DEPTH + "徐工" + ")" * MAX_DEPTH
    assert str(parse_query(nested)) == "徐工"
    assert len(parse_query(" | ".join(f"词{n}" for n in range(MAX_TERMS))).root.children) == MAX_TERMS


def test_subscribe_refuses_a_query_nested_244_deep_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["subscribe", "a@example.com", "--keywords", "(" * 244 + "徐工" + ")" * 244]
    )
    assert result.exit_code == 2
    assert "invalid keyword query: nested more than" in result.output and "Traceback" not in result.output
