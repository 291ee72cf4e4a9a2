"""Turn raw body paragraphs into clean display paragraphs.

Cleaning only removes or joins: it never writes a character that was not in its input (a property test holds it
to that).  Display text keeps the author's characters; the normalized form for matching lives in ingest.normalize.
"""

from __future__ import annotations

import logging
import re

from ingest.extract import boilerplate
from ingest.normalize import remove_cjk_spaces

logger = logging.getLogger(__name__)

_WS_RE = re.compile(r"[ \t\r\n\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff]+")
_MARKDOWN_HEADING_RE = re.compile(r"^#{1,6}\s+")
# A paragraph that ends like this finished its sentence; anything else may continue after a page break.
_TERMINAL = tuple("。！？!?；;…”’」』）)》】:：")
_OPENERS = tuple("“‘「『（(《【#■□●◆◇》/")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_MIN_BROKEN_LEN = 20  # a fragment shorter than this is more likely a heading than half a paragraph
_INNER_PUNCT_RE = re.compile(r"[，。、；,;]")  # headings have none; half a paragraph has some
_MIN_REPEAT_LEN = 12  # shorter paragraphs (e.g. 图片来源 lines) may legitimately repeat

_LABELS = {
    "来源": "source",
    "稿源": "source",
    "出处": "source",
    "信息来源": "source",
    "文章来源": "source",
    "作者": "author",
    "记者": "author",
    "文": "author",
    "撰稿": "author",
    "责任编辑": "editor",
    "责编": "editor",
    "编辑": "editor",
    "值班编辑": "editor",
    "原标题": "original_title",
    "原文地址": "original_url",
    "原文链接": "original_url",
    "时间": "time",
    "发布时间": "time",
    "信息发布时间": "time",
    "发布日期": "time",
    "日期": "time",
    "浏览次数": "views",
    "点击数": "views",
    "阅读数": "views",
    "阅读次数": "views",
    "字号": "font_size",
    "字体": "font_size",
}
_LABEL_ALT = "|".join(sorted(map(re.escape, _LABELS), key=len, reverse=True))
# A label starts the line or follows a separator, or a digit: info lines run "2020-11-06阅读次数：" together.
_LABEL_RE = re.compile(rf"(?:^|(?<=[\s【\[(（|｜\d]))({_LABEL_ALT})\s*[:：]\s*")
_META_LINE_RE = re.compile(rf"^[\s【\[(（]*(?:{_LABEL_ALT})\s*[:：]")
_MAX_META_LINE = 160


