"""A second opinion for pages where the primary (density) extractor looks like it collapsed.

The primary method is fast and right on most pages, but when it fails it fails whole: an empty body, a
copyright paragraph, a "related news" list.  Those failures have shapes that are cheap to measure from what the
primary already computed (body length against the page's prose, the share of furniture lines in the body), so
the independent method — readability-lxml, a paragraph-scoring extractor with a different model of a page — only
runs on suspect pages, and its answer replaces the primary's only when it measures better by the same rules.

Every threshold lives in `Policy`, so the bench can tune them on half of the dev pages and report on the other.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ingest.extract.blocks import Page, flatten, parse_html, sanitize
from ingest.extract.boilerplate import is_notice

logger = logging.getLogger(__name__)

# Lines that are site furniture by what they say (legal notices, comment prompts, platform disclaimers): kinds
# of line, as in boilerplate.py, not any site's wording.
_LEGAL_RE = re.compile(
    r"版权所有|版权归|Copyright|©|ICP[备证]|公网安备|转载|不代表本|免责|信息存储服务|不良信息|举报电话|"
    r"发表评论|网友评论|我要评论|评论\d|登录后|请登录|注册|联系我们|主办单位|承办单位|技术支持",
    re.IGNORECASE,
)
_PROSE_PUNCT_RE = re.compile(r"[，。！？；]")
_SHORT_LINE = 40  # an unpunctuated line this short is a title, a label or a control, not running text
_LEGAL_LINE = 200


@dataclass(frozen=True)
class Policy:
    min_chars: int = 40  # a body shorter than this is a collapse
    max_furniture: float = 0.5  # share of body chars in furniture-shaped lines above this: a collapse
    # Length alone: a body below min_coverage of the page's prose is suspect, and the second opinion wins if it
    # is `gain` times longer.  inf disables it (on the dev pages it traded right short bodies for wrong long ones).
    min_coverage: float = 0.25
    gain: float = float("inf")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class BodyStats:
    chars: int  # non-space characters
    furniture: (
        float  # share of chars in lines shaped like furniture (legal notices, short unpunctuated lines)
    )
    prose: float  # sentence punctuation per 100 chars

    @classmethod
    def of(cls, paragraphs: list[str]) -> BodyStats:
        total = furn = 0
        for para in paragraphs:
            n = len(para) - para.count(" ")
            total += n
            if n > _LEGAL_LINE:
                continue  # running text: only short lines can be furniture
            if (
                (n <= _SHORT_LINE and not _PROSE_PUNCT_RE.search(para))
                or _LEGAL_RE.search(para)
                or is_notice(para)
            ):
                furn += n
        punct = len(_PROSE_PUNCT_RE.findall("".join(paragraphs))) if total else 0
        return cls(total, furn / total if total else 0.0, 100.0 * punct / total if total else 0.0)


def page_prose_chars(page: Page) -> int:
    """Characters of the page's link-poor, punctuated blocks: roughly all the running text on it."""
    return sum(b.chars for b in page.blocks if b.punct >= 2 and b.chars >= 20 and b.link_density < 0.3)


def suspect(stats: BodyStats, page_prose: int, policy: Policy = DEFAULT_POLICY) -> bool:
    """Does the primary body look like a collapse (empty, tiny against the page, or mostly furniture)?"""
    if stats.chars < policy.min_chars or stats.furniture > policy.max_furniture:
        return True
    # Only worth a second run when length alone could make the second opinion win.
    return policy.gain != float("inf") and bool(page_prose) and stats.chars < policy.min_coverage * page_prose


def prefer_second(primary: BodyStats, second: BodyStats, policy: Policy = DEFAULT_POLICY) -> bool:
    """Measured rules for taking the second opinion over a suspect primary body."""
    if second.chars < policy.min_chars or second.furniture > policy.max_furniture:
        return False
    if primary.chars < policy.min_chars:
        return True
    if primary.furniture > policy.max_furniture:
        return second.furniture < primary.furniture / 2  # clearly less furniture, not just under the line
    # Longer by a clear margin, and at least as much like prose: more article, not more page.
    return second.chars >= policy.gain * primary.chars and second.prose >= 0.6 * primary.prose


def second_opinion(html: str) -> list[str]:
    """readability-lxml's body as raw paragraphs (block texts of its summary); [] when it finds nothing."""
    try:
        from readability import Document

        summary = Document(sanitize(html)).summary(html_partial=True)
    except Exception as exc:  # noqa: BLE001 - a failing second opinion just leaves the primary's answer
        logger.debug("second opinion failed: %s", exc)
        return []
    page = flatten(parse_html(summary)) if summary.strip() else None
    return [b.text for b in page.blocks] if page else []
