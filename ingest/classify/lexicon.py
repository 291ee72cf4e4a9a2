"""The 343 lexicon (config/clusters.toml) and how its terms are found in normalized text.

Two matchers read the same dictionary: a compiled trie regex (leftmost-longest, the fast path the
classifier uses) and jieba with a user dictionary generated from the lexicon (the reference path the bench
compares against).  The fast path still asks jieba about short terms, where a substring is most often a
piece of a longer unrelated word (集中能源 is not 中能, 天通苑 is not 天通).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ingest.classify.segment import tokenizer_for

if TYPE_CHECKING:
    import jieba

from core.errors import XznewsError
from core.resources import config_file

log = logging.getLogger(__name__)

# The 10 clusters in the city's official 343 order; the TOML must list exactly these, in this order.
CLUSTER_IDS: tuple[str, ...] = (
    "engineering_machinery",
    "green_energy",
    "new_materials",
    "digital_economy",
    "ic_ict",
    "health",
    "safety_emergency",
    "steel",
    "textiles",
    "food_agri",
)
TIERS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "advantage": ("优势", "advantage"),
        "emerging": ("新兴", "emerging"),
        "characteristic": ("特色", "characteristic"),
    }
)
# Sections of the relevance dictionary.  HOME words (我市, 全市, 本报讯) mean Xuzhou only on a Xuzhou outlet.
XUZHOU, OTHER_CITY, DEVELOPMENT, AGAINST = "xuzhou", "other_city", "development", "against"
HOME = "home"
OTHER_CITY_WEIGHT = 2.0
NAME_WEIGHT = 2.0
# Short terms are checked against jieba's segmentation of a window this many characters on each side.
_SHORT_TERM_LEN = 2
_WINDOW = 6

_ASCII_UPPER_RE = re.compile(r"[A-Z]+")


class LexiconError(XznewsError, ValueError):
    """The lexicon file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Cluster:
    id: str
    tier: str
    name_zh: str
    name_en: str
    order: int

    @property
    def tier_zh(self) -> str:
        return TIERS[self.tier][0]


@dataclass(frozen=True)
class Entry:
    """One meaning of a term: which cluster or relevance section it speaks for, how, and how loudly."""

    section: str
    kind: str
    weight: float


@dataclass(frozen=True)
class Match:
    term: str
    start: int
    end: int


def fold_case(text: str) -> str:
    """Lower-case ASCII only, so that offsets stay valid (str.lower() may change lengths).  A regex over the
    few capitals is ~6x faster than str.translate on CJK text, where translate looks up every character."""
    return _ASCII_UPPER_RE.sub(_lower, text)


def _lower(match: re.Match[str]) -> str:
    return match.group().lower()


@dataclass(frozen=True)
class Lexicon:
    path: Path
    clusters: tuple[Cluster, ...]
    cluster_entries: Mapping[str, tuple[Entry, ...]]
    relevance_entries: Mapping[str, tuple[Entry, ...]]
    alias_groups: tuple[tuple[str, ...], ...]
    # Matching is case-folded; evidence is shown as the lexicon spells a term (TOPCon, not topcon).
    display: Mapping[str, str] = field(default_factory=dict)
    _by_id: Mapping[str, Cluster] = field(repr=False, compare=False, default_factory=dict)

    def cluster(self, cluster_id: str) -> Cluster:
        return self._by_id[cluster_id]

    def terms_of(self, cluster_id: str) -> dict[str, Entry]:
        return {
            term: entry
            for term, entries in self.cluster_entries.items()
            for entry in entries
            if entry.section == cluster_id
        }

    def aliases_of(self, term: str) -> tuple[str, ...]:
        """The alias group containing `term` (case-folded), or just the term itself."""
        key = fold_case(term)
        for group in self.alias_groups:
            if key in group:
                return group
        return (key,)

    @cached_property
    def cluster_matcher(self) -> TermMatcher:
        return TermMatcher(self.cluster_entries, self)

    @cached_property
    def relevance_matcher(self) -> TermMatcher:
        return TermMatcher(self.relevance_entries, self)


# ---------------------------------------------------------------------------------------------- loading


