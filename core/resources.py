"""Where the shipped defaults are: the config files and the seed corpus, in a checkout or in an installed wheel.

A wheel carries copies of `config/` and `seeds/` under `core/defaults/` (setup.py adds them at build time), so an
installed `xznews` finds them in an empty folder. A source checkout uses the top-level folders. A `config/` folder
in the working directory, or `XZNEWS_CONFIG_DIR`, overrides the configuration file by file: a file it does not
hold falls back to the shipped default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_HERE = Path(__file__).resolve().parent
PACKAGED = _HERE / "defaults"  # present in an installed wheel
SOURCE_ROOT = _HERE.parent  # the checkout, when running from one


def _shipped(kind: str) -> Path:
    for candidate in (PACKAGED / kind, SOURCE_ROOT / kind):
        if candidate.is_dir():
            return candidate
    return PACKAGED / kind  # neither exists: later reads say which file is missing


def shipped_config_dir() -> Path:
    return _shipped("config")


def seeds_dir() -> Path:
    return _shipped("seeds")


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """XZNEWS_CONFIG_DIR, else ./config when it exists, else the shipped defaults."""
    environ = os.environ if environ is None else environ
    if environ.get("XZNEWS_CONFIG_DIR"):
        return Path(environ["XZNEWS_CONFIG_DIR"])
    local = Path.cwd() / "config"
    return local if local.is_dir() else shipped_config_dir()


def config_file(name: str, directory: Path | None = None) -> Path:
    """`name` in the chosen config folder, or the shipped default when that folder does not hold it."""
    chosen = (directory or config_dir()) / name
    return chosen if chosen.exists() else shipped_config_dir() / name
