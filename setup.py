"""Build hook: ship the default configuration and the seed corpus inside the package (core/defaults/).

Everything else is declared in pyproject.toml. `config/` and `seeds/` stay at the top of the checkout, where
people edit them; the wheel carries copies so an installed `xznews` works in an empty folder
(core/resources.py finds them).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("config", "seeds")


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        for folder in SHIPPED:
            target = Path(self.build_lib) / "core" / "defaults" / folder
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted((ROOT / folder).iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildWithDefaults})
