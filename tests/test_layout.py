"""The tree shows the flow and imports go one way: core ← store ← ingest ← alerts ← xznews (the shell).

Every module's imports are parsed (function-level imports too, since the shell imports lazily), so a new import
against the flow fails here before review.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("core", "store", "ingest", "alerts", "xznews")
STAGES = ("ingest.fetch", "ingest.extract", "ingest.dedupe", "ingest.classify", "ingest.sources", "store")
STAGES += ("ingest.projects",)
# What each top-level package may import of ours (besides itself).
ALLOWED = {
    "core": set(),
    "store": {"core"},
    "ingest": {"core", "store"},
    "alerts": {"core", "store", "ingest"},
    "xznews": {"core", "store", "ingest", "alerts"},
}


def _modules() -> list[Path]:
    return sorted(
        p for top in OURS for p in (ROOT / top).rglob("*.py") if "migrations/versions" not in p.as_posix()
    )


def _imports(path: Path, package: str | None = None) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) for every import in the file; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            out.append((module, [a.name for a in node.names], node.lineno))
    return out


def _where(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_follow_the_flow(path: Path) -> None:
    top = path.relative_to(ROOT).parts[0]
    for module, _names, line in _imports(path):
        other = module.split(".")[0]
        if other in OURS and other != top:
            assert other in ALLOWED[top], (
                f"{_where(path)}:{line} imports {module}: {top} may not import {other}"
            )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_callers_outside_a_stage_package_use_only_its_public_names(path: Path) -> None:
    here = _where(path)
    for module, names, line in _imports(path):
        for stage in STAGES:
            if here == stage or here.startswith(stage + "."):
                continue  # a package's own modules import each other directly
            if module.startswith(stage + "."):
                pytest.fail(f"{here}:{line} imports {module}; import from {stage} (its __all__) instead")
            if module == stage:
                public = importlib.import_module(stage).__all__
                hidden = [n for n in names if n not in public]
                assert not hidden, (
                    f"{here}:{line} imports {hidden} from {stage}, which are not in its __all__"
                )


@pytest.mark.parametrize("stage", STAGES)
def test_every_public_name_of_a_stage_package_resolves(stage: str) -> None:
    package = importlib.import_module(stage)
    assert package.__all__, stage
    for name in package.__all__:
        assert getattr(package, name) is not None, f"{stage}.{name}"


def test_the_rule_catches_an_import_against_the_flow(tmp_path: Path) -> None:
    """The checker itself: an ingest module importing alerts, and a submodule import, are both seen."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from alerts.digest import compose\n    from ingest.fetch.http import Fetcher\n"
    )
    found = _imports(bad, package="ingest")
    assert ("alerts.digest", ["compose"], 2) in found
    assert ("ingest.fetch.http", ["Fetcher"], 3) in found
