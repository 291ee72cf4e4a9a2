"""Split a plain-text document that holds several articles (a seed file, a newspaper page) into articles.

Two structures mark where an article starts, and both are general:
- a markdown level-1 heading ('# 标题'); '## ' sub-headings stay inside their article;
- a newspaper headline block: one to three short, unpunctuated lines directly followed by a paragraph that opens
  with a dateline (本报讯…, 新华社…电).  The last headline line is the main title, unless it is a subtitle ('——…').
When neither is present the document is one article, titled by its first short line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ingest.extract import boilerplate
from ingest.extract.clean import clean_paragraphs, normalize_whitespace
from ingest.normalize import remove_cjk_spaces

logger = logging.getLogger(__name__)

_H1_RE = re.compile(r"^#\s+(.+)$")
_SUBHEADING_RE = re.compile(r"^#{2,6}\s+")
_DATELINE_RE = re.compile(r"^(?:本报讯|本台讯|本网讯|(?:新华社|中新社|中新网)\S{0,12}\d{1,2}月\d{1,2}日电)")
_SUBTITLE_RE = re.compile(r"^[—－-]{1,2}")
_TERMINAL = ("。", "！", "？", "!", "?", "；", ";", "…", ":", "：")
_MAX_HEADLINE = 40
_MAX_HEADLINE_LINES = 3
_MIN_PREAMBLE_CHARS = 100  # text before the first heading becomes an article only if it is this substantial
_TITLE_SEARCH_LINES = 5
# Articles taken from one document or page at most: a newspaper page holds a dozen; thousands of markers are
# an attack or a broken page, and splitting them all costs seconds and floods the store.
MAX_PARTS = 50


@dataclass
class SeedArticle:
    title: str
    paragraphs: list[str]  # cleaned
    index: int  # position within the file, 0-based


def split_seed_document(text: str) -> list[SeedArticle]:
    lines = [normalize_whitespace(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return []
    segments = _segments(lines)
    if len(segments) > MAX_PARTS:
        logger.warning("document holds %d articles; only the first %d are kept", len(segments), MAX_PARTS)
        segments = segments[:MAX_PARTS]
    articles: list[SeedArticle] = []
    for title, body in segments:
        paragraphs = clean_paragraphs([_SUBHEADING_RE.sub("", line) for line in body])
        if not title:
            title, paragraphs = _title_from_first_lines(paragraphs)
        if paragraphs:
            articles.append(SeedArticle(title=title, paragraphs=paragraphs, index=len(articles)))
    logger.debug("split document into %d articles", len(articles))
    return articles


def _segments(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(title, body lines) per article; title is "" when the structure does not name one."""
    starts = _markdown_starts(lines) or _headline_starts(lines)
    if not starts:
        return [("", lines)]
    segments: list[tuple[str, list[str]]] = []
    first = starts[0][0]
    preamble = lines[:first]
    if sum(len(line) for line in preamble if not _is_headline_like(line)) >= _MIN_PREAMBLE_CHARS or (
        preamble and _opens_with_headline_and_prose(preamble)
    ):
        segments.append(("", preamble))
    for n, (_start, body_start, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        segments.append((title, lines[body_start:end]))
    return segments


def _opens_with_headline_and_prose(preamble: list[str]) -> bool:
    """A preamble that opens with its own headline and has prose is the first article of a newspaper page."""
    return _is_headline_like(preamble[0]) and any(not _is_headline_like(line) for line in preamble[1:])


def _markdown_starts(lines: list[str]) -> list[tuple[int, int, str]]:
    starts = []
    for i, line in enumerate(lines):
        match = _H1_RE.match(line)
        if match:
            starts.append((i, i + 1, match.group(1).strip()))
    return starts


def _headline_starts(lines: list[str]) -> list[tuple[int, int, str]]:
    starts = []
    for i, line in enumerate(lines):
        if not _DATELINE_RE.match(line):
            continue
        run = 0
        while run < _MAX_HEADLINE_LINES and i - run - 1 >= 0 and _is_headline_like(lines[i - run - 1]):
            run += 1
        if run == 0:
            continue
        headline = lines[i - run : i]
        main = [h for h in headline if not _SUBTITLE_RE.match(h)] or headline
        starts.append((i - run, i, remove_cjk_spaces(main[-1])))
    return starts


def _is_headline_like(line: str) -> bool:
    line = line.strip()
    return (
        0 < len(line) <= _MAX_HEADLINE
        and not line.endswith(_TERMINAL)
        and not _DATELINE_RE.match(line)
        and not boilerplate.is_caption(remove_cjk_spaces(line))
        and not boilerplate.is_byline(line)
        and not boilerplate.is_furniture(line.replace(" ", ""))
    )


def _title_from_first_lines(paragraphs: list[str]) -> tuple[str, list[str]]:
    """The first short, unpunctuated line near the top is the title; it leaves the body."""
    for i, para in enumerate(paragraphs[:_TITLE_SEARCH_LINES]):
        if _is_headline_like(para) and len(para) >= 4:
            return para, paragraphs[:i] + paragraphs[i + 1 :]
    return "", paragraphs