def normalize_whitespace(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def split_metadata_lines(paragraphs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Pull 来源/作者/责任编辑/原标题/原文地址 lines out of the body into fields; the first value of a field wins."""
    body: list[str] = []
    fields: dict[str, str] = {}
    for para in paragraphs:
        line = normalize_whitespace(para)
        if len(line) > _MAX_META_LINE or not _META_LINE_RE.match(line) or not _is_pure_metadata(line):
            body.append(para)
            continue
        for key, value in parse_labelled_line(line).items():
            fields.setdefault(key, value)
    return body, fields


def parse_labelled_line(line: str) -> dict[str, str]:
    """'时间：2024-01-02 来源：徐州日报 作者：张涛' → {"time": "2024-01-02", "source": "徐州日报", "author": "张涛"}."""
    matches = list(_LABEL_RE.finditer(line))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        value = line[match.end() : end].strip(" 　|｜/【】[]()（）,，;；")
        if value and _LABELS[match.group(1)] not in fields:
            fields[_LABELS[match.group(1)]] = value
    return fields


def clean_paragraphs(paragraphs: list[str]) -> list[str]:
    """Drop boilerplate, captions and bylines; repair page breaks; drop repeats; remove OCR spaces between CJK."""
    lines: list[str] = []
    total = sum(len(p) for p in paragraphs)
    seen = 0
    for para in paragraphs:
        seen += len(para)
        line = remove_cjk_spaces(normalize_whitespace(para))
        if not line:
            continue
        if boilerplate.is_footer_start(line) and not _CJK_SENTENCE_RE.search(line):
            logger.debug("footer starts at %r; dropping the rest", line[:40])
            break
        if boilerplate.is_tail_start(line) and seen > total / 2:
            logger.debug("recommendations start at %r; dropping the rest", line[:40])
            break
        if _is_noise(line):
            continue
        line = boilerplate.strip_dateline(line)
        if line:
            lines.append(line)
    return _drop_repeats(_join_page_breaks(_drop_control_runs(lines)))


_CONTROL_MAX = 4  # non-space chars of a widget label (a player's quality or speed switch …)
_CONTROL_RUN = 3
_ANY_PUNCT_RE = re.compile(r"[，。！？；：、,.!?;:“”\"']")


def _drop_control_runs(lines: list[str]) -> list[str]:
    """Drop runs of three or more tiny unpunctuated lines: the labels of a player or app widget, whatever they
    say.  Running text never breaks into lines that short; a list heading does not come three at a time."""

    def tiny(line: str) -> bool:
        return len(line.replace(" ", "")) <= _CONTROL_MAX and not _ANY_PUNCT_RE.search(line)

    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line and tiny(line):
            run.append(line)
            continue
        if len(run) < _CONTROL_RUN:
            out.extend(run)
        run = []
        if line:
            out.append(line)
    return out


# A footer line is chrome; a sentence that mentions 版权所有 in running text is not.
_CJK_SENTENCE_RE = re.compile(r"[\u4e00-\u9fff]{6,}[，。；][\u4e00-\u9fff]{4,}")


def _is_noise(line: str) -> bool:
    compact = line.replace(" ", "")
    return (
        boilerplate.is_furniture(compact)
        or boilerplate.is_notice(line)
        or boilerplate.is_caption(line)
        or boilerplate.is_byline(line)
        or boilerplate.is_time_line(line)
        or bool(_META_LINE_RE.match(line) and len(line) <= _MAX_META_LINE and _is_pure_metadata(line))
    )


def _is_pure_metadata(line: str) -> bool:
    """True when a labelled line is only labels and short values, not a sentence that starts with 作者：."""
    fields = parse_labelled_line(line)
    return bool(fields) and all(len(v) <= 60 for v in fields.values()) and "。" not in line


def _join_page_breaks(lines: list[str]) -> list[str]:
    """Join a long paragraph that stops mid-sentence with the paragraph that continues it."""
    out: list[str] = []
    for line in lines:
        if out and _is_broken(out[-1], line):
            out[-1] = out[-1] + line
        else:
            out.append(line)
    return out


def _is_broken(prev: str, nxt: str) -> bool:
    if len(prev) < _MIN_BROKEN_LEN or prev.endswith(_TERMINAL) or _MARKDOWN_HEADING_RE.match(nxt):
        return False
    if nxt.startswith(_OPENERS) or len(nxt) < 2 or not _INNER_PUNCT_RE.search(prev):
        return False
    # The break must fall inside Chinese running text: the fragment ends with a CJK char or a digit, and the
    # continuation starts with one.
    return bool(_CJK_RE.match(prev[-1]) or prev[-1].isdigit()) and bool(
        _CJK_RE.match(nxt[0]) or nxt[0].isdigit()
    )


_NON_WORD_RE = re.compile(r"[\W_]+")


def _repeat_key(line: str) -> str:
    """Letters and digits only: repeats within one page share script and width, so NFKC/opencc are not needed."""
    return _NON_WORD_RE.sub("", line).lower()


def _drop_repeats(lines: list[str]) -> list[str]:
    """Drop paragraphs that repeat an earlier one, or a fragment of it (page-break and layout duplicates)."""
    out: list[str] = []
    seen = ""  # earlier keys joined by a separator, so one substring search covers them all
    for line in lines:
        key = _repeat_key(line)
        if not key:
            continue
        if len(key) >= _MIN_REPEAT_LEN and key in seen:
            logger.debug("dropping repeated fragment %r", line[:40])
            continue
        out.append(line)
        seen += "\x00" + key
    return out
