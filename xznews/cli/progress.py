"""Progress bars for long commands: counts and rate on a terminal, nothing otherwise.

Core and ingest code never import rich: they take a plain ``progress(done, total)`` callback, and the shell
passes the one yielded here.  The bar goes to stderr, and only when both stdout and stderr are terminals and no
machine-readable output (``--json``) was asked for, so pipes, logs and tests see the same output as before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Task
    from rich.text import Text

ProgressCallback = Callable[[int, "int | None"], None]


def is_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(
    label: str, *, total: int | None = None, enabled: bool = True, unit: str = "items"
) -> Iterator[ProgressCallback]:
    """Yields ``report(done, total=None)``: the count so far (and the total once known)."""
    if not (enabled and is_terminal()):
        yield _ignore
        return
    # rich is imported only when a bar is shown: it costs start-up time that other commands need not pay.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TimeElapsedColumn

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f} {unit}/s" if speed else f"– {unit}/s", style="progress.data.speed")

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with bar:
        task = bar.add_task(label, total=total)

        def report(done: int, new_total: int | None = None) -> None:
            bar.update(task, completed=done, total=new_total)  # total None: unchanged

        yield report


def _ignore(done: int, total: int | None = None) -> None:
    return None
