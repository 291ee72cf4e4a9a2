"""Developer tool: regenerate the initial migration from the models (only before the first release).

python -m store.migrations.regen_initial
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from store.db import MIGRATIONS, alembic_config, make_engine


def main() -> None:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        cfg = alembic_config(engine)
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    for new in (MIGRATIONS / "versions").glob("0001_*.py"):
        new.rename(new.with_name("0001_initial_schema.py"))


if __name__ == "__main__":
    main()
