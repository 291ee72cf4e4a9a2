"""config/sources.toml → SourceConfig objects, validated, every error naming the file and the key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.settings import read_toml
from ingest.fetch import host_twins

KINDS = ("rss", "listpage", "hanweb", "epoint", "trs", "epaper")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass
class SourceConfig:
    name: str
    kind: str  # one of KINDS
    url: str  # feed / column / list / e-paper root URL (epaper: may hold a {date:%Y%m/%d} template)
    allowed_hosts: list[str] = field(default_factory=list)  # redirects and article links stay inside these
    interval_minutes: int = 60
    enabled: bool = True
    verified: bool = False  # checked against the live site?
    robots: bool = True
    max_pages: int = 1  # listing pages per run
    max_items: int = 50
    # How deep a listing may be read to catch up a backlog (while even its oldest link is unseen).
    max_backlog_pages: int = 5
    min_xuzhou: float = 0.0  # relevance gates on the classifier's 0..1 scores
    min_development: float = 0.0
    # A Xuzhou outlet: its "我市/全市/本报讯" mean Xuzhou, so the classifier counts them toward the Xuzhou score.
    home: bool = False
    title_filter: str | None = None  # regex that list item titles must match
    options: dict[str, Any] = field(default_factory=dict)  # family-specific settings
    note: str | None = None  # free text for people: where the ids came from, what is unverified

    def __post_init__(self) -> None:
        if not self.allowed_hosts:
            host = urlsplit(self.url.replace("{", "").replace("}", "")).hostname
            self.allowed_hosts = host_twins(host) if host else []

    @property
    def title_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.title_filter) if self.title_filter else None


_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    # key: (accepted types, required)
    "name": (str, True),
    "kind": (str, True),
    "url": (str, True),
    "allowed_hosts": (list, False),
    "interval_minutes": (int, False),
    "enabled": (bool, False),
    "verified": (bool, False),
    "robots": (bool, False),
    "max_pages": (int, False),
    "max_items": (int, False),
    "max_backlog_pages": (int, False),
    "min_xuzhou": ((int, float), False),
    "min_development": ((int, float), False),
    "home": (bool, False),
    "title_filter": (str, False),
    "options": (dict, False),
    "note": (str, False),
}
# Keys a [defaults] table may set for every source.
_DEFAULTABLE = {
    "interval_minutes", "enabled", "robots", "max_pages", "max_items", "max_backlog_pages", "min_xuzhou", "min_development",
    "home",
}  # fmt: skip


def load_sources(path: Path) -> list[SourceConfig]:
    """Read and validate the sources file. Raises ConfigError(path, "sources[3].url", problem)."""
    data = read_toml(path)
    unknown = set(data) - {"defaults", "sources"}
    if unknown:
        raise ConfigError(
            path, sorted(unknown)[0], "unknown top-level key (expected [defaults] and [[sources]])"
        )
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(path, "defaults", "must be a table")
    for key in defaults:
        if key not in _DEFAULTABLE:
            raise ConfigError(
                path, f"defaults.{key}", f"cannot be set in [defaults] (allowed: {sorted(_DEFAULTABLE)})"
            )
    entries = data.get("sources", [])
    if not isinstance(entries, list):
        raise ConfigError(path, "sources", "must be an array of tables ([[sources]])")
    sources: list[SourceConfig] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"sources[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, where, "must be a table")
        source = _parse_entry(path, where, {**defaults, **entry})
        if source.name in names:
            raise ConfigError(path, f"{where}.name", f"duplicate source name {source.name!r}")
        names.add(source.name)
        sources.append(source)
    return sources


def _parse_entry(path: Path, where: str, entry: dict[str, Any]) -> SourceConfig:
    for key, value in entry.items():
        if key not in _FIELDS:
            raise ConfigError(path, f"{where}.{key}", f"unknown key (known: {', '.join(_FIELDS)})")
        types, _ = _FIELDS[key]
        # bool is an int in Python: keep `max_pages = true` out.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
            raise ConfigError(
                path, f"{where}.{key}", f"expected {_type_name(types)}, got {type(value).__name__}"
            )
    for key, (_, required) in _FIELDS.items():
        if required and not entry.get(key):
            raise ConfigError(path, f"{where}.{key}", "is required")
    name = entry["name"]
    if not _NAME_RE.match(name):
        raise ConfigError(
            path, f"{where}.name", "use letters, digits, '_', '-', '.' (no spaces), at most 100"
        )
    if entry["kind"] not in KINDS:
        raise ConfigError(
            path, f"{where}.kind", f"unknown kind {entry['kind']!r} (one of {', '.join(KINDS)})"
        )
    url = entry["url"]
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, f"{where}.url", f"not an absolute http(s) URL: {url!r}")
    if "{" in url and entry["kind"] != "epaper":
        raise ConfigError(path, f"{where}.url", "date templates ({date:…}) are only for kind = 'epaper'")
    for key in ("interval_minutes", "max_pages", "max_items", "max_backlog_pages"):
        if key in entry and entry[key] < 1:
            raise ConfigError(path, f"{where}.{key}", "must be at least 1")
    for key in ("min_xuzhou", "min_development"):
        if key in entry and not 0 <= entry[key] <= 1:
            raise ConfigError(path, f"{where}.{key}", "must be between 0 and 1")
    if entry.get("title_filter"):
        try:
            re.compile(entry["title_filter"])
        except re.error as exc:
            raise ConfigError(path, f"{where}.title_filter", f"invalid regular expression: {exc}") from None
    hosts = entry.get("allowed_hosts", [])
    if not all(isinstance(h, str) and h for h in hosts):
        raise ConfigError(path, f"{where}.allowed_hosts", "must be a list of host names")
    source = SourceConfig(
        **{k: v for k, v in entry.items() if k not in ("min_xuzhou", "min_development")},
        min_xuzhou=float(entry.get("min_xuzhou", 0.0)),
        min_development=float(entry.get("min_development", 0.0)),
    )
    problem = _check_options(source)
    if problem:
        key, message = problem
        raise ConfigError(path, f"{where}.options.{key}", message)
    return source


def _check_options(source: SourceConfig) -> tuple[str, str] | None:
    """Family-specific checks that can be made without the network."""
    opts = source.options
    if source.kind == "listpage" and not opts.get("item"):
        return "item", "a CSS selector for the list items is required for kind = 'listpage'"
    if source.kind == "epoint" and opts.get("mode", "column") not in ("column", "govinfo"):
        return "mode", "must be 'column' (static subPage.html) or 'govinfo' (getgovinfolist JSON)"
    if source.kind == "epoint" and opts.get("mode") == "govinfo" and not opts.get("categorynum"):
        return "categorynum", "required for mode = 'govinfo' (e.g. '003006')"
    for key in ("item", "link", "title", "date"):
        if key in opts and not isinstance(opts[key], str):
            return key, "must be a CSS selector string"
    aliases = opts.get("host_aliases")
    if aliases is not None and not (
        isinstance(aliases, dict) and all(isinstance(v, str) for v in aliases.values())
    ):
        return (
            "host_aliases",
            'must be a table of host = "canonical host", e.g. { "m.xz.gov.cn" = "www.xz.gov.cn" }',
        )
    if "page_url" in opts and "{n}" not in str(opts["page_url"]):
        return "page_url", "must contain {n}, e.g. 'index_{n}.html'"
    return None


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false", "list": "a list",
             "dict": "a table"}  # fmt: skip
    return " or ".join(names.get(t.__name__, t.__name__) for t in _as_tuple(types))
