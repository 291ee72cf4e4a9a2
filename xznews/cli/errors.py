"""Errors as one line for the person at the terminal: the cause, never a traceback; exit status 2.

Every command runs inside `ErrorTranslatingGroup.invoke`, so the commands owned by other modules get the same
treatment without each catching everything. Stages raise XznewsError with an operator's message; the library
errors that reach the shell (a file that cannot be read or written, a database that cannot be reached) are
translated here, once.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from core.errors import XznewsError
from core.masking import mask_url

log = logging.getLogger("xznews")


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def explain(exc: BaseException) -> str | None:
    """The one-line message for `exc`, or None when it is a bug (shown as one line too, see below)."""
    if isinstance(exc, XznewsError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    from sqlalchemy.exc import DBAPIError, OperationalError  # loaded anyway once a command touched a database

    if isinstance(exc, OperationalError | DBAPIError):
        return f"database error: {_first_line(exc.orig) or exc.__class__.__name__}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return None


class ErrorTranslatingGroup(TyperGroup):
    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, SystemExit, KeyboardInterrupt):
            raise  # usage errors and exits already speak for themselves
        except Exception as exc:  # noqa: BLE001 - the edge: nothing else reaches the terminal
            message = explain(exc)
            if message is None:
                log.debug("unexpected error", exc_info=True)
                message = f"unexpected {exc.__class__.__name__}: {_first_line(exc)}"
                if os.environ.get("XZNEWS_LOG_LEVEL", "").upper() != "DEBUG":
                    message += " (XZNEWS_LOG_LEVEL=DEBUG shows the traceback)"
                else:
                    log.exception("traceback")
            typer.echo(f"error: {mask_url(message) if '://' in message else message}", err=True)
            sys.stderr.flush()
            raise typer.Exit(2) from None
