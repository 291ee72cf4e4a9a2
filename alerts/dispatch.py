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

**No second copy, no lost digest.** Just before the final dot of DATA (the moment the SMTP server may take
the message), the row is committed as ``sent-pending`` with ``sent_pending_at``; if that commit fails (the
database is down) the dot is never sent and nothing was delivered. After the server's 250 the channel is
recorded done. So:

- a crash or outage *before* the dot leaves ``sending``: the message was not delivered; after STALE_CLAIM the
  next dispatcher re-claims and sends it;
- a timeout or drop *after* the dot (the server's final reply may take 10 minutes, RFC 5321 §4.5.3.2.6; we wait
  ``smtp.data_timeout_s``), or a crash or outage between the 250 and the record, leaves ``sent-pending``: the
  outcome is unknown. The anchor moves on (later digests are not held back), and the same message, with the
  same Message-ID, is re-sent once only after ``digest_unknown_quiet_h`` (default 24 h) of quiet; should that
  attempt end unknown too, the row closes as ``unknown``. ``xznews status`` lists these rows.

A bot post has no Message-ID and no commit point: a crash between the post and its record re-posts it once
the claim is stale.

**One subscription never stops the round.** Any error while composing or sending one subscription's digest is
recorded on its delivery row (an unexpected error counts as a transient one, against MAX_ATTEMPTS) and the
round goes on. A composing error fails that window. Permanent failures count on the subscription
(``consecutive_failures``); a failed window reopens at the next slot, no sooner than REOPEN_AFTER doubled per
failure, and after ``digest_disable_after`` consecutive failures the subscription is disabled with the reason
(bounce policy). A digest carries at most ``digest_max_items`` items (the newest); the rest are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from alerts.subscribers import archive_url, unsubscribe_mailto, unsubscribe_url
from core.errors import PermanentError, TransientError
from core.settings import Settings
from store import Delivery, Source, Subscriber, Subscription, session_scope, utcnow

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)
REOPEN_AFTER = timedelta(hours=6)
MAX_ATTEMPTS = 8
BACKOFF_MIN = (1, 5, 15, 30, 60, 120, 240)
OPEN = ("pending", "sending")
SENT_PENDING = "sent-pending"
# Closed rows: the anchor has moved past them ("sent-pending" may still be re-sent once, see above).
CLOSED = ("sent", "empty", SENT_PENDING, "unknown", "cancelled")


@dataclass
class DispatchReport:
    sent: int = 0
    empty: int = 0
    failed: int = 0  # permanent failures
    retrying: int = 0  # transient failures, to be retried
    skipped: int = 0  # claimed by another dispatcher, or not deliverable any more
    unknown: int = 0  # handed to the server, no reply: re-sent once after the quiet period
    deliveries: list[tuple[int, str, str, str | None, str]] = field(default_factory=list)

    def add(self, sub_id: int, email: str, status: str, message_id: str | None, where: str) -> None:
        self.deliveries.append((sub_id, email, status, message_id, where))
        attr = {
            "sent": "sent",
            "empty": "empty",
            "failed": "failed",
            "pending": "retrying",
            SENT_PENDING: "unknown",
            "unknown": "unknown",
        }.get(status, "skipped")
        setattr(self, attr, getattr(self, attr) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "empty": self.empty,
            "failed": self.failed,
            "retrying": self.retrying,
            "skipped": self.skipped,
            "unknown": self.unknown,
            "deliveries": [
                {"subscription_id": s, "email": e, "status": st, "message_id": m, "via": w}
                for s, e, st, m, w in self.deliveries
            ],
        }


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=BACKOFF_MIN[min(max(attempts, 1), len(BACKOFF_MIN)) - 1])


def reopen_delay(consecutive_failures: int) -> timedelta:
    """How long a permanently failed window waits before it is tried again: doubling per failure in a row."""
    return REOPEN_AFTER * 2 ** min(max(consecutive_failures - 1, 0), 6)


def _unexpected(exc: Exception) -> TransientError:
    """An error no stage translated (a template bug, a webhook's odd reply): retried, counted, shown."""
    text = " ".join(str(exc).split())[:300]
    return TransientError(f"unexpected {exc.__class__.__name__}: {text}")


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
    """The digest of `sub` for (start, end], at most `settings.digest_max_items` items.

    In a dispatch round, `articles` is the pool shared by every subscription and `shared` holds the
    round's caches (keyword results, story facts, built items) so each is computed once.
    """
    shared = shared if shared is not None else {}
    pool = articles if articles is not None else candidate_articles(session, start, end)
    matches = match_articles(sub, pool, start, end, shared.get("cache"))
    stories = shared.get("stories")
    if stories is None:
        stories = load_stories(session, [m.article for m in matches])
    digest = compose(
        sub,
        subscriber.email,
        matches,
        stories,
        start,
        end,
        unsubscribe_url(settings, subscriber.unsubscribe_token),
        shared.get("items"),
        source_notes(session, sub, shared),
        max_items=settings.digest_max_items,
    )
    if digest.more:  # "and N more": where a reader finds them all
        digest.more_url = archive_url(settings, sub, start)
    return digest


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
        max_items=settings.digest_max_items,
    )


