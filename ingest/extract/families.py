"""CMS families of the watched sites (sources.md): how to recognise each, and where it puts title, time and body."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

FAMILIES = ("hanweb", "epoint", "trs", "epaper")


@dataclass(frozen=True)
class FamilyRules:
    body: tuple[str, ...]  # XPath expressions, best first
    title: tuple[str, ...] = ()
    time: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    editor: tuple[str, ...] = ()


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


RULES: dict[str, FamilyRules] = {
    "hanweb": FamilyRules(
        body=("//*[@id='zoom']", "//*[@id='Zoom']", f"//div[{_cls('main-txt')}]"),
        title=(f"//*[{_cls('sp_title')}]", "//*[@id='sp_title']"),
        time=(f"//*[{_cls('sp_time')}]",),
    ),
    "epoint": FamilyRules(
        body=(
            f"//div[{_cls('mian-cont')}]",
            "//*[@id='Zoom']",
            "//*[@id='zoom']",
            f"//*[{_cls('ewb-article-info')}]",
            "//*[@id='UCAP-CONTENT']",
            f"//*[{_cls('article-info')}]//*[{_cls('con')}]",
        ),
        title=(
            f"//*[{_cls('ewb-article-tt')}]",
            f"//*[{_cls('article-title')}]",
            f"//*[{_cls('article-info')}]//h1",
        ),
        time=(f"//*[{_cls('ewb-article-sources')}]", f"//*[{_cls('article-info')}]"),
    ),
    "trs": FamilyRules(
        body=(f"//*[{_cls('TRS_Editor')}]", f"//*[{_cls('TRS_UEDITOR')}]"),
        time=("//*[@id='pubtime_baidu']",),
        source=("//*[@id='source_baidu']",),
        author=("//*[@id='author_baidu']",),
        editor=("//*[@id='editor_baidu']",),
    ),
    "epaper": FamilyRules(
        body=("//founder-content", "//*[@id='ozoom']", f"//*[{_cls('article-content')}]"),
        title=("//founder-title", "//h1"),
    ),
}

# Substrings, as the CMSs write them, that betray each family; case-sensitive substring tests (memchr fast)
# keep sniffing cheap on large pages.
_SNIFFERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("epaper", ("enpcontent", "founder-content")),
    ("hanweb", ("ContentStart", "ZJEG_RSS", "/jpage", "sp_title")),
    ("epoint", ("mian-cont", "ewb-", "EWB-FRONT", "webBuilderCommon", "EpointWebBuilder")),
    ("trs", ("TRS_", "pubtime_baidu", "source_baidu")),
)
_ENPPROPERTY_RE = re.compile(r"<!--\s*enpproperty(.*?)-->", re.IGNORECASE | re.DOTALL)


def sniff_family(html: str) -> str | None:
    """The CMS family a page comes from, judged from markers in the first 200 KB."""
    head = html[:200_000]
    for family, needles in _SNIFFERS:
        if any(needle in head for needle in needles):
            return family
    return None


def first_match(root: etree._Element, xpaths: tuple[str, ...]) -> etree._Element | None:
    for xpath in xpaths:
        try:
            found = root.xpath(xpath)
        except etree.XPathError:
            continue
        if found:
            return found[0]
    return None


def enpproperty(html: str) -> dict[str, str]:
    """Founder e-paper pages describe the article in a comment: <!--enpproperty <date>…</date><title>…</title>-->."""
    match = _ENPPROPERTY_RE.search(html)
    if not match:
        return {}
    return {k.lower(): v.strip() for k, v in re.findall(r"<(\w+)>([^<]*)</\1>", match.group(1)) if v.strip()}
