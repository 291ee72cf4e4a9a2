"""Stories: an article and its reposts and updates, with the earliest published copy as the first publisher."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from store import Article, Story

log = logging.getLogger(__name__)


def published_time(article: Article) -> datetime | None:
    """When a copy appeared: its publish time, else when we fetched it (seeds often carry no date)."""
    return article.published_at or article.fetched_at


def assign_story(session: Session, article: Article, of_id: int | None) -> Story:
    """Put a flushed article into the story of the article it repeats (or a new story) and fix the first publisher."""
    earlier = session.get(Article, of_id) if of_id is not None else None
    story: Story | None = None
    if earlier is not None and earlier.story_id is not None:
        story = session.get(Story, earlier.story_id)
    if story is None:
        first = earlier or article
        story = Story(first_article_id=first.id)
        session.add(story)
        session.flush()
        if earlier is not None:
            earlier.story_id = story.id
            session.add(earlier)
    article.story_id = story.id
    session.add(article)
    first = session.get(Article, story.first_article_id) if story.first_article_id is not None else None
    if first is None or _is_earlier(article, first):
        story.first_article_id = article.id
        session.add(story)
        log.debug("story=%s first publisher is now article=%s", story.id, article.id)
    session.flush()
    return story


def _is_earlier(a: Article, b: Article) -> bool:
    ta, tb = published_time(a), published_time(b)
    if ta is None or tb is None:
        return False
    return ta < tb


def story_members(session: Session, story_ids: Iterable[int]) -> dict[int, list[Article]]:
    """Every article of each story, first published first (ties by id), in one query whatever their number."""
    ids = sorted(set(story_ids))
    members: dict[int, list[Article]] = {sid: [] for sid in ids}
    if ids:
        for article in session.execute(select(Article).where(Article.story_id.in_(ids))).scalars():  # type: ignore[union-attr]
            members[article.story_id].append(article)  # type: ignore[index]
    for arts in members.values():
        arts.sort(key=lambda a: (published_time(a) is None, published_time(a) or a.fetched_at, a.id or 0))
    return members


def story_copies(session: Session, story_id: int) -> list[Article]:
    """Every article of a story, first published first (ties by id)."""
    return story_members(session, [story_id])[story_id]


def sites_of(copies: list[Article], first: Article | None = None) -> list[str]:
    """The distinct sites among a story's copies, the first publisher's first ("also on 3 sites")."""
    sites: list[str] = []
    for article in ([first] if first else []) + copies:
        site = article.site or article.source_name
        if site and site not in sites:
            sites.append(site)
    return sites


def story_sites(session: Session, story_id: int) -> list[str]:
    """The distinct sites that carry a story, first publisher's site first."""
    return sites_of(story_copies(session, story_id))
