"""Send every digest that is due, exactly once: the database is the queue.

Life of a delivery (one row per subscription and window, unique on (subscription_id, window_start)):

1. **Claim.** For a due subscription the window is (anchor, now], the anchor being the end of its last
   successful delivery (or its creation), so downtime loses nothing: the next digest covers it. The
   dispatcher composes the digest and INSERTs the row as ``sending``; a second dispatcher racing for the
   same window hits the unique constraint and skips. Re-claiming an existing row (a retry, a stale claim,
   a reopened failure) is a conditional UPDATE whose row count says who won.
2. **Send.** The Message-ID is deterministic (``<xznews.d{id}.{window_end_ts}@domain>``) and the content is
   re-rendered from the row's article ids, so every attempt for a window sends the same message. Each
   channel (email, each bot) that succeeds is written to ``channels_done`` at once; a retry skips it.
3. **Record.** All channels done → ``sent`` and the subscription's anchor moves to the window end, in one
   transaction. A transient error (SMTP 4xx, refused connection, timeout, bot rate limit) → ``pending``
   with ``attempts``, ``next_attempt_at`` (backoff 1, 5, 15, 30, 60, 120, 240 min) and ``last_error``;
   after MAX_ATTEMPTS it becomes ``failed``. A permanent error (SMTP 5xx, bot errcode) → ``failed`` with
   the error, shown by ``xznews status``; the anchor stays, so the next scheduled slot (at least
   REOPEN_AFTER later) reopens the row over the longer window. If some channel succeeded and the others
   failed permanently the window is closed as ``sent`` with the error kept on the row.
   A window with nothing to send is recorded as ``empty`` and closes like a sent one (unless the
   subscription asks for empty digests); immediate subscriptions record nothing when no article arrived.

Windows close a settle lag behind the clock. Ingest stamps ``Article.fetched_at`` in Python and commits a
moment later (after dedupe, possibly after waiting for a lock), so at the instant a dispatcher reads the
articles, one stamped ``now - 1 s`` may not be visible yet. Had the window closed at ``now``, its anchor
would move past that article and no later window would ever include it. So every round works on a horizon
``now - digest_settle_s`` (default 120 s, far longer than any ingest transaction) as its clock: windows end
at the horizon, due-ness is judged at the horizon (so a window always ends at or after the slot it serves
and the same slot is never due twice), and only articles committed well before are read. The price is that
a digest leaves at least the lag after its slot. Selecting by ``Article.id`` instead would not be correct:
ids are handed out at INSERT, not in commit order (a PostgreSQL sequence is not transactional). Claim,
retry and send times (``claimed_at``, ``next_attempt_at``, ``sent_at``) stay on the real clock. A caller
that knows no ingest is in flight (the demo, right after its own ingest) may pass ``settle_s=0``.

The remaining crash window: the process dies after the SMTP server accepted the message (or after the
outbox rename, or the bot post) and before ``channels_done``/``sent`` is committed. The row then stays
``sending``; once its claim is older than STALE_CLAIM (15 min, far beyond the SMTP timeout) the next
dispatcher re-claims it and re-sends the *same* message with the *same* Message-ID, so receiving servers and
clients that deduplicate on Message-ID show it once, and an outbox file is simply overwritten. A bot has
no such id: a crash in that instant can post one message twice. Nothing is ever lost, and a duplicate can
only come from a crash inside that window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from alerts import bots, mail
from alerts.digest import Digest, compose, load_stories
from alerts.match import ArticlePool, Matcher, articles_by_ids, candidate_articles, match_articles
from alerts.render import render_digest, render_markdown
from alerts.schedule import anchor_of, is_due, next_due
from alerts.subscribers import unsubscribe_mailto, unsubscribe_url
from core.errors import PermanentError, TransientError
from core.settings import Settings
from store import Delivery, Source, Subscriber, Subscription, session_scope, utcnow

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)
REOPEN_AFTER = timedelta(hours=6)
MAX_ATTEMPTS = 8
BACKOFF_MIN = (1, 5, 15, 30, 60, 120, 240)
OPEN = ("pending", "sending")


@dataclass
class DispatchReport:
    sent: int = 0
    empty: int = 0
    failed: int = 0  # permanent failures
    retrying: int = 0  # transient failures, to be retried
    skipped: int = 0  # claimed by another dispatcher, or not deliverable any more
    deliveries: list[tuple[int, str, str, str | None, str]] = field(default_factory=list)

    def add(self, sub_id: int, email: str, status: str, message_id: str | None, where: str) -> None:
        self.deliveries.append((sub_id, email, status, message_id, where))
        attr = {"sent": "sent", "empty": "empty", "failed": "failed", "pending": "retrying"}.get(
            status, "skipped"
        )
        setattr(self, attr, getattr(self, attr) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "empty": self.empty,
            "failed": self.failed,
            "retrying": self.retrying,
            "skipped": self.skipped,
            "deliveries": [
                {"subscription_id": s, "email": e, "status": st, "message_id": m, "via": w}
                for s, e, st, m, w in self.deliveries
            ],
        }


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=BACKOFF_MIN[min(max(attempts, 1), len(BACKOFF_MIN)) - 1])


# ------------------------------------------------------------------------------------------- composing


def source_notes(session: Session, sub: Subscription, shared: dict) -> list[tuple[str, str]]:
    """Flagged sources among those the subscription reads (all, or its own list), looked up once a round."""
    if "flagged" not in shared:
        rows = session.exec(select(Source).where(col(Source.flagged).is_not(None)).order_by(col(Source.name)))
        shared["flagged"] = [(s.name, s.flagged or "") for s in rows]
    return [(name, why) for name, why in shared["flagged"] if not sub.sources or name in sub.sources]


def compose_for(
    session: Session,
    settings: Settings,
    sub: Subscription,
    subscriber: Subscriber,
    start: datetime,
    end: datetime,
    articles: ArticlePool | list | None = None,
    shared: dict | None = None,
) -> Digest:
    """The digest of `sub` for (start, end].

    In a dispatch round, `articles` is the pool shared by every subscription and `shared` holds the
    round's caches (keyword results, story facts, built items) so each is computed once.
    """
    shared = shared if shared is not None else {}
    pool = articles if articles is not None else candidate_articles(session, start, end)
    matches = match_articles(sub, pool, start, end, shared.get("cache"))
    stories = shared.get("stories")
    if stories is None:
        stories = load_stories(session, [m.article for m in matches])
    return compose(
        sub,
        subscriber.email,
        matches,
        stories,
        start,
        end,
        unsubscribe_url(settings, subscriber.unsubscribe_token),
        shared.get("items"),
        source_notes(session, sub, shared),
    )


def _recompose(
    session: Session, settings: Settings, sub: Subscription, subscriber: Subscriber, d: Delivery
) -> Digest:
    """The digest a claimed row stands for, rebuilt from its article ids (the same message on every attempt)."""
    matcher = Matcher(sub)
    matches = [m for a in articles_by_ids(session, d.article_ids) if (m := matcher.match(a)) is not None]
    stories = load_stories(session, [m.article for m in matches])
    return compose(
        sub,
        subscriber.email,
        matches,
        stories,
        d.window_start,
        d.window_end,
        unsubscribe_url(settings, subscriber.unsubscribe_token),
    )


# -------------------------------------------------------------------------------------------- claiming


def _deliverable(sub: Subscription, subscriber: Subscriber) -> bool:
    return sub.active and subscriber.confirmed and subscriber.unsubscribed_at is None


def _claim_new(
    engine: Engine, settings: Settings, sub: Subscription, digest: Digest, status: str, now: datetime
) -> int | None:
    """INSERT the row for this window; None when another dispatcher already has it."""
    sub_id = sub.id
    channel = "+".join(dict.fromkeys(c.split(":", 1)[0] for c in sub.channels))  # "email+wecom"
    try:
        with session_scope(engine) as session:
            d = Delivery(
                subscription_id=sub_id,
                channel=channel[:20],
                window_start=digest.window_start,
                window_end=digest.window_end,
                status=status,
                attempts=0 if status == "empty" else 1,
                article_ids=digest.article_ids,
                claimed_at=now,
            )
            session.add(d)
            session.flush()
            d.message_id = mail.message_id(d.id, d.window_end, mail.mail_domain(settings))
            if status == "empty":
                d.sent_at = now
                _advance(session, sub_id, d.window_end)
            return d.id
    except IntegrityError:
        log.info("window already claimed subscription=%s window_start=%s", sub_id, digest.window_start)
        return None


def _claim_existing(engine: Engine, d: Delivery, now: datetime, **changes: Any) -> bool:
    """Conditional UPDATE from the state we saw; True when this dispatcher won the row."""
    cond = [col(Delivery.id) == d.id, col(Delivery.status) == d.status]
    if d.status == "sending":
        cond.append(col(Delivery.claimed_at) == d.claimed_at)
    with session_scope(engine) as session:
        values = {"status": "sending", "claimed_at": now, "attempts": Delivery.attempts + 1, **changes}
        result = session.exec(update(Delivery).where(*cond).values(**values))  # type: ignore[call-overload]
        return result.rowcount == 1


def _advance(session: Session, sub_id: int, window_end: datetime) -> None:
    sub = session.get(Subscription, sub_id)
    if sub is not None and (sub.last_success_at is None or sub.last_success_at < window_end):
        sub.last_success_at = window_end


# --------------------------------------------------------------------------------------------- sending


def _send_channels(
    settings: Settings,
    d: Delivery,
    sub: Subscription,
    digest: Digest,
    engine: Engine,
    now: datetime,
    fragments: dict | None = None,
) -> tuple[list[str], list[Exception], str]:
    """Send on every channel not yet done; record each success at once. Returns (done, errors, where)."""
    done = list(d.channels_done)
    errors: list[Exception] = []
    where = ""
    rendered = None
    for channel in sub.channels:
        if channel in done:
            continue
        try:
            if channel == "email":
                rendered = rendered or render_digest(digest, fragments)
                msg = mail.build_message(
                    settings,
                    digest.email,
                    rendered,
                    d.message_id or mail.message_id(d.id or 0, d.window_end, mail.mail_domain(settings)),
                    digest.unsubscribe_url,
                    unsubscribe_mailto(settings),
                    now,
                )
                where = mail.deliver(settings, msg, digest.email)
            elif bots.is_bot_channel(channel):
                title, markdown = render_markdown(digest)
                bots.post(bots.parse_bot(channel), title, markdown)
                where = where or "bot"
            else:
                raise PermanentError(f"unknown channel {channel!r}")
        except (TransientError, PermanentError) as exc:
            log.warning(
                "delivery failed delivery=%s channel=%s error=%s", d.id, channel.split(":", 1)[0], exc
            )
            errors.append(exc)
            continue
        done.append(channel)
        _mark_done(engine, d.id or 0, done)
    return done, errors, where


def _mark_done(engine: Engine, delivery_id: int, done: list[str]) -> None:
    # The crash window closes here for this channel: from now on a retry skips it.
    with session_scope(engine) as session:
        stmt = update(Delivery).where(col(Delivery.id) == delivery_id).values(channels_done=list(done))
        session.exec(stmt)  # type: ignore[call-overload]


def _record(
    engine: Engine, delivery_id: int, done: list[str], errors: list[Exception], now: datetime
) -> Delivery:
    """Close the attempt: sent (and move the anchor), pending with backoff, or failed."""
    transient = [e for e in errors if isinstance(e, TransientError)]
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.last_error = "; ".join(str(e) for e in errors)[:2000] or None
        if not errors or (done and not transient):
            row.status, row.sent_at, row.next_attempt_at = "sent", now, None
            _advance(session, row.subscription_id, row.window_end)
        elif transient and row.attempts < MAX_ATTEMPTS:
            row.status, row.next_attempt_at = "pending", now + backoff(row.attempts)
        else:
            row.status, row.next_attempt_at = "failed", None
        return row


def _send_claimed(
    engine: Engine,
    settings: Settings,
    delivery_id: int,
    now: datetime,
    report: DispatchReport,
    digest: Digest | None = None,
    shared: dict | None = None,
) -> None:
    """Send a row this dispatcher has claimed. `digest` is the one just composed for a new claim; retries
    rebuild it from the row's article ids."""
    with session_scope(engine) as session:
        d = session.get(Delivery, delivery_id)
        sub = session.get(Subscription, d.subscription_id) if d else None
        subscriber = session.get(Subscriber, sub.subscriber_id) if sub else None
        if d is None or sub is None or subscriber is None:
            return
        if not _deliverable(sub, subscriber):
            d.status, d.last_error = "cancelled", "subscriber unsubscribed or subscription inactive"
            report.add(sub.id, subscriber.email, "cancelled", d.message_id, "")
            return
        if digest is None:
            digest = _recompose(session, settings, sub, subscriber, d)
    fragments = shared.get("fragments") if shared else None
    done, errors, where = _send_channels(settings, d, sub, digest, engine, now, fragments)
    row = _record(engine, delivery_id, done, errors, now)
    status = row.status
    log.info("delivery recorded delivery=%s subscription=%s status=%s", delivery_id, sub.id, status)
    report.add(
        sub.id or 0,
        subscriber.email,
        status,
        d.message_id,
        where if status == "sent" else row.last_error or "",
    )