def default_path() -> Path:
    return config_file("clusters.toml")  # XZNEWS_CONFIG_DIR, ./config, or the shipped default


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Load and validate the lexicon; cached per resolved path."""
    if path is None:
        return _load_cached(_resolved_default(os.environ.get("XZNEWS_CONFIG_DIR"), os.getcwd()))
    return _load_cached(Path(path).resolve())


@lru_cache(maxsize=8)
def _resolved_default(config_dir: str | None, cwd: str) -> Path:
    # Resolving a path costs system calls; classify() asks for the default lexicon once per article.  The key
    # holds what the resolution depends on: XZNEWS_CONFIG_DIR and the working directory (./config).
    return default_path().resolve()


@cache
def _load_cached(path: Path) -> Lexicon:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LexiconError(f"{path}: lexicon file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{path}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    lexicon = _build(path, data)
    log.debug("loaded lexicon path=%s terms=%d", path, len(lexicon.cluster_entries))
    return lexicon


def _fail(path: Path, key: str, message: str) -> LexiconError:
    return LexiconError(f"{path}: {key}: {message}")


def _weights(path: Path, key: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise _fail(path, key, "expected a table of term = weight")
    out = {}
    for term, weight in value.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise _fail(path, f"{key}.{term}", f"weight must be a number ≥ 0, got {weight!r}")
        if not term.strip():
            raise _fail(path, key, "empty term")
        out[fold_case(term)] = float(weight)
    return out


def _strings(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, key, "expected a list of non-empty strings")
    return [fold_case(v) for v in value]


def _build(path: Path, data: dict[str, Any]) -> Lexicon:
    raw_clusters = data.get("clusters")
    if not isinstance(raw_clusters, list):
        raise _fail(path, "clusters", "missing [[clusters]] array")
    ids = tuple(c.get("id") if isinstance(c, dict) else None for c in raw_clusters)
    if ids != CLUSTER_IDS:
        raise _fail(path, "clusters.id", f"expected the 10 clusters in 343 order {CLUSTER_IDS}, got {ids}")

    clusters: list[Cluster] = []
    entries: dict[str, list[Entry]] = {}
    display: dict[str, str] = {}
    for order, raw in enumerate(raw_clusters):
        cid = raw["id"]
        for key in ("tier", "name_zh", "name_en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _fail(path, f"clusters.{cid}.{key}", "missing or empty")
        if raw["tier"] not in TIERS:
            raise _fail(path, f"clusters.{cid}.tier", f"must be one of {sorted(TIERS)}")
        clusters.append(Cluster(cid, raw["tier"], raw["name_zh"], raw["name_en"], order))
        raw_names = raw.get("names", [])
        for name in _strings(path, f"clusters.{cid}.names", raw_names):
            entries.setdefault(name, []).append(Entry(cid, "name", NAME_WEIGHT))
        display.update((fold_case(n), n) for n in raw_names if fold_case(n) != n)
        for kind in ("terms", "entities", "families", "negative"):
            raw_table = raw.get(kind, {})
            if isinstance(raw_table, dict):
                display.update((fold_case(t), t) for t in raw_table if fold_case(t) != t)
            table = _weights(path, f"clusters.{cid}.{kind}", raw_table)
            for term, weight in table.items():
                entries.setdefault(term, []).append(Entry(cid, kind, weight))

    relevance: dict[str, list[Entry]] = {}
    xuzhou = data.get("xuzhou", {})
    for term, weight in _weights(path, "xuzhou.terms", xuzhou.get("terms", {})).items():
        relevance.setdefault(term, []).append(Entry(XUZHOU, "place", weight))
    for term, weight in _weights(path, "xuzhou.home", xuzhou.get("home", {})).items():
        relevance.setdefault(term, []).append(Entry(HOME, "place", weight))
    for term in _strings(path, "xuzhou.others", xuzhou.get("others", [])):
        relevance.setdefault(term, []).append(Entry(OTHER_CITY, "place", OTHER_CITY_WEIGHT))
    development = data.get("development", {})
    for section, key in ((DEVELOPMENT, "terms"), (AGAINST, "against")):
        for term, weight in _weights(path, f"development.{key}", development.get(key, {})).items():
            relevance.setdefault(term, []).append(Entry(section, "term", weight))

    raw_groups = data.get("aliases", {}).get("groups", [])
    if not isinstance(raw_groups, list):
        raise _fail(path, "aliases.groups", "expected a list of lists of names")
    groups = tuple(
        tuple(dict.fromkeys(_strings(path, f"aliases.groups[{i}]", g))) for i, g in enumerate(raw_groups)
    )
    return Lexicon(
        path=path,
        clusters=tuple(clusters),
        cluster_entries=MappingProxyType({t: tuple(e) for t, e in entries.items()}),
        relevance_entries=MappingProxyType({t: tuple(e) for t, e in relevance.items()}),
        alias_groups=groups,
        display=MappingProxyType(display),
        _by_id=MappingProxyType({c.id: c for c in clusters}),
    )


# ---------------------------------------------------------------------------------------------- jieba


def _cjk_words(lexicon: Lexicon) -> tuple[str, ...]:
    return tuple(w for w in sorted({*lexicon.cluster_entries, *lexicon.relevance_entries}) if _has_cjk(w))


def jieba_entries(lexicon: Lexicon) -> list[tuple[str, int]]:
    """(word, frequency) for every CJK lexicon term; the frequency is jieba's own suggestion, just enough
    to keep the term whole when it stands alone, so context still wins (集中|能源 stays, 中能 is not forced)."""
    return list(tokenizer_for(_cjk_words(lexicon))[1])


def write_jieba_userdict(lexicon: Lexicon, path: str | Path) -> Path:
    """Write a jieba user dictionary ("word freq tag" lines) so multi-character terms segment as units."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{word} {freq} nz" for word, freq in jieba_entries(lexicon)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lexicon_tokenizer(lexicon: Lexicon) -> jieba.Tokenizer:
    """The one tokenizer per lexicon and process (see ingest.classify.segment)."""
    return tokenizer_for(_cjk_words(lexicon))[0]


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


