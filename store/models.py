"""Database tables (SQLModel). One module so the schema can be read in one place.

Times are stored as timezone-aware UTC datetimes; JSON columns hold lists and dicts produced by the stages.
Schema changes go through Alembic (xznews/migrations); `store.db.init_db` upgrades to head.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone: store UTC, give it back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: xznews stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


def _ts_default(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, **kw))


class Source(SQLModel, table=True):
    """A watched site, mirrored from config/sources.toml, with its health."""

    __tablename__ = "sources"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    kind: str = Field(max_length=30)
    url: str = Field(sa_column=Column(Text, nullable=False))
    last_run_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_new_at: datetime | None = _ts()
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_items: int = 0  # article links found on the last successful run
    last_new: int = 0  # of which new articles stored
    next_try_at: datetime | None = _ts()
    # Why the source needs a person's attention (failing, silent, empty listings), or None; set on every run.
    flagged: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts_default()


class HttpCache(SQLModel, table=True):
    """Validators for conditional GET, per URL."""

    __tablename__ = "http_cache"
    url: str = Field(sa_column=Column(Text, primary_key=True))
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    fetched_at: datetime = _ts_default()


class Story(SQLModel, table=True):
    """A group of articles that tell the same story: the first publisher and its copies."""

    __tablename__ = "stories"
    id: int | None = Field(default=None, primary_key=True)
    first_article_id: int | None = Field(default=None, index=True)
    created_at: datetime = _ts_default()


class Article(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_fetched_at", "fetched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    url: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    canonical_url: str | None = Field(default=None, sa_column=Column(Text, index=True))
    source_name: str = Field(index=True, max_length=100)  # a configured source, or "seed"
    site: str | None = Field(default=None, max_length=200)  # host, for "also on N sites"
    title: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime | None = _ts()
    fetched_at: datetime = _ts_default()
    origin: str | None = Field(default=None, max_length=300)  # 来源 line as published
    author: str | None = Field(default=None, max_length=300)
    editor: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))  # display paragraphs joined by "\n"
    extractor: str | None = Field(default=None, max_length=12)  # primary | fallback; None before 0007
    # dedupe
    text_hash: str = Field(index=True, max_length=64)  # sha256 of the normalized matching key
    signature: list[int] | None = Field(default=None, sa_column=Column(JSON))  # near-duplicate fingerprint
    verdict: str = Field(default="new", max_length=12)  # new | duplicate | update
    duplicate_of_id: int | None = Field(default=None, foreign_key="articles.id", index=True)
    similarity: float | None = None
    new_paragraphs: list[int] | None = Field(default=None, sa_column=Column(JSON))  # for updates
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    # classification
    clusters: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    xuzhou_score: float = 0.0
    development_score: float = 0.0
    alertable: bool = True  # passes its source's relevance gate and is not a duplicate
    is_seed: bool = False
    seed_ref: str | None = Field(default=None, max_length=100, unique=True)  # "004_caf9…#2"


class LshBand(SQLModel, table=True):
    """Near-duplicate index: one row per (article, band) of its signature. B-tree on the band hash."""

    __tablename__ = "lsh_bands"
    __table_args__ = (Index("ix_lsh_bands_key", "band", "hash"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    band: int
    hash: int = Field(sa_column=Column(BigInteger, nullable=False))


class ChunkHash(SQLModel, table=True):
    """Containment index: hashes of the content-defined chunks of every stored article's text."""

    __tablename__ = "chunk_hashes"
    __table_args__ = (Index("ix_chunk_hashes_hash", "hash"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    hash: int = Field(sa_column=Column(BigInteger, nullable=False))


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscribers"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    confirmed: bool = True
    confirm_token: str | None = Field(default=None, max_length=64, unique=True)
    unsubscribe_token: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts_default()
    unsubscribed_at: datetime | None = _ts()


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscribers.id", index=True)
    name: str = Field(default="", max_length=200)
    clusters: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )  # any of; [] = all
    keywords: str | None = Field(default=None, sa_column=Column(Text))  # watched-keyword query
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = all
    include_mentions: bool = False
    frequency: str = Field(default="daily", max_length=12)  # immediate | daily | weekly
    at_time: str = Field(default="08:00", max_length=5)  # HH:MM, local time
    weekday: int = 0  # 0 = Monday, for weekly
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    send_empty: bool = False
    channels: list[str] = Field(default_factory=lambda: ["email"], sa_column=Column(JSON, nullable=False))
    active: bool = True
    # Bounce policy (alerts/dispatch.py): windows that failed permanently in a row; reset by a success.
    consecutive_failures: int = 0
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text))  # why dispatch turned it off
    # A subscription made on the web waits for its address's owner: active once /confirm/{confirm_token} is used.
    confirm_token: str | None = Field(default=None, max_length=64, unique=True)
    confirmed_at: datetime | None = _ts()
    # The window of the next digest starts here: the end of the last successful delivery.
    last_success_at: datetime | None = _ts()
    created_at: datetime = _ts_default()
    # 项目动态 filters (migration 0006): stages shown ([] = all) and the smallest total investment, in 亿元.
    project_stages: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    project_min_amount: float | None = None


