"""HTML → article: title, publish time, source, author, editor and clean paragraphs.

Order of evidence: the standard government meta tags (ArticleTitle, PubDate, ContentSource, og:*, publishdate …),
then the CMS family's selectors (Hanweb, Epoint, TRS, e-paper), then the generic content-density extractor.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from ingest.extract import fallback, families, pubtime
from ingest.extract.blocks import HEADING_TAGS, Block, Page, element_text, flatten, marked_regions, parse_html
from ingest.extract.charset import decode_html
from ingest.extract.clean import (
    clean_paragraphs,
    normalize_whitespace,
    parse_labelled_line,
    split_metadata_lines,
)
from ingest.extract.density import best_container, container_blocks, is_content_block
from ingest.extract.split import MAX_PARTS
from ingest.normalize import matching_key

logger = logging.getLogger(__name__)

_TITLE_META = ("articletitle", "og:title", "twitter:title", "title")
_SOURCE_META = ("contentsource", "source", "og:article:source", "article:source", "mediaid")
_AUTHOR_META = ("author", "article:author", "og:article:author")
_TITLE_SPLIT_RE = re.compile(r"\s*(?:[_|｜]|\s[-－—–]+\s|--|——)\s*")
_NEAR_TITLE_WINDOW = 12  # blocks after the title (or before the body) searched for the time line
_MIN_MARKED_CHARS = 20
_MIN_FAMILY_CHARS = 8  # the family's own body element is trusted even when short (a one-line PDF notice)


@dataclass
class Extracted:
    title: str  # "" if none
    published_at: datetime | None  # timezone-aware, Asia/Shanghai when the page gives no zone
    source: str | None  # 来源 / ContentSource / source_baidu
    author: str | None
    editor: str | None  # 责任编辑
    paragraphs: list[str] = field(default_factory=list)  # cleaned body paragraphs, display text
    url: str | None = None
    encoding: str | None = None
    extractor: str = "primary"  # primary | fallback: which method produced the paragraphs

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class _Context:
    html: str
    encoding: str | None
    url: str | None
    root: etree._Element | None
    page: Page
    meta: dict[str, str]
    family: str | None


def extract_article(
    data: bytes | str,
    url: str | None = None,
    *,
    http_charset: str | None = None,
    list_date: datetime | None = None,
    family: str | None = None,
    policy: fallback.Policy | None = fallback.DEFAULT_POLICY,
) -> Extracted:
    """Never raises on arbitrary input: returns an Extracted with empty paragraphs instead.

    `policy` decides when the second opinion runs (None: never)."""
    try:
        return _whole_page(_prepare(data, url, http_charset, family), list_date, policy)
    except Exception:  # noqa: BLE001 - a bad page must never stop a run
        logger.exception("extraction failed url=%s", url)
        return _nothing(url)


def extract_articles(
    data: bytes | str,
    url: str | None = None,
    *,
    http_charset: str | None = None,
    list_date: datetime | None = None,
    family: str | None = None,
    policy: fallback.Policy | None = fallback.DEFAULT_POLICY,
) -> list[Extracted]:
    """Like extract_article, but a page that holds several articles (a digital-newspaper page) gives several,
    one per pair of content markers (<!--enpcontent-->…<!--/enpcontent-->)."""
    try:
        ctx = _prepare(data, url, http_charset, family)
        regions = [r for r in marked_regions(ctx.page) if _region_chars(ctx.page, r) >= _MIN_MARKED_CHARS]
        if len(regions) < 2:
            return [_whole_page(ctx, list_date, policy)]
        return [_extract_region(ctx, region, list_date) for region in regions[:MAX_PARTS]]
    except Exception:  # noqa: BLE001 - a bad page must never stop a run
        logger.exception("extraction failed url=%s", url)
        return [_nothing(url)]


def _whole_page(ctx: _Context, list_date: datetime | None, policy: fallback.Policy | None) -> Extracted:
    """The page as one article, with the second opinion where the policy calls for it."""
    extracted = _extract_one(ctx, list_date)
    return extracted if policy is None else with_second_opinion(ctx, extracted, policy)


def _nothing(url: str | None) -> Extracted:
    return Extracted(
        title="", published_at=None, source=None, author=None, editor=None, paragraphs=[], url=url
    )


def _prepare(data: bytes | str, url: str | None, http_charset: str | None, family: str | None) -> _Context:
    if isinstance(data, bytes | bytearray | memoryview):
        html, encoding = decode_html(bytes(data), http_charset)
    else:
        html, encoding = str(data), None
    root = parse_html(html)
    page = flatten(root)
    meta = _read_meta(root)
    if family not in families.FAMILIES:
        family = families.sniff_family(html)
    return _Context(html, encoding, url, root, page, meta, family)


def _read_meta(root: etree._Element | None) -> dict[str, str]:
    """<meta name|property|itemprop=… content=…>, keys lower-cased; the first value wins."""
    meta: dict[str, str] = {}
    if root is None:
        return meta
    for el in root.iter("meta"):
        key = el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv")
        value = el.get("content")
        if key and value and value.strip():
            meta.setdefault(key.strip().lower(), normalize_whitespace(value))
    for el in root.iter("time"):  # <time itemprop="datePublished" datetime="…"> and friends
        if el.get("datetime") and (el.get("itemprop") or "").lower() == "datepublished":
            meta.setdefault("datepublished", el.get("datetime", ""))
    return meta


def _extract_one(ctx: _Context, list_date: datetime | None) -> Extracted:
    page = ctx.page
    rules = families.RULES.get(ctx.family or "")
    blocks, first_index = _body_blocks(ctx, rules)
    title = _find_title(ctx, rules, first_index)
    return _assemble(ctx, title, blocks, first_index, rules, list_date, page.blocks)


def with_second_opinion(ctx: _Context, primary: Extracted, policy: fallback.Policy) -> Extracted:
    """The primary's answer, or the second opinion's paragraphs where the primary looks collapsed and the
    second measures better (fallback.suspect / prefer_second)."""
    stats = fallback.BodyStats.of(primary.paragraphs)
    # The page's prose only matters when length alone may decide (a finite gain); it costs a pass over the page.
    page_prose = fallback.page_prose_chars(ctx.page) if policy.gain != float("inf") else 0
    if not fallback.suspect(stats, page_prose, policy):
        return primary
    paragraphs = second_paragraphs(ctx, primary.title)
    if fallback.prefer_second(stats, fallback.BodyStats.of(paragraphs), policy):
        primary.paragraphs, primary.extractor = paragraphs, "fallback"
    return primary


def second_paragraphs(ctx: _Context, title: str) -> list[str]:
    """The second opinion's body, cleaned like the primary's (headline repeat and metadata lines out)."""
    raw = fallback.second_opinion(ctx.html)
    title_key = matching_key(title) if title else ""
    while raw and title_key and matching_key(raw[0]) == title_key:
        raw.pop(0)
    body, _fields = split_metadata_lines(raw)
    return clean_paragraphs(body)


def _extract_region(ctx: _Context, region: tuple[int, int], list_date: datetime | None) -> Extracted:
    """One article of a multi-article page: the body between markers, the headline just before it."""
    start, end = region
    blocks = [b for b in ctx.page.blocks[start:end] if is_content_block(b)]
    title = _headline_before(ctx.page.blocks, start)
    if list_date is None:  # the page's date line (徐州日报 2022年11月22日) dates every article on it
        first = marked_regions(ctx.page)[0][0]
        dates = [pubtime.find_time_in_line(b.text) for b in ctx.page.blocks[:first]]
        list_date = next((d for d in dates if d is not None), None)
    return _assemble(ctx, title, blocks, start, None, list_date, ctx.page.blocks, use_page_meta=False)


def _headline_before(blocks: list[Block], start: int) -> str:
    for block in reversed(blocks[max(0, start - 6) : start]):
        if block.tag in HEADING_TAGS and block.negative < 0:
            return block.text
    for block in reversed(blocks[max(0, start - 6) : start]):
        if block.chars <= 40 and not block.text.endswith(("。", "！", "？")):
            return block.text
    return ""


def _region_chars(page: Page, region: tuple[int, int]) -> int:
    return sum(b.chars for b in page.blocks[region[0] : region[1]])


def _body_blocks(ctx: _Context, rules: families.FamilyRules | None) -> tuple[list[Block], int]:
    """The body's blocks and the index of the first one: marked region → family selector → density."""
    page = ctx.page
    for start, end in marked_regions(page):
        blocks = [b for b in page.blocks[start:end] if is_content_block(b)]
        if sum(b.chars for b in blocks) >= _MIN_MARKED_CHARS:
            return blocks, start
    if rules and ctx.root is not None:
        element = families.first_match(ctx.root, rules.body)
        index = page.node_index(element) if element is not None else None
        if index is not None:
            blocks = container_blocks(page, index)
            if sum(b.chars for b in blocks) >= _MIN_FAMILY_CHARS:
                return blocks, _first_block_index(page, index)
    container, feed_items = best_container(page)
    if container is None:
        return [], len(page.blocks)
    return container_blocks(page, container, feed_items), _first_block_index(page, container)


