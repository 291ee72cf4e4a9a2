"""`xznews config show`: the effective settings, secrets masked where they are and only there."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from xznews.cli import app


def _show(monkeypatch, **env: str) -> dict:
    for var in ("XZNEWS_DATABASE_URL", "XZNEWS_SMTP_PASSWORD", "XZNEWS_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_config_show_masks_a_password_in_the_query_string(monkeypatch):
    shown = _show(monkeypatch, XZNEWS_DATABASE_URL="postgresql://app@db:5432/x?password=hunter2")
    assert "hunter2" not in json.dumps(shown)
    assert shown["database_url"] == "postgresql://app@db:5432/x?password=********"


def test_config_show_invents_no_mask_where_there_is_no_secret(monkeypatch):
    shown = _show(monkeypatch, XZNEWS_DATABASE_URL="postgresql://app@db:5432/x")
    assert shown["database_url"] == "postgresql://app@db:5432/x" and shown["smtp"]["password"] == ""


def test_config_show_masks_the_smtp_password(monkeypatch):
    shown = _show(monkeypatch, XZNEWS_SMTP_PASSWORD="s3cret", XZNEWS_SMTP_HOST="mail.example.org")
    assert shown["smtp"]["password"] == "********" and "s3cret" not in json.dumps(shown)