# ------------------------------------------------------------------------------------------ the round


def dispatch_due(
    engine: Engine, settings: Settings, now: datetime | None = None, *, settle_s: float | None = None
) -> DispatchReport:
    """One round: retry what is due for retry, re-send stale claims, then send every due digest.

    Windows end at `now` less the settle lag (`settle_s`, default `settings.digest_settle_s`).
    """
    now = now or utcnow()
    horizon = now - timedelta(seconds=settings.digest_settle_s if settle_s is None else settle_s)
    report = DispatchReport()
    _retry_open(engine, settings, now, report)
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(Subscription, Subscriber)
            .join(Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id))
            .where(Subscription.active == True)  # noqa: E712
            .where(Subscriber.confirmed == True)  # noqa: E712
            .where(col(Subscriber.unsubscribed_at).is_(None))
            .order_by(col(Subscription.id))
        ).all()
        due = [(s, p) for s, p in rows if anchor_of(s) < horizon and is_due(s, horizon)]
        if not due:
            return report
        pool = ArticlePool(candidate_articles(session, min(anchor_of(s) for s, _ in due), horizon))
        shared = {"cache": {}, "stories": load_stories(session, pool.articles), "items": {}, "fragments": {}}
        for sub, subscriber in due:
            _dispatch_one(engine, session, settings, sub, subscriber, pool, shared, now, horizon, report)
    log.info(
        "dispatch done sent=%d empty=%d failed=%d retrying=%d skipped=%d",
        report.sent,
        report.empty,
        report.failed,
        report.retrying,
        report.skipped,
    )
    return report