def _first_block_index(page: Page, container: int) -> int:
    for i, block in enumerate(page.blocks):
        if page.contains(container, block.node):
            return i
    return len(page.blocks)


def _find_title(ctx: _Context, rules: families.FamilyRules | None, body_start: int | None = None) -> str:
    if ctx.meta.get("articletitle"):
        return ctx.meta["articletitle"]
    if rules and rules.title and ctx.root is not None:
        text = element_text(families.first_match(ctx.root, rules.title))
        if text:
            return text
    enp = families.enpproperty(ctx.html) if ctx.family == "epaper" else {}
    if enp.get("title"):
        return enp["title"]
    doc_title = ""
    if ctx.root is not None:
        title_el = ctx.root.find(".//title")
        doc_title = element_text(title_el)
    doc_key = matching_key(doc_title) if doc_title else ""
    headings = [b for b in ctx.page.blocks if b.tag in ("h1", "h2") and 4 <= b.chars <= 100][:8]
    for block in headings:
        key = matching_key(block.text)
        if doc_key and len(key) >= 4 and key in doc_key:
            return block.text
    for key in _TITLE_META[1:3]:
        if ctx.meta.get(key):
            return ctx.meta[key]
    near = _headline_near_body(ctx.page, body_start) if body_start is not None else ""
    if near:  # <title> that holds only the site's name: the page's own headline sits just above the body
        return near
    if doc_title:
        parts = [p for p in _TITLE_SPLIT_RE.split(doc_title) if p]
        return max(parts[:2], key=len) if parts else doc_title
    return headings[0].text if headings else ""


