"""Parse HTML with lxml and flatten it into text blocks (one per paragraph-like run of text).

Each block remembers the element that owns it and its link text; every element gets a pre-order number and the
number of its last descendant, so "is this block inside that element" is two integer comparisons.  One pass in
plain Python over the tree is what keeps extraction fast.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from ingest.extract import boilerplate

logger = logging.getLogger(__name__)

SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "iframe",
        "textarea",
        "select",
        "option",
        "button",
        "input",
        "svg",
        "canvas",
        "video",
        "audio",
        "object",
        "embed",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "map",
        "area",
        "frame",
        "frameset",
        "applet",
        "math",
    ]
)
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "td",
        "th",
        "tr",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "address",
        "center",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "header",
        "footer",
        "nav",
        "aside",
        "details",
        "summary",
        "hr",
        "br",
        "body",
        "html",
    ]
)
NEGATIVE_TAGS = frozenset({"nav", "footer", "aside", "header", "form", "menu"})
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_WS_RE = re.compile(r"\s+")
_HIDDEN_RE = re.compile(
    r"display\s*:\s*none", re.IGNORECASE
)  # not visibility: WeChat hides its body until JS runs
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Sentence punctuation; ASCII marks only before a space or the end, so 18,652.59 in a ticker is not prose.
_PUNCT_RE = re.compile(r"[，。！？；：、“”]|[,.!?;](?=\s|$)")
_SPACE_RE = re.compile(r"\s")
# A link to a document (an attachment) is the content of a notice that has no other text, not navigation.
_DOC_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "wps", "ofd", "zip", "rar")
_DOC_SUFFIXES = tuple(f".{e}" for e in _DOC_EXTENSIONS) + tuple(f".{e.upper()}" for e in _DOC_EXTENSIONS)
_PARSER = etree.HTMLParser(remove_blank_text=False, remove_comments=False, recover=True, no_network=True)
# Comments and <meta> tags with which CMSs bracket the article body (Hanweb, Founder e-paper).
_BEGIN_MARKERS = frozenset({"enpcontent", "zjeg_rss.content.begin", "contentstart"})
_END_MARKERS = frozenset({"/enpcontent", "zjeg_rss.content.end", "contentend"})


@dataclass(slots=True)
class Block:
    text: str
    chars: int  # non-space characters
    link_chars: int
    punct: int
    node: int  # pre-order number of the owning block element
    tag: str
    negative: int  # pre-order number of the innermost furniture element (nav, share bar …) around it, or -1

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0


@dataclass
class Page:
    root: etree._Element | None
    blocks: list[Block] = field(default_factory=list)
    nodes: list[etree._Element] = field(default_factory=list)  # pre-order number → element
    ends: list[int] = field(default_factory=list)  # pre-order number → number of its last descendant
    parents: list[int] = field(default_factory=list)
    markers: list[tuple[str, int]] = field(
        default_factory=list
    )  # ("begin"|"end", block index) content markers

    def contains(self, container: int, node: int) -> bool:
        return container <= node <= self.ends[container]

    def node_index(self, element: etree._Element) -> int | None:
        try:
            return self._index[element]
        except (AttributeError, KeyError):
            self._index = {el: i for i, el in enumerate(self.nodes)}
            return self._index.get(element)


def _is_document_link(href: str | None) -> bool:
    # One suffix test (C speed): this runs for every link of every page.
    return bool(href) and href.split("?", 1)[0].endswith(_DOC_SUFFIXES)  # type: ignore[union-attr]


def sanitize(text: str) -> str:
    """The page text without an XML declaration and control characters, which lxml refuses or replaces."""
    return _BAD_CHARS_RE.sub("", _XML_DECL_RE.sub("", text, count=1))


def parse_html(text: str) -> etree._Element | None:
    """An lxml tree for any string; None when there is nothing to parse."""
    text = sanitize(text)
    if not text.strip():
        return None
    try:
        # Plain etree elements: lxml.html's element classes cost a lookup per node.
        return etree.fromstring(text, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        logger.debug("lxml could not parse the page: %s", exc)
        return None


_STRONG, _WEAK = 2, 1
_PROSE_ACQUITS = 200  # chars of punctuated text that clear a weakly suspicious element


def _negativity(tag: str, cls: str | None, ident: str | None) -> int:
    """0, or how surely an element's tag, class or id marks it as furniture (_WEAK can be acquitted later)."""
    if tag in NEGATIVE_TAGS:
        return _WEAK
    if not cls and not ident:
        return 0
    return _negativity_of_attrs(cls or "", ident or "")


@lru_cache(maxsize=8192)
def _negativity_of_attrs(cls: str, ident: str) -> int:
    attrs = f"{cls} {ident}".strip()
    if boilerplate.STRONG_NEGATIVE_ATTR_RE.search(attrs):
        return _STRONG
    if boilerplate.NEGATIVE_ATTR_RE.search(attrs) and not boilerplate.POSITIVE_ATTR_RE.search(attrs):
        return _WEAK
    return 0


