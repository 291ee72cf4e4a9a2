"""The `xznews` command. Each group of commands lives in its own module and registers itself here."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from core.errors import XznewsError
from xznews.cli.errors import ErrorTranslatingGroup

app = typer.Typer(
    name="xznews",
    help="Watch Xuzhou industrial-development news: fetch, clean, deduplicate, classify by the 343 clusters, "
    "store, and mail digests to subscribers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=ErrorTranslatingGroup,  # one clear line for any error, in every command (xznews/cli/errors.py)
)

# Modules that add commands to `app`, in the order they appear in --help.
_COMMAND_MODULES = (
    "xznews.cli.service_cmd",  # run, ingest, seeds, sources, status, config, demo
    "xznews.cli.sources_cmd",  # sources list|check
    "xznews.cli.extract_cmd",  # extract
    "xznews.cli.classify_cmd",  # classify
    "xznews.cli.dedupe_cmd",  # dedupe
    "xznews.cli.alerts_cmd",  # subscribe, unsubscribe, confirm, watch, digest, status
    "xznews.cli.web_cmd",  # web (the web app)
    "xznews.cli.projects_cmd",  # projects [extract|rebuild], project ID
    "xznews.cli.stories_cmd",  # stories, story, search rebuild
    "xznews.cli.subscriptions_cmd",  # subscriptions edit|delete
)

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a command group not built yet must not break the others
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def main() -> None:
    try:
        app()
    except XznewsError as exc:
        logging.getLogger("xznews").debug("failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