# ---------------------------------------------------------------------------------------------- matching


class TermMatcher:
    """Leftmost-longest dictionary matching over normalized text, with a jieba check on short terms."""

    def __init__(self, entries: Mapping[str, tuple[Entry, ...]], lexicon: Lexicon) -> None:
        self.entries = entries
        self._lexicon = lexicon
        self._regex = re.compile(_trie_pattern(entries))
        # Family heads (…电池, …装备, …救援) may end a compound the lexicon does not list (固态电池).
        self._heads = frozenset(t for t, es in entries.items() if any(e.kind == "families" for e in es))
        self._short = frozenset(t for t in entries if _is_short_cjk(t))

    @cached_property
    def tokenizer(self) -> jieba.Tokenizer:
        return lexicon_tokenizer(self._lexicon)

    def find(self, text: str, *, verify: bool = True) -> list[Match]:
        """Matches in `text` (normalized; ASCII case is folded here).  With `verify`, a short CJK term
        counts only where jieba's segmentation agrees that a word starts there (see _cuts_at)."""
        folded = fold_case(text)
        matches = [Match(m.group(), m.start(), m.end()) for m in self._regex.finditer(folded)]
        if verify:
            matches = [
                m
                for m in matches
                if m.term not in self._short or self._is_token(folded, m, tail_ok=m.term in self._heads)
            ]
        return matches

    def find_with_jieba(self, text: str) -> list[Match]:
        """The reference path: segment the whole text with jieba and keep tokens that are lexicon terms."""
        folded = fold_case(text)
        tokenizer = self.tokenizer
        matches, pos = [], 0
        for token in segmented(tokenizer, folded):
            start, pos = pos, pos + len(token)
            if token in self.entries:
                matches.append(Match(token, start, pos))
            elif (head := self._head_of(token)) is not None:
                matches.append(Match(head, pos - len(head), pos))
            elif token.isascii() and token.isalnum():
                # jieba keeps "30gwh" as one token; the unit after the digits is the term.
                letters = token.lstrip("0123456789")
                if letters in self.entries:
                    matches.append(Match(letters, pos - len(letters), pos))
        return matches

    def _head_of(self, token: str) -> str | None:
        # The longest family head that ends the token: 液流储能 → 储能, 消防救援 → 救援.
        for size in range(len(token) - 1, 1, -1):
            if token[-size:] in self._heads:
                return token[-size:]
        return None

    def _is_token(self, text: str, match: Match, *, tail_ok: bool = False) -> bool:
        tokenizer = self.tokenizer
        if not _may_be_split(tokenizer.FREQ, text, match):
            return True
        lo = max(0, match.start - _WINDOW)
        window = text[lo : match.end + _WINDOW]
        return _cuts_at(tokenizer, window, match.start - lo, match.end - lo, tail_ok=tail_ok)