# -------------------------------------------------------------------------------------------- claiming


def _deliverable(sub: Subscription, subscriber: Subscriber) -> bool:
    return sub.active and subscriber.confirmed and subscriber.unsubscribed_at is None


def _channel_label(sub: Subscription) -> str:
    return "+".join(dict.fromkeys(c.split(":", 1)[0] for c in sub.channels))[:20]  # "email+wecom"


def _claim_new(
    engine: Engine, settings: Settings, sub: Subscription, digest: Digest, status: str, now: datetime
) -> int | None:
    """INSERT the row for this window; None when another dispatcher already has it."""
    sub_id = sub.id
    try:
        with session_scope(engine) as session:
            d = Delivery(
                subscription_id=sub_id,
                channel=_channel_label(sub),
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
    if d.status == SENT_PENDING:
        cond.append(col(Delivery.unknown_resends) == d.unknown_resends)
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
    mailer: mail.Mailer,
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
    for channel in sub.channels:
        if channel in done:
            continue
        try:
            if channel == "email":
                where = _send_email(settings, mailer, d, digest, engine, now, fragments)
            elif bots.is_bot_channel(channel):
                title, markdown = render_markdown(digest)
                bots.post(
                    bots.parse_bot(channel),
                    title,
                    markdown,
                    allow_private=settings.fetch.allow_private_addresses,
                )
                where = where or "bot"
            else:
                raise PermanentError(f"unknown channel {channel!r}")
        except (TransientError, PermanentError) as exc:
            errors.append(exc)
        except bots.BotSpecError as exc:
            errors.append(PermanentError(str(exc)))
        except Exception as exc:  # noqa: BLE001 - one channel's surprise must not stop the others or the round
            log.exception("unexpected error delivery=%s channel=%s", d.id, channel.split(":", 1)[0])
            errors.append(_unexpected(exc))
        else:
            done.append(channel)
            try:
                _mark_done(engine, d.id or 0, done)
            except Exception as exc:  # noqa: BLE001 - delivered, but the record failed: never re-send as new
                log.exception("delivered but not recorded delivery=%s", d.id)
                errors.append(mail.OutcomeUnknown(f"delivered but not recorded: {_unexpected(exc)}"))
            continue
        log.warning(
            "delivery failed delivery=%s channel=%s error=%s", d.id, channel.split(":", 1)[0], errors[-1]
        )
    return done, errors, where


def _send_email(
    settings: Settings,
    mailer: mail.Mailer,
    d: Delivery,
    digest: Digest,
    engine: Engine,
    now: datetime,
    fragments: dict | None,
) -> str:
    msg_id = d.message_id or mail.message_id(d.id or 0, d.window_end, mail.mail_domain(settings))
    msg = mail.build_message(
        settings,
        digest.email,
        render_digest(digest, fragments),
        msg_id,
        digest.unsubscribe_url,
        unsubscribe_mailto(settings),
        now,
    )
    return mailer.deliver(msg, digest.email, _sent_pending_marker(engine, d.id or 0, msg_id, now))


def _sent_pending_marker(engine: Engine, delivery_id: int, msg_id: str, now: datetime) -> Callable[[], None]:
    def mark() -> None:
        # Committed before the final dot of DATA: from here on the server may hold the message.
        with session_scope(engine) as session:
            stmt = (
                update(Delivery)
                .where(col(Delivery.id) == delivery_id)
                .values(status=SENT_PENDING, sent_pending_at=now, message_id=msg_id)
            )
            session.exec(stmt)  # type: ignore[call-overload]

    return mark


def _mark_done(engine: Engine, delivery_id: int, done: list[str]) -> None:
    # The crash window closes here for this channel: from now on a retry skips it.
    with session_scope(engine) as session:
        stmt = (
            update(Delivery)
            .where(col(Delivery.id) == delivery_id)
            .values(channels_done=list(done), status="sending")
        )
        session.exec(stmt)  # type: ignore[call-overload]


def _record(
    engine: Engine,
    settings: Settings,
    delivery_id: int,
    done: list[str],
    errors: list[Exception],
    now: datetime,
) -> Delivery:
    """Close the attempt: sent (and move the anchor), sent-pending, pending with backoff, or failed."""
    unknown = [e for e in errors if isinstance(e, mail.OutcomeUnknown)]
    transient = [
        e for e in errors if isinstance(e, TransientError) and not isinstance(e, mail.OutcomeUnknown)
    ]
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        sub = session.get(Subscription, row.subscription_id)
        row.last_error = "; ".join(str(e) for e in errors)[:2000] or None
        if unknown:
            # Probably delivered: later windows go on; this one is re-sent once after the quiet period.
            row.status = "unknown" if row.unknown_resends else SENT_PENDING
            row.sent_pending_at = row.sent_pending_at or now
            quiet = timedelta(hours=settings.digest_unknown_quiet_h)
            row.next_attempt_at = None if row.unknown_resends else row.sent_pending_at + quiet
            _advance(session, row.subscription_id, row.window_end)
        elif not errors or (done and not transient):
            row.status, row.sent_at, row.next_attempt_at = "sent", now, None
            _advance(session, row.subscription_id, row.window_end)
            if sub is not None:
                sub.consecutive_failures = 0
        elif transient and row.attempts < MAX_ATTEMPTS:
            row.status, row.next_attempt_at = "pending", now + backoff(row.attempts)
        else:
            row.status, row.next_attempt_at = "failed", None
            if sub is not None:
                _count_failure(settings, sub, row.last_error or "failed")
        return row


def _count_failure(settings: Settings, sub: Subscription, error: str) -> None:
    """Bounce policy: N permanently failed windows in a row disable the subscription, saying why."""
    sub.consecutive_failures += 1
    if sub.consecutive_failures >= settings.digest_disable_after and sub.active:
        sub.active = False
        sub.disabled_reason = f"disabled after {sub.consecutive_failures} failed digests in a row: {error}"[
            :2000
        ]
        log.warning("subscription disabled subscription=%s failures=%d", sub.id, sub.consecutive_failures)


def _send_claimed(
    engine: Engine,
    settings: Settings,
    mailer: mail.Mailer,
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
    errors: list[Exception] = []
    done = list(d.channels_done)
    where = ""
    try:
        if digest is None:
            with Session(engine, expire_on_commit=False) as session:
                digest = _recompose(session, settings, sub, subscriber, d)
        fragments = shared.get("fragments") if shared else None
        done, errors, where = _send_channels(settings, mailer, d, sub, digest, engine, now, fragments)
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the round goes on
        log.exception("delivery failed delivery=%s", delivery_id)
        errors.append(_unexpected(exc))
    row = _record(engine, settings, delivery_id, done, errors, now)
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
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    *,
    settle_s: float | None = None,
    subscription_ids: set[int] | None = None,
) -> DispatchReport:
    """One round: retry what is due for retry, re-send stale claims, then send every due digest.

    Windows end at `now` less the settle lag (`settle_s`, default `settings.digest_settle_s`). One SMTP
    connection serves the whole round. `subscription_ids` limits the round to those (the demo's own).
    """
    now = now or utcnow()
    horizon = now - timedelta(seconds=settings.digest_settle_s if settle_s is None else settle_s)
    report = DispatchReport()
    with mail.Mailer(settings) as mailer:
        if subscription_ids is None:
            _retry_open(engine, settings, mailer, now, report)
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
            if subscription_ids is not None:
                due = [(s, p) for s, p in due if s.id in subscription_ids]
            if due:
                pool = ArticlePool(candidate_articles(session, min(anchor_of(s) for s, _ in due), horizon))
                shared = {
                    "cache": {},
                    "stories": load_stories(session, pool.articles),
                    "items": {},
                    "fragments": {},
                }
                for sub, subscriber in due:
                    try:
                        _dispatch_one(
                            engine,
                            session,
                            settings,
                            mailer,
                            sub,
                            subscriber,
                            pool,
                            shared,
                            now,
                            horizon,
                            report,
                        )
                    except Exception:  # noqa: BLE001 - one subscription never stops the round
                        log.exception("dispatch failed subscription=%s", sub.id)
                        session.rollback()
                        report.add(sub.id or 0, subscriber.email, "skipped", None, "error, see the log")
    log.info(
        "dispatch done sent=%d empty=%d failed=%d retrying=%d unknown=%d skipped=%d",
        report.sent,
        report.empty,
        report.failed,
        report.retrying,
        report.unknown,
        report.skipped,
    )
    return report


def _retry_open(
    engine: Engine, settings: Settings, mailer: mail.Mailer, now: datetime, report: DispatchReport
) -> None:
    quiet = timedelta(hours=settings.digest_unknown_quiet_h)
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery).where(
                ((col(Delivery.status) == "pending") & (col(Delivery.next_attempt_at) <= now))
                | ((col(Delivery.status) == "sending") & (col(Delivery.claimed_at) <= now - STALE_CLAIM))
                | (
                    (col(Delivery.status) == SENT_PENDING)
                    & (col(Delivery.unknown_resends) == 0)
                    & (col(Delivery.sent_pending_at) <= now - quiet)
                )
            )
        ).all()
    for d in rows:
        changes: dict[str, Any] = {}
        if d.status == "sending" and d.attempts >= MAX_ATTEMPTS:
            _give_up(engine, settings, d, "the dispatcher died on every attempt (stale claims)")
            continue
        if d.status == "sending":
            log.warning("re-sending a stale claim delivery=%s claimed_at=%s", d.id, d.claimed_at)
        if d.status == SENT_PENDING:
            log.warning("re-sending an unknown-outcome message once delivery=%s", d.id)
            changes = {"unknown_resends": d.unknown_resends + 1}
        try:
            if _claim_existing(engine, d, now, **changes):
                _send_claimed(engine, settings, mailer, d.id, now, report)
        except Exception:  # noqa: BLE001 - a retry that fails to even start must not stop the round
            log.exception("retry failed delivery=%s", d.id)


