from __future__ import annotations

from collections import Counter

from sqlmodel import select

from ingest.seeds import load_seeds
from store.db import session_scope
from store.models import Article


def test_seeds_are_split_into_articles_stored_with_fingerprints_and_never_alerted(engine):
    result = load_seeds(engine)

    assert result.files == 5 and result.added == 9 and result.already == 0
    with session_scope(engine) as session:
        seeds = session.exec(select(Article).where(Article.is_seed)).all()
    per_file = Counter(a.seed_ref.split("#")[0][:3] for a in seeds)
    assert per_file == {"000": 2, "001": 1, "002": 1, "003": 1, "004": 4}
    assert all(a.text_hash and a.signature and not a.alertable for a in seeds)
    assert all(a.title and a.body for a in seeds)


def test_loading_the_seeds_twice_adds_nothing(engine):
    load_seeds(engine)
    again = load_seeds(engine)
    assert again.added == 0 and again.already == 9
    with session_scope(engine) as session:
        assert len(session.exec(select(Article)).all()) == 9


def test_the_seed_command_reports_what_it_stored(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from xznews.cli import app
    from xznews.cli.common import get_settings

    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(app, ["seeds", "load", "--json"])
    second = runner.invoke(app, ["seeds", "load", "--json"])
    get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert '"added": 9' in first.output and '"added": 0' in second.output
    assert (tmp_path / "xznews.db").exists()
