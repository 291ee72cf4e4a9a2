"""Watched-keyword queries: a small language a subscriber types once and we match on every article.

    徐工 起重机            both terms (a space is AND)
    徐工 | 卡特彼勒         either
    "安全应急产业"          an exact phrase (no aliases)
    徐工 -招聘             exclude; also -"phrase" and -(a | b)
    (光伏 | 储能) 徐州      parentheses group

AND binds tighter than OR.  Full-width ｜（）“”－ work like their ASCII forms.  Terms and text are compared in
normalized form (ingest.normalize: traditional → simplified, NFKC, ASCII case folded), so 徐工 matches a
traditional page and a traditional query matches simplified text.  A bare term also matches its aliases
from clusters.toml [aliases] (徐工 ~ XCMG ~ 徐州工程机械集团).  Latin terms match whole words only.
A query must look for something: one made only of exclusions is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from ingest.classify import Lexicon, fold_case, load_lexicon
from ingest.normalize import normalize_text, to_simplified

_OR = "|｜"
_OPEN = "(（"
_CLOSE = ")）"
_QUOTE = '"“”＂'
_NOT = "-－"
_SPECIAL = set(_OR + _OPEN + _CLOSE + _QUOTE)
_SNIPPET = 15  # characters on each side of a hit
# Limits checked at entry: matching costs grow with terms and the evaluator recurses once per level.
MAX_QUERY_CHARS = 1000
MAX_TERMS = 60
MAX_DEPTH = 8  # nested groups and exclusions


class QueryError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based character offset of the problem."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.reason = message
        self.source = source
        self.position = position
        caret = " " * _display_width(source[:position])
        super().__init__(f"{message} at {position}:\n  {source}\n  {caret}^")


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---------------------------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False

    def __str__(self) -> str:
        if not self.phrase and is_bare_term(self.text):
            return self.text
        escaped = self.text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'


@dataclass(frozen=True)
class Not:
    child: Node

    def __str__(self) -> str:
        inner = str(self.child)
        return f"-({inner})" if isinstance(self.child, And | Or) else f"-{inner}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " ".join(f"({c})" if isinstance(c, Or) else str(c) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " | ".join(str(c) for c in self.children)


Node = Term | Not | And | Or


def is_bare_term(text: str) -> bool:
    """Can `text` be written without quotes and read back as the same term?"""
    return bool(text) and text[0] not in _NOT and not any(ch.isspace() or ch in _SPECIAL for ch in text)


def simplify(node: Node) -> Node:
    """The canonical shape the parser produces: nested AND in AND and OR in OR flattened."""
    if isinstance(node, Not):
        return Not(simplify(node.child))
    if isinstance(node, And | Or):
        kind = type(node)
        flat: list[Node] = []
        for child in (simplify(c) for c in node.children):
            flat.extend(child.children if isinstance(child, kind) else (child,))
        return flat[0] if len(flat) == 1 else kind(tuple(flat))
    return node


def has_positive(node: Node) -> bool:
    """Whether the query can only match by finding something (not merely by something being absent)."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(has_positive(c) for c in node.children)
    return all(has_positive(c) for c in node.children)


# ---------------------------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.depth = 0

    def deeper(self, start: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep (groups and exclusions)", start)

    def error(self, message: str, position: int | None = None) -> QueryError:
        return QueryError(message, self.src, self.pos if position is None else position)

    def skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def parse(self) -> Node:
        if not self.peek():
            raise self.error("empty query", 0)
        node = self.parse_or()
        if self.peek():
            # Only a stray closing parenthesis can stop parse_or before the end.
            raise self.error("unmatched closing parenthesis")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek() and self.peek() in _OR:
            self.pos += 1
            if not self.peek() or self.peek() in _OR + _CLOSE:
                raise self.error("expected a term after '|'")
            children.append(self.parse_and())
        return simplify(Or(tuple(children))) if len(children) > 1 else children[0]

    def parse_and(self) -> Node:
        children = []
        while (ch := self.peek()) and ch not in _OR + _CLOSE:
            children.append(self.parse_unary())
        if not children:
            raise self.error("expected a term")
        return simplify(And(tuple(children))) if len(children) > 1 else children[0]

    def parse_unary(self) -> Node:
        ch = self.peek()
        if ch in _NOT:
            start = self.pos
            self.pos += 1
            nxt = self.src[self.pos] if self.pos < len(self.src) else ""
            if not nxt or nxt.isspace() or nxt in _OR + _CLOSE:
                raise self.error("'-' must be followed by a term, a phrase or a group", start)
            self.deeper(start)
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_atom()

    def parse_atom(self) -> Node:
        ch = self.peek()
        start = self.pos
        if ch in _OPEN:
            self.pos += 1
            if not self.peek():
                raise self.error("unclosed parenthesis", start)
            if self.peek() in _CLOSE:
                raise self.error("empty parentheses", start)
            self.deeper(start)
            node = self.parse_or()
            if not self.peek() or self.peek() not in _CLOSE:
                raise self.error("unclosed parenthesis", start)
            self.pos += 1
            self.depth -= 1
            return node
        if ch in _QUOTE:
            return self.parse_phrase(start)
        end = start
        while end < len(self.src) and not (self.src[end].isspace() or self.src[end] in _SPECIAL):
            end += 1
        self.pos = end
        return Term(self.src[start:end])

    def parse_phrase(self, start: int) -> Term:
        self.pos += 1
        chars = []
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.src):
                chars.append(self.src[self.pos + 1])
                self.pos += 2
                continue
            if ch in _QUOTE:
                self.pos += 1
                if not "".join(chars).strip():
                    raise self.error("empty phrase", start)
                return Term("".join(chars), phrase=True)
            chars.append(ch)
            self.pos += 1
        raise self.error("unclosed quote", start)


