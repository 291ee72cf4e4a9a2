"""Generic content-density extractor: find the element whose text is most article-like.

Every text block gets a weight: long, punctuated, link-poor text counts for its length; link lists, short
unpunctuated lines and blocks inside furniture (nav, footer, share bars, comments) count against.  Each element
scores the sum of its blocks' weights, and the best-scoring element is the article container — a maximum-weight
subtree: big enough to hold every paragraph, but it stops growing where the surrounding chrome costs more than
it adds.
"""

from __future__ import annotations

import statistics

from ingest.extract import boilerplate, pubtime
from ingest.extract.blocks import Block, Page

_LINK_DENSITY_MAX = 0.5
_MIN_TEXT_CHARS = 20  # a block this long is running text even without punctuation
_MIN_SENTENCE_CHARS = 8  # a block this long with punctuation is a sentence
_MIN_HEADLINE_LINK = 6  # a fully linked block this long is a headline pointing elsewhere
_MAX_FEED_ITEM_CHARS = 400  # a teaser (headline + summary) is short
_MIN_FEED_ITEMS = 3


def block_weight(block: Block) -> float:
    if block.negative >= 0:
        # Furniture, unless it reads like prose: class names mislead more often than punctuation does.
        if block.chars >= 60 and block.punct >= 3 and block.link_density < 0.2:
            return 0.25 * block.chars
        return -float(block.chars)
    if block.link_chars and block.link_density > _LINK_DENSITY_MAX:
        return -float(block.chars)
    if block.punct and block.chars >= _MIN_TEXT_CHARS and boilerplate.is_notice(block.text):
        return -float(
            block.chars
        )  # a long copyright or comment-rules notice must not outweigh a short article
    text_chars = block.chars - block.link_chars
    if block.chars >= _MIN_TEXT_CHARS or (block.punct and block.chars >= _MIN_SENTENCE_CHARS):
        # Punctuation is what separates prose from lists of names and titles.
        return text_chars * (1.0 if block.punct else 0.5) - 2 * block.link_chars
    if block.punct:
        return 0.0
    return -min(float(block.chars), 6.0)


def _is_headline_link(block: Block) -> bool:
    return block.chars >= _MIN_HEADLINE_LINK and block.link_density >= 0.9


def find_feed_items(page: Page) -> set[int]:
    """Elements that are items of a teaser list (a stream of other stories, "related news" with summaries).

    An item is a small element holding a linked headline, repeated at least three times under one parent with
    the same tag and class.  Their summaries read like prose, so without this a long stream outscores the one
    article it surrounds.
    """
    nodes, parents = page.nodes, page.parents
    chars = [0] * len(nodes)
    has_headline = [False] * len(nodes)
    for block in page.blocks:
        headline = _is_headline_link(block)
        node = block.node
        while node >= 0:
            chars[node] += block.chars
            if headline:
                has_headline[node] = True
            node = parents[node]
    groups: dict[tuple[int, str, str], list[int]] = {}
    for index, element in enumerate(nodes):
        if has_headline[index] and parents[index] >= 0:
            key = (parents[index], element.tag, element.get("class") or "")
            groups.setdefault(key, []).append(index)
    feed: set[int] = set()
    for members in groups.values():
        if (
            len(members) >= _MIN_FEED_ITEMS
            and statistics.median(chars[i] for i in members) <= _MAX_FEED_ITEM_CHARS
        ):
            feed.update(members)
    return feed


def _mark_subtrees(page: Page, roots: set[int]) -> list[bool]:
    """For every element: is it inside one of these subtrees (pre-order ranges make this a flat fill)."""
    marked = [False] * len(page.nodes)
    for root in roots:
        for node in range(root, page.ends[root] + 1):
            marked[node] = True
    return marked


def score_nodes(page: Page, feed_items: set[int] | None = None) -> list[float]:
    scores = [0.0] * len(page.nodes)
    parents = page.parents
    feed_items = find_feed_items(page) if feed_items is None else feed_items
    in_feed = _mark_subtrees(page, feed_items) if feed_items else None
    for block in page.blocks:
        weight = block_weight(block)
        if in_feed and weight > 0 and in_feed[block.node]:
            weight = -float(block.chars)
        if not weight:
            continue
        node = block.node
        while node >= 0:
            scores[node] += weight
            node = parents[node]
    return scores


def best_container(page: Page) -> tuple[int | None, set[int]]:
    """Pre-order number of the best-scoring element (None when nothing scores above zero) and the feed items."""
    if not page.nodes:
        return None, set()
    feed_items = find_feed_items(page)
    scores = score_nodes(page, feed_items)
    best = max(range(len(scores)), key=scores.__getitem__)
    if scores[best] <= 0:
        return None, feed_items
    return _article_column(page, best, scores), feed_items


_LAYOUT_TAGS = frozenset({"table", "tbody", "tr", "td"})
_MIN_COLUMN_SHARE = 0.25  # the article's column must hold at least this share of the layout's score
_TIME_LINE_CHARS = 80


def _article_column(page: Page, container: int, scores: list[float]) -> int:
    """In a layout table, the column that holds the article's time line.

    Old portal templates put the article in one cell of a layout table and navigation, related news and ads
    in the cells beside it; when those read like prose too, the whole table outscores the article's cell.  The
    cell that carries the labelled publish-time line (发布日期：…) is the article's: take the outermost such
    column cell inside the container, if it holds a fair share of the container's score."""
    nodes, parents = page.nodes, page.parents
    if nodes[container].tag not in _LAYOUT_TAGS and not any(
        nodes[i].tag == "td" for i in range(container + 1, min(page.ends[container] + 1, container + 50))
    ):
        return container
    line = next(
        (
            b
            for b in page.blocks
            if page.contains(container, b.node)
            and b.chars <= _TIME_LINE_CHARS
            and pubtime.has_time_label(b.text)
            and pubtime.find_time_in_line(b.text)
        ),
        None,
    )
    if line is None:
        return container
    column = None
    node = line.node
    while node > container:
        parent = parents[node]
        if nodes[node].tag == "td" and parent >= 0 and _cells_in_row(page, parent) >= 2:
            column = node
        node = parent
    if column is None or scores[column] < _MIN_COLUMN_SHARE * scores[container]:
        return container
    return column


def _cells_in_row(page: Page, row: int) -> int:
    return sum(1 for child in page.nodes[row] if getattr(child, "tag", None) in ("td", "th"))


def is_content_block(block: Block) -> bool:
    """Blocks kept from a body: not link lists."""
    return not (block.link_chars and block.link_density > _LINK_DENSITY_MAX and block.chars < 200)


def container_blocks(page: Page, container: int, feed_items: set[int] | None = None) -> list[Block]:
    """The container's blocks, minus link lists, teaser items and furniture nested inside it (furniture around
    the container does not count: the container was chosen despite it)."""
    nested_feed = {i for i in feed_items or () if i > container and page.contains(container, i)}
    in_feed = _mark_subtrees(page, nested_feed) if nested_feed else None
    return [
        b
        for b in page.blocks
        if page.contains(container, b.node)
        and is_content_block(b)
        and not (b.negative > container and page.contains(container, b.negative))
        and not (in_feed and in_feed[b.node])
    ]
