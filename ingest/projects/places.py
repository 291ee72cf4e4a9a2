"""The gazetteer (config/places.toml): Xuzhou districts, counties, development zones and parks, found in
normalized text and reported under one canonical name each."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.errors import ConfigError
from core.resources import config_file

KINDS = {"district": 1, "county": 1, "zone": 2, "park": 3}  # the rank: a park is more specific than its zone
# A zone followed by a park of its own (邳州经济开发区半导体材料产业园) is a park even without an entry.
_PARK_TAIL = r"[\u4e00-\u9fff]{2,8}?(?:产业园|科技园|工业园|产业基地)(?!项目)"


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    parent: str | None = None

    @property
    def rank(self) -> int:
        return KINDS[self.kind]


@dataclass(frozen=True)
class PlaceHit:
    place: Place
    start: int
    end: int
    cuts_names: bool  # a full name (邳州市, 徐州经开区), not a short alias that also begins names (邳州)


class Gazetteer:
    def __init__(self, places: list[Place], aliases: dict[str, tuple[Place, bool]]) -> None:
        self.places = {p.name: p for p in places}
        self._aliases = aliases
        words = sorted(aliases, key=len, reverse=True)
        alternation = "|".join(re.escape(w) for w in words)
        self._re = re.compile(f"(?P<base>{alternation})(?P<tail>{_PARK_TAIL})?")

    def find(self, text: str) -> list[PlaceHit]:
        hits = []
        for m in self._re.finditer(text):
            place, cuts = self._aliases[m.group("base")]
            if m.group("tail") and place.kind == "zone":
                place = Place(place.name + m.group("tail"), "park", place.name)
            elif m.group("tail"):  # only a zone has parks of its own: match the base alone
                hits.append(PlaceHit(place, m.start(), m.end("base"), cuts))
                continue
            hits.append(PlaceHit(place, m.start(), m.end(), cuts))
        return hits

    def canonical(self, written: str | None) -> str | None:
        """The canonical name of a place as written (徐州经开区 → 徐州经济技术开发区), or None."""
        if not written:
            return None
        hits = self.find(written)
        if hits and hits[0].start == 0 and hits[0].end == len(written):
            return hits[0].place.name
        return written

    def within(self, name: str) -> set[str]:
        """`name` and every place it lies in (a park → its zone → its district), for filters."""
        out: set[str] = set()
        place = self.places.get(name)
        current: str | None = name
        while current and current not in out:
            out.add(current)
            place = self.places.get(current)
            current = place.parent if place else None
        return out


def default_path() -> Path:
    return config_file("places.toml")  # XZNEWS_CONFIG_DIR, ./config, or the shipped default


@cache
def load_gazetteer(path: Path | None = None) -> Gazetteer:
    path = path or default_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read the gazetteer: {exc}") from None
    places: list[Place] = []
    aliases: dict[str, tuple[Place, bool]] = {}
    for i, row in enumerate(data.get("places", [])):
        kind = row.get("kind")
        if not row.get("name") or kind not in KINDS:
            raise ConfigError(path, f"places[{i}]", "needs a name and a kind (district, county, zone, park)")
        place = Place(row["name"], kind, row.get("parent") or None)
        places.append(place)
        for alias in [place.name, *row.get("aliases", [])]:
            aliases[alias] = (place, True)
        for alias in row.get("short", []):
            aliases[alias] = (place, False)
    return Gazetteer(places, aliases)