# ---------------------------------------------------------------------------------------------- matching


@dataclass
class Hit:
    term: str  # the query term as written
    matched: str  # the normalized form that was found (the term or one of its aliases)
    start: int  # offsets in the normalized text (title + "\n" + text)
    end: int
    snippet: str  # ~30 characters around the hit, from the display text where it can be located


@dataclass
class MatchResult:
    matched: bool
    hits: list[Hit] = field(default_factory=list)


@dataclass
class _Haystack:
    display: str
    normalized: str

    @cached_property
    def display_search(self) -> str | None:
        """The display text simplified and case-folded, if that keeps offsets 1:1 with the display text."""
        folded = fold_case(to_simplified(unicodedata.normalize("NFKC", self.display)))
        return folded if len(folded) == len(self.display) else None

    def snippet(self, matched: str, start: int, end: int, cursor: dict[str, int]) -> str:
        search = self.display_search
        if search is not None:
            at = search.find(matched, cursor.get(matched, 0))
            if at >= 0:
                cursor[matched] = at + len(matched)
                return _cut(self.display, at, at + len(matched))
        return _cut(self.normalized, start, end)


def _cut(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - _SNIPPET), min(len(text), end + _SNIPPET)
    piece = text[lo:hi].replace("\n", " ")
    return ("…" if lo else "") + piece + ("…" if hi < len(text) else "")


def _needle_pattern(needle: str) -> re.Pattern[str]:
    # Latin words match whole words only, as in the lexicon matcher ("ic" never fires inside "basic").
    head = r"(?<![a-z0-9])" if needle[0].isascii() and needle[0].isalnum() else ""
    tail = r"(?![a-z0-9])" if needle[-1].isascii() and needle[-1].isalnum() else ""
    return re.compile(head + re.escape(needle) + tail)


@dataclass
class Query:
    """A parsed query; two queries are equal when their syntax trees are (whatever the spelling)."""

    source: str = field(compare=False)
    root: Node
    lexicon: Lexicon = field(repr=False, compare=False)

    def __str__(self) -> str:
        return str(self.root)

    @cached_property
    def _needles(self) -> dict[Term, list[tuple[str, re.Pattern[str]]]]:
        out: dict[Term, list[tuple[str, re.Pattern[str]]]] = {}
        for term in _terms(self.root):
            forms = [normalize_key(term.text)]
            if not term.phrase:
                forms += [normalize_key(a) for a in self.lexicon.aliases_of(forms[0])]
            out[term] = [(f, _needle_pattern(f)) for f in dict.fromkeys(forms) if f]
        return out

    def matches(self, title: str, text: str) -> MatchResult:
        display = f"{title}\n{text}" if title else text
        hay = _Haystack(display, fold_case(normalize_text(display)))
        matched, hits = self._eval(self.root, hay)
        if not matched:
            return MatchResult(False, [])
        kept = _outermost(hits)
        cursor: dict[str, int] = {}
        for hit in kept:
            hit.snippet = hay.snippet(hit.matched, hit.start, hit.end, cursor)
        return MatchResult(True, kept)

    def _eval(self, node: Node, hay: _Haystack) -> tuple[bool, list[Hit]]:
        if isinstance(node, Term):
            hits = [
                Hit(node.text, form, m.start(), m.end(), "")
                for form, pattern in self._needles[node]
                for m in pattern.finditer(hay.normalized)
            ]
            return bool(hits), hits
        if isinstance(node, Not):
            matched, _ = self._eval(node.child, hay)
            return not matched, []
        results = [self._eval(c, hay) for c in node.children]
        combine = all if isinstance(node, And) else any
        ok = combine(m for m, _ in results)
        return ok, [h for m, hs in results if m for h in hs] if ok else []


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Hits in text order, without those inside a longer one (徐工 inside 徐工集团 is one hit)."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if kept and hit.end <= kept[-1].end:
            continue
        kept.append(hit)
    return kept


def _terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _terms(node.child)
    return [t for c in node.children for t in _terms(c)]


def normalize_key(text: str) -> str:
    return fold_case(normalize_text(text))


def parse_query(source: str, lexicon: Lexicon | None = None) -> Query:
    """Parse a watched-keyword query; raises QueryError with the position of the first problem."""
    if not isinstance(source, str):
        raise TypeError("query source must be a string")
    if len(source) > MAX_QUERY_CHARS:
        raise QueryError(f"longer than {MAX_QUERY_CHARS} characters", source[:40] + "…", 40)
    root = _Parser(source).parse()
    terms = _terms(root)
    if len(terms) > MAX_TERMS:
        raise QueryError(f"more than {MAX_TERMS} terms", source, 0)
    for term in terms:
        if not normalize_key(term.text):
            at = max(0, source.find(term.text))
            raise QueryError("term is empty once normalized", source, at)
    if not has_positive(root):
        raise QueryError("the query only excludes; add a term to look for", source, 0)
    return Query(source=source, root=root, lexicon=lexicon or load_lexicon())