def _retry_open(engine: Engine, settings: Settings, now: datetime, report: DispatchReport) -> None:
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery).where(
                ((col(Delivery.status) == "pending") & (col(Delivery.next_attempt_at) <= now))
                | ((col(Delivery.status) == "sending") & (col(Delivery.claimed_at) <= now - STALE_CLAIM))
            )
        ).all()
    for d in rows:
        if d.status == "sending":
            log.warning("re-sending a stale claim delivery=%s claimed_at=%s", d.id, d.claimed_at)
        if _claim_existing(engine, d, now):
            _send_claimed(engine, settings, d.id, now, report)


def _dispatch_one(
    engine: Engine,
    session: Session,
    settings: Settings,
    sub: Subscription,
    subscriber: Subscriber,
    pool: ArticlePool,
    shared: dict,
    now: datetime,
    horizon: datetime,
    report: DispatchReport,
) -> None:
    """Claim and send `sub`'s window (anchor, horizon]; `now` is the real clock for claim and send times."""
    start = anchor_of(sub)
    existing = session.exec(
        select(Delivery).where(Delivery.subscription_id == sub.id).where(Delivery.window_start == start)
    ).first()
    if existing is not None and existing.status != "failed":
        if existing.status not in OPEN:  # closed but the anchor did not move: repair it
            with session_scope(engine) as s:
                _advance(s, sub.id, existing.window_end)
        return
    if existing is not None and horizon < max(
        next_due(sub, existing.window_end), existing.window_end + REOPEN_AFTER
    ):
        return  # a permanent failure waits for the next slot
    if sub.frequency == "immediate" and not any(start < a.fetched_at <= horizon for a in pool):
        return  # nothing arrived: no row, no work
    digest = compose_for(session, settings, sub, subscriber, start, horizon, pool, shared)
    status = "empty" if digest.is_empty and not sub.send_empty else "sending"
    if existing is not None:
        # Reopen a failed window over (anchor, horizon]: a new window end, so a new Message-ID.
        msg_id = mail.message_id(existing.id, horizon, mail.mail_domain(settings))
        won = _claim_existing(
            engine,
            existing,
            now,
            window_end=horizon,
            article_ids=digest.article_ids,
            channels_done=[],
            attempts=1,
            message_id=msg_id,
            last_error=None,
        )
        if not won:
            report.add(sub.id, subscriber.email, "skipped", None, "")
            return
        delivery_id = existing.id
        if status == "empty":
            with session_scope(engine) as s:
                row = s.get(Delivery, delivery_id)
                row.status, row.sent_at = "empty", now
                _advance(s, sub.id, horizon)
            report.add(sub.id, subscriber.email, "empty", None, "")
            return
    else:
        delivery_id = _claim_new(engine, settings, sub, digest, status, now)
        if delivery_id is None:
            report.add(sub.id, subscriber.email, "skipped", None, "")
            return
        if status == "empty":
            report.add(sub.id, subscriber.email, "empty", None, "")
            return
    _send_claimed(engine, settings, delivery_id, now, report, digest, shared)
