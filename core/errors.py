"""The errors the shell shows to people. Stages translate library errors into these at their edge."""

from __future__ import annotations


class XznewsError(Exception):
    """Base class: a message meant for the operator."""


class ConfigError(XznewsError):
    """A missing or invalid configuration file or value. The message names the file and the key."""

    def __init__(self, path: object, key: str | None, problem: str) -> None:
        where = f"{path}" + (f": {key}" if key else "")
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class TransientError(XznewsError):
    """Worth retrying later (timeouts, 5xx, 429, SMTP 4xx)."""


class PermanentError(XznewsError):
    """Retrying will not help (404, SMTP 5xx, a malformed page)."""