def _give_up(engine: Engine, settings: Settings, d: Delivery, why: str) -> None:
    """A claim that keeps going stale (the process dies on this digest) stops after MAX_ATTEMPTS."""
    with session_scope(engine) as session:
        stmt = (
            update(Delivery)
            .where(col(Delivery.id) == d.id, col(Delivery.status) == "sending")
            .where(col(Delivery.claimed_at) == d.claimed_at)
            .values(status="failed", next_attempt_at=None, last_error=why)
        )
        if session.exec(stmt).rowcount == 1:  # type: ignore[call-overload]
            sub = session.get(Subscription, d.subscription_id)
            if sub is not None:
                _count_failure(settings, sub, why)


def _dispatch_one(
    engine: Engine,
    session: Session,
    settings: Settings,
    mailer: mail.Mailer,
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
    last_try = existing.claimed_at or existing.window_end if existing is not None else None
    if last_try is not None and horizon < max(
        next_due(sub, last_try), last_try + reopen_delay(sub.consecutive_failures)
    ):
        return  # a failed window waits for the slot after its last try, longer after each failure in a row
    if sub.frequency == "immediate" and not any(start < a.fetched_at <= horizon for a in pool):
        return  # nothing arrived: no row, no work
    try:
        digest = compose_for(session, settings, sub, subscriber, start, horizon, pool, shared)
    except Exception as exc:  # noqa: BLE001 - recorded as this window's failure; the round goes on
        log.exception("cannot compose subscription=%s", sub.id)
        _record_compose_failure(engine, settings, sub, existing, start, horizon, exc, now)
        report.add(sub.id or 0, subscriber.email, "failed", None, f"cannot compose: {exc.__class__.__name__}")
        return
    status = "empty" if digest.is_empty and not sub.send_empty else "sending"
    if existing is not None:
        # Reopen a failed window over (anchor, horizon]: a new window end, so a new Message-ID. The attempts
        # go on counting: this is a retry of a failing subscription, not a new digest.
        msg_id = mail.message_id(existing.id, horizon, mail.mail_domain(settings))
        won = _claim_existing(
            engine,
            existing,
            now,
            window_end=horizon,
            article_ids=digest.article_ids,
            channels_done=[],
            message_id=msg_id,
            sent_pending_at=None,
        )
        if not won:
            report.add(sub.id, subscriber.email, "skipped", None, "")
            return
        delivery_id = existing.id
        if status == "empty":
            with session_scope(engine) as s:
                row = s.get(Delivery, delivery_id)
                row.status, row.sent_at, row.last_error = "empty", now, None
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
    _send_claimed(engine, settings, mailer, delivery_id, now, report, digest, shared)


def _record_compose_failure(
    engine: Engine,
    settings: Settings,
    sub: Subscription,
    existing: Delivery | None,
    start: datetime,
    horizon: datetime,
    exc: Exception,
    now: datetime,
) -> None:
    """A digest that cannot be built fails its window (shown by `status`, counted by the bounce policy)."""
    error = f"cannot compose the digest: {_unexpected(exc)}"[:2000]
    try:
        with session_scope(engine) as session:
            row = session.get(Delivery, existing.id) if existing is not None else None
            if row is None:
                row = Delivery(
                    subscription_id=sub.id or 0,
                    channel=_channel_label(sub),
                    window_start=start,
                    window_end=horizon,
                    status="failed",
                    claimed_at=now,
                )
                session.add(row)
            row.status, row.window_end, row.last_error, row.next_attempt_at = "failed", horizon, error, None
            row.attempts += 1
            fresh = session.get(Subscription, sub.id)
            if fresh is not None:
                _count_failure(settings, fresh, error)
    except IntegrityError:
        log.info("window already claimed subscription=%s window_start=%s", sub.id, start)