class _Walker:
    """Flattens a tree into blocks.  Text is buffered until the next block boundary."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.parts: list[str] = []
        self.link_parts: list[str] = []
        self.owner = 0
        self.owner_tag = "html"
        self.negatives: list[int] = []
        self.link_depth = 0

    def flush(self) -> None:
        if not self.parts:
            return
        joined = "".join(self.parts)
        links = "".join(self.link_parts)
        self.parts, self.link_parts = [], []
        if joined.isspace():  # the indentation between tags: a third of all flushes, no regex needed
            return
        text = _WS_RE.sub(" ", joined).strip()
        if not text:
            return
        chars = len(text) - text.count(" ")
        link_chars = min(chars, len(links) - len(_SPACE_RE.findall(links))) if links else 0
        punct = len(_PUNCT_RE.findall(text))
        self.page.blocks.append(
            Block(
                text,
                chars,
                link_chars,
                punct,
                self.owner,
                self.owner_tag,
                self.negatives[-1] if self.negatives else -1,
            )
        )

    def _acquit_if_prose(self, index: int, first_block: int) -> None:
        """A class name such as "print" or "top" on an element full of prose was not about furniture."""
        blocks = self.page.blocks
        prose = sum(b.chars for b in blocks[first_block:] if b.punct >= 2 and b.chars >= 30)
        if prose < _PROSE_ACQUITS:
            return
        outer = self.negatives[-1] if self.negatives else -1
        for block in blocks[first_block:]:
            if block.negative == index:
                block.negative = outer

    def mark(self, name: str) -> None:
        if name in _BEGIN_MARKERS or name in _END_MARKERS:
            self.flush()
            self.page.markers.append(("begin" if name in _BEGIN_MARKERS else "end", len(self.page.blocks)))

    def walk(self, el: etree._Element, parent: int) -> None:
        # The hot loop of extraction: attribute lookups are hoisted and add_text() is inlined.
        tag = el.tag
        if not isinstance(tag, str):  # comment or processing instruction
            self.mark((el.text or "").strip().lower())
            self._add_tail(el.tail)
            return
        # lxml's HTML parser lower-cases tag names already.
        if tag == "meta":
            self.mark((el.get("name") or "").lower())
        if tag in SKIP_TAGS:  # before reading attributes: scripts and styles are many and need none
            self._add_tail(el.tail)
            return
        cls = ident = None
        attrs = el.items()  # one call instead of one get() per attribute; most elements have none
        if attrs:
            for key, value in attrs:
                if key == "class":
                    cls = value
                elif key == "id":
                    ident = value
                elif (key == "style" and "none" in value and _HIDDEN_RE.search(value)) or key == "hidden":
                    self._add_tail(el.tail)
                    return
        page = self.page
        nodes = page.nodes
        index = len(nodes)
        nodes.append(el)
        page.ends.append(index)
        page.parents.append(parent)
        is_block = tag in BLOCK_TAGS
        negative = _negativity(tag, cls, ident) if (cls or ident or tag in NEGATIVE_TAGS) else 0
        first_block = len(page.blocks)
        if is_block:
            self.flush()
            saved_owner, saved_tag = self.owner, self.owner_tag
            self.owner, self.owner_tag = index, tag
        if negative:
            self.negatives.append(index)
        is_link = tag == "a" and not _is_document_link(el.get("href"))
        if is_link:
            self.link_depth += 1
        text = el.text
        if text:
            self.parts.append(text)
            if self.link_depth:
                self.link_parts.append(text)
        walk = self.walk
        for child in el:
            walk(child, index)
        if is_link:
            self.link_depth -= 1
        if is_block:
            self.flush()
            self.owner, self.owner_tag = saved_owner, saved_tag
        if negative:
            self.negatives.pop()
            if negative == _WEAK:
                self._acquit_if_prose(index, first_block)
        page.ends[index] = len(nodes) - 1
        tail = el.tail
        if tail:
            self.parts.append(tail)
            if self.link_depth:
                self.link_parts.append(tail)

    def _add_tail(self, tail: str | None) -> None:
        if tail:
            self.parts.append(tail)
            if self.link_depth:
                self.link_parts.append(tail)


def flatten(root: etree._Element | None) -> Page:
    page = Page(root)
    if root is None:
        return page
    walker = _Walker(page)
    try:
        walker.walk(root, -1)
        walker.flush()
    except RecursionError:
        logger.warning("page nests too deeply to flatten; giving up on it")
        return Page(root)
    return page


def marked_regions(page: Page) -> list[tuple[int, int]]:
    """Block ranges [start, end) between begin and end content markers."""
    regions: list[tuple[int, int]] = []
    start: int | None = None
    for kind, at in page.markers:
        if kind == "begin":
            start = at
        elif start is not None:
            if at > start:
                regions.append((start, at))
            start = None
    return regions


def element_text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    try:
        return _WS_RE.sub(" ", "".join(el.itertext())).strip()
    except (ValueError, TypeError):
        return ""