class Delivery(SQLModel, table=True):
    """One digest for one (subscription, window). The unique key is what makes a digest go out once."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "window_start", name="uq_delivery_window"),)
    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscriptions.id", index=True)
    channel: str = Field(default="email", max_length=20)
    window_start: datetime = _ts(nullable=False)
    window_end: datetime = _ts(nullable=False)
    # pending | sending | sent-pending (handed to SMTP, outcome unknown) | sent | failed | empty | unknown
    status: str = Field(default="pending", max_length=12, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    message_id: str | None = Field(default=None, max_length=300)
    article_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Channels ("email", "wecom:…") already delivered for this window: a retry skips them.
    channels_done: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claimed_at: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    # Set just before the end of DATA: from here on the server may have the message (see alerts/dispatch.py).
    sent_pending_at: datetime | None = _ts()
    unknown_resends: int = 0  # an unknown-outcome message is re-sent at most once
    created_at: datetime = _ts_default()


class Project(SQLModel, table=True):
    """One investment project followed across stories (ingest/projects): its facts are its timeline."""

    __tablename__ = "projects"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))  # as first reported
    name_key: str = Field(index=True, max_length=200)  # ingest.projects name_key(), for merging
    company: str | None = Field(default=None, max_length=300)
    company_key: str | None = Field(default=None, index=True, max_length=100)
    place: str | None = Field(default=None, index=True, max_length=100)  # gazetteer canonical name
    stage: str | None = Field(default=None, index=True, max_length=12)  # the most advanced reported
    amount_yi: float | None = None  # the largest total investment stated
    # Every distinct figure with the article that stated it: a conflicting figure is kept, not overwritten.
    amounts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    clusters: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_reported_at: datetime | None = _ts()
    last_reported_at: datetime | None = _ts(index=True)
    created_at: datetime = _ts_default()


class ProjectReport(SQLModel, table=True):
    """One article's fact about a project: what it says is happening now, where, for how much."""

    __tablename__ = "project_facts"
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", index=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    company: str | None = Field(default=None, max_length=300)
    amount_yi: float | None = None
    stage: str | None = Field(default=None, max_length=12)
    place: str | None = Field(default=None, max_length=100)
    clusters: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    reported_at: datetime | None = _ts()  # the article's publication time, else when it was fetched
    seen_at: datetime | None = _ts(index=True)  # when the article was fetched: digest windows use this
    # What this fact changed: "new" (first report), "stage" (a stage not reported before), or "".
    change: str = Field(default="", max_length=12)


from store import search as _search  # noqa: E402,F401  (registers the search-index events on Article)
