from __future__ import annotations

from typer.testing import CliRunner

from xznews.cli import app


def test_demo_delivers_a_digest_to_a_real_smtp_server(tmp_path, smtp_server):
    result = CliRunner().invoke(
        app, ["demo", "--smtp", f"127.0.0.1:{smtp_server.port}", "--data-dir", str(tmp_path / "demo")]
    )

    assert result.exit_code == 0, result.output
    assert "fetched 8, new 7, duplicates 1" in result.output
    assert "digest:     1 sent" in result.output
    (msg,) = smtp_server.messages
    assert msg["To"] == "demo@example.com"
    assert "徐工4000吨级履带起重机下线" in msg.get_body(("plain",)).get_content()


def test_demo_without_smtp_writes_the_digest_to_the_outbox(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert b"multipart/alternative" in eml.read_bytes()


def test_demo_refuses_a_malformed_smtp_address(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--smtp", "localhost", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