_HEADLINE_WINDOW = 6  # blocks before the body's first one where its headline is looked for
_EMPHASIS_TAGS = ("b", "strong", "font")


def _headline_near_body(page: Page, body_start: int) -> str:
    """A heading (h1–h3, or a cell that is one bold/large run of text) just before or at the top of the body."""
    window = page.blocks[max(0, body_start - _HEADLINE_WINDOW) : body_start + 1]
    for block in reversed(window):
        if (
            not 4 <= block.chars <= 80
            or block.link_chars
            or block.text.endswith(("。", "！", "？", "：", ":"))
        ):
            continue
        if block.tag in ("h1", "h2", "h3"):
            return block.text
        # Only the element's own children (and theirs): a big container must not be walked for one block.
        element = page.nodes[block.node]
        for child in element.iterchildren(*_EMPHASIS_TAGS):
            if any(element_text(c) == block.text for c in (child, *child.iterchildren(*_EMPHASIS_TAGS))):
                return block.text
    return ""


def _near_title_lines(all_blocks: list[Block], title: str, body_start: int) -> list[str]:
    """Lines where a page prints time, source and author: after the title, else just before the body."""
    title_key = matching_key(title) if title else ""
    start = None
    if title_key:
        # The headline's first showing near the body: pages that repeat it (a share card, a sticky header)
        # print the time under the first one.
        near_from = body_start - _NEAR_TITLE_WINDOW
        # Normalising is the costly part: only blocks about the headline's length can match it.
        low, high = len(title_key) // 2, 2 * len(title) + 10
        for i, block in enumerate(all_blocks[: body_start + 1]):
            if (
                (start is None or start - 1 < near_from)
                and low <= block.chars <= min(high, 200)
                and matching_key(block.text) == title_key
            ):
                start = i + 1
        if start is None:
            start = max(0, body_start - _NEAR_TITLE_WINDOW)
    else:
        start = max(0, body_start - _NEAR_TITLE_WINDOW)
    end = max(start, body_start) + 3
    return [b.text for b in all_blocks[start:end] if b.chars <= 200]


