"""The built wheel works on its own: installed into a fresh venv, run in an empty folder (slow: ~1 minute).

Offline by construction: the wheel is built with --no-build-isolation (setuptools and wheel come from the dev
extras) and installed with --no-index --no-deps; its dependencies are the test venv's own, made visible to the
fresh venv through a .pth line (the editable install's finder is not, so only the wheel's copy can be imported).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from xznews.demo import demo_sources_toml
from xznews.demo_server import DemoSite

pytestmark = pytest.mark.wheel
REPO = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    "var",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel built from this checkout."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=_SKIP)
    dist = root / "dist"
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src)
    (wheel,) = dist.glob("xznews-*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run(*pip, "--python", venv / "bin" / "python", "install", "--quiet", "--no-index", "--no-deps", wheel)
    return venv / "bin"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_") and k != "PYTHONPATH"}
    return {**env, **extra}


def test_the_wheel_imports_its_own_copy_not_the_checkout(installed, tmp_path):
    where = _run(
        installed / "python", "-c", "import core, xznews; print(core.__file__, xznews.__file__)", cwd=tmp_path
    )
    assert str(REPO) not in where and "site-packages" in where


def test_seeds_load_in_an_empty_folder_finds_the_shipped_seed_corpus(installed, tmp_path):
    out = _run(installed / "xznews", "seeds", "load", "--json", cwd=tmp_path, env=_env())
    result = json.loads(out)
    assert result["files"] >= 5 and result["added"] > 0
    assert (tmp_path / "var" / "xznews.db").exists()  # the shipped xznews.toml's data_dir, under the folder


def test_the_shipped_config_is_found_and_a_local_config_folder_overrides_it(installed, tmp_path):
    shown = json.loads(_run(installed / "xznews", "config", "show", "--json", cwd=tmp_path, env=_env()))
    assert "site-packages" in shown["config_dir"] and shown["config_dir"].endswith("core/defaults/config")

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "xznews.toml").write_text('log_level = "WARNING"\n', encoding="utf-8")
    shown = json.loads(_run(installed / "xznews", "config", "show", "--json", cwd=tmp_path, env=_env()))
    assert shown["log_level"] == "WARNING" and shown["config_dir"] == str(tmp_path / "config")


def test_ingest_from_the_wheel_classifies_with_the_shipped_lexicon(installed, tmp_path):
    (tmp_path / "config").mkdir()  # only settings here: clusters.toml comes from the wheel
    (tmp_path / "config" / "xznews.toml").write_text(
        "[fetch]\nallow_private_addresses = true\nper_host_delay_s = 0\nretries = 0\nrespect_robots = false\n",
        encoding="utf-8",
    )
    with DemoSite() as site:
        sources = tmp_path / "demo-sources.toml"
        sources.write_text(demo_sources_toml(site.base_url), encoding="utf-8")
        out = _run(
            installed / "xznews", "ingest", "--json", cwd=tmp_path, env=_env(XZNEWS_SOURCES=str(sources))
        )
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert rows and all(r["error"] is None for r in rows)
    assert sum(r["new"] for r in rows) > 0 and any(r["clusters"] for r in rows)
