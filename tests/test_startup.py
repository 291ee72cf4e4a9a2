"""Commands that do not classify start without the tokenizer, the lexicon, the fetcher or the dispatcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import init_db, make_engine

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("jieba", "ingest.classify.lexicon", "alerts.dispatch", "alerts.query", "lxml", "alembic")

# Runs the real CLI entry point in a fresh interpreter, then reports which heavy modules it loaded.
_PROBE = """
import json, sys
from xznews.cli import main
sys.argv = ["xznews", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\nLOADED=" + json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


def _loaded_modules(tmp_path: Path, *args: str) -> list[str]:
    url = f"sqlite:///{tmp_path / 'startup.db'}"
    engine = make_engine(url)
    init_db(engine)  # a database already at the newest revision: Alembic has nothing to do
    engine.dispose()
    env = {**os.environ, "XZNEWS_DATABASE_URL": url}
    env["XZNEWS_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.rstrip().rsplit("\n", 1)[-1]
    assert line.startswith("LOADED="), proc.stdout
    return json.loads(line[len("LOADED=") :])


@pytest.mark.parametrize("args", [("status",), ("--help",), ("status", "--json")])
def test_it_starts_commands_that_do_not_classify_without_jieba_or_alembic(tmp_path, args):
    assert _loaded_modules(tmp_path, *args) == []


def test_the_probe_sees_jieba_when_a_command_does_classify(tmp_path):
    # The same probe on `classify` must report the tokenizer, or the test above would prove nothing.
    text = tmp_path / "a.txt"
    text.write_text("徐工集团发布新款起重机\n徐工集团今天在徐州发布了新款起重机。", encoding="utf-8")
    assert "ingest.classify.lexicon" in _loaded_modules(tmp_path, "classify", str(text))


def test_a_database_behind_the_newest_revision_is_still_upgraded(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from store import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0001")
    init_db(engine)
    assert "chunk_hashes" in inspect(engine).get_table_names()
    engine.dispose()