@lru_cache(maxsize=4)
def segmented(tokenizer: jieba.Tokenizer, text: str) -> tuple[str, ...]:
    """jieba's tokens for `text`; the cluster and the relevance matcher read the same cut of an article's title
    and body, so each is segmented once."""
    return tuple(tokenizer.cut(text, HMM=False))


def clear_segmentation_cache() -> None:
    """Forget cached jieba window cuts (the bench measures cold speed, as new articles see it)."""
    _cut_points.cache_clear()
    segmented.cache_clear()


def _may_be_split(freq: Mapping[str, int], text: str, match: Match) -> bool:
    """Could jieba (dictionary path, no HMM) segment the text other than at the term's edges?  Only if some
    dictionary word crosses the term's start, or starts inside the term and runs past its end.  Most
    occurrences have no such neighbour, and then segmenting the window is skipped."""
    start, end = match.start, match.end
    for p in range(max(0, start - _WINDOW), start):
        for q in range(start + 1, min(len(text), p + _WINDOW) + 1):
            if freq.get(text[p:q]):
                return True
    for i in range(start + 1, end):
        for q in range(end + 1, min(len(text), i + _WINDOW) + 1):
            if freq.get(text[i:q]):
                return True
    return False


@lru_cache(maxsize=1 << 16)
def _cut_points(tokenizer: jieba.Tokenizer, window: str) -> frozenset[int]:
    points, pos = {0}, 0
    for token in tokenizer.cut(window, HMM=False):
        pos += len(token)
        points.add(pos)
    return frozenset(points)


def _cuts_at(tokenizer: jieba.Tokenizer, window: str, start: int, end: int, *, tail_ok: bool = False) -> bool:
    """True if jieba starts a token where the term starts and does not cut inside it.  The term may be the
    head of a longer token (铜山|区 → 铜山区, 恩华药业): names grow by suffixes.  It may not be the tail or
    the middle of one (集中|能源 hides 中能) — unless it is a family head (`tail_ok`), which may also end a
    compound (蓄电池, 消防救援), but still not sit inside one."""
    points = _cut_points(tokenizer, window)
    if any(start < p < end for p in points):
        return False
    return start in points or (tail_ok and end in points)


def _is_short_cjk(term: str) -> bool:
    return len(term) <= _SHORT_TERM_LEN and _has_cjk(term)


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex equivalent to the alternation of `words`, factored as a trie so that each position costs
    one character test, with longer words tried first (leftmost-longest).  Latin words get boundaries so
    that "ic" never fires inside "basic"."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any], last: str) -> str:
        alts = [re.escape(ch) + emit(child, ch) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            alts.append(_end_guard(last))
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    if not trie:
        return "(?!)"
    top = [_start_guard(ch) + re.escape(ch) + emit(child, ch) for ch, child in sorted(trie.items())]
    # The leading look-ahead gives the regex engine a first-character set to skip ahead with; without it
    # the look-behind guards on Latin words make it try every branch at every position (~10x slower).
    first = "".join(re.escape(ch) for ch in sorted(trie))
    return f"(?=[{first}])(?:{'|'.join(top)})"


def _start_guard(ch: str) -> str:
    if "a" <= ch <= "z":
        return "(?<![a-z])"
    if "0" <= ch <= "9":
        return "(?<![0-9])"
    return ""


def _end_guard(ch: str) -> str:
    if "a" <= ch <= "z":
        return "(?![a-z])"
    if "0" <= ch <= "9":
        return "(?![0-9])"
    return ""
