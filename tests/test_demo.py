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


def test_demo_refuses_a_folder_that_holds_other_data(tmp_path):
    (tmp_path / "xznews.db").write_bytes(b"SQLite format 3\x00 real data")
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not empty and was not made by `xznews demo`" in result.output
    assert (tmp_path / "xznews.db").read_bytes().endswith(b"real data")


def test_demo_mails_only_the_subscriber_it_created(tmp_path, smtp_server):
    from alerts.subscribers import get_or_create
    from alerts.subscriptions import SubscriptionSpec, create_subscription
    from store import make_engine, session_scope

    folder = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--data-dir", str(folder)]).exit_code == 0
    engine = make_engine(f"sqlite:///{folder / 'xznews.db'}")
    with session_scope(engine) as session:  # someone else in the same (demo) database
        other, _ = get_or_create(session, "colleague@example.com", confirmed=True)
        create_subscription(session, other, SubscriptionSpec(frequency="immediate"))
    result = CliRunner().invoke(
        app, ["demo", "--smtp", f"127.0.0.1:{smtp_server.port}", "--data-dir", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert {m["To"] for m in smtp_server.messages} <= {"demo@example.com"}