def _assemble(
    ctx: _Context,
    title: str,
    blocks: list[Block],
    body_start: int,
    rules: families.FamilyRules | None,
    list_date: datetime | None,
    all_blocks: list[Block],
    *,
    use_page_meta: bool = True,
) -> Extracted:
    meta = ctx.meta if use_page_meta else {}
    title_key = matching_key(title) if title else ""
    paragraphs = [b.text for b in blocks]
    # The container often repeats the headline at its top.
    while paragraphs and title_key and matching_key(paragraphs[0]) == title_key:
        paragraphs.pop(0)
    body, fields = split_metadata_lines(paragraphs)
    near = _near_title_lines(all_blocks, title, body_start)
    for line in near:
        for key, value in parse_labelled_line(line).items():
            fields.setdefault(key, value)

    family_fields = _family_fields(ctx, rules)
    enp = families.enpproperty(ctx.html) if ctx.family == "epaper" and use_page_meta else {}

    candidates: list[datetime | None] = [pubtime.parse_datetime(family_fields.get("time"))]
    candidates += [pubtime.parse_datetime(meta.get(k)) for k in pubtime.PUBTIME_META_KEYS if meta.get(k)]
    candidates.append(pubtime.parse_datetime(enp.get("date")))
    candidates.append(pubtime.parse_datetime(fields.get("time")))
    candidates += _times_in_lines(near)
    candidates.append(pubtime.date_from_url(ctx.url))
    published_at = pubtime.pick_published_at(candidates, list_date)

    return Extracted(
        title=normalize_whitespace(title),
        published_at=published_at,
        source=_first(
            family_fields.get("source"), *(meta.get(k) for k in _SOURCE_META), fields.get("source")
        ),
        author=_first(
            family_fields.get("author"),
            *(meta.get(k) for k in _AUTHOR_META),
            enp.get("author"),
            fields.get("author"),
        ),
        editor=_first(family_fields.get("editor"), fields.get("editor")),
        paragraphs=clean_paragraphs(body),
        url=ctx.url,
        encoding=ctx.encoding,
    )


def _times_in_lines(lines: list[str]) -> list[datetime | None]:
    """Labelled time lines first (发布时间：…), then any line with a date."""
    labelled = [pubtime.find_time_in_line(line) for line in lines if pubtime.has_time_label(line)]
    return labelled + [pubtime.find_time_in_line(line) for line in lines]


def _family_fields(ctx: _Context, rules: families.FamilyRules | None) -> dict[str, str]:
    """Time, source, author and editor from the family's dedicated elements (sp_time, *_baidu)."""
    fields: dict[str, str] = {}
    if not rules or ctx.root is None:
        return fields
    for name in ("time", "source", "author", "editor"):
        text = element_text(families.first_match(ctx.root, getattr(rules, name)))
        if not text:
            continue
        labelled = parse_labelled_line(text)
        if labelled:
            for key, value in labelled.items():
                fields.setdefault(key, value)
            if name == "time" and "time" not in labelled:
                fields.setdefault("time", text)
        else:
            fields.setdefault(name, text)
    return fields


_FIELD_LABEL_RE = re.compile(r"^[\s【\[(（]*(?:来源|稿源|作者|记者|责任编辑|责编|编辑)\s*[:：]\s*")
_MAX_FIELD_LEN = 60


def _first(*values: str | None) -> str | None:
    """The first usable value: label prefixes removed, not a bare number (CMS ids), not a sentence."""
    for value in values:
        if not value:
            continue
        value = _FIELD_LABEL_RE.sub("", normalize_whitespace(value)).strip(" 　【】[]()（）")
        if value and not value.isdigit() and len(value) <= _MAX_FIELD_LEN:
            return value
    return None
