"""Subscribers and digests: subscribe, unsubscribe, confirm, watch, digest send|preview, status."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.errors import XznewsError
from core.settings import Settings
from store import Subscriber, Subscription, session_scope, utcnow
from xznews.cli.common import get_engine, get_settings, print_json

if TYPE_CHECKING:  # imported where used, so that other commands start without them
    pass

watch_app = typer.Typer(help="Watched keywords of a subscription: add, remove, list.", no_args_is_help=True)
digest_app = typer.Typer(
    help="Digests: send what is due, or preview one without sending.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _parse_time(value: str | None, zone: str) -> datetime | None:
    """ISO date-time; a naive one is read in the configured time zone."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"invalid date-time {value!r}: expected ISO 8601, e.g. 2026-11-22T08:00+08:00") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(zone))


def subscribe(
    email: Annotated[str, typer.Argument(help="The subscriber's email address.")],
    clusters: Annotated[
        str, typer.Option(help="Comma-separated cluster ids (any of); empty = all clusters.")
    ] = "",
    keywords: Annotated[
        str, typer.Option(help="Watched-keyword query, e.g. '徐工 | 协鑫' or '\"光伏组件\" -招聘'.")
    ] = "",
    frequency: Annotated[str, typer.Option(help="immediate, daily or weekly.")] = "daily",
    at: Annotated[
        str, typer.Option("--at", help="Time of day HH:MM for daily and weekly digests.")
    ] = "08:00",
    weekday: Annotated[str, typer.Option(help="Weekday for weekly digests: mon … sun.")] = "mon",
    tz: Annotated[
        str, typer.Option("--tz", help="The subscription's time zone (IANA name).")
    ] = "Asia/Shanghai",
    sources: Annotated[str, typer.Option(help="Comma-separated source names or sites; empty = all.")] = "",
    include_mentions: Annotated[
        bool, typer.Option(help="Count list-only mentions of a cluster as a match.")
    ] = False,
    send_empty: Annotated[bool, typer.Option(help="Send a digest even when nothing matched.")] = False,
    confirm: Annotated[bool, typer.Option(help="Double opt-in: mail a confirmation link first.")] = False,
    bot: Annotated[
        list[str] | None,
        typer.Option(
            help="Chat bot channel KIND:URL[;secret=env:VAR], KIND = wecom|dingtalk|feishu. Repeatable."
        ),
    ] = None,
    email_channel: Annotated[bool, typer.Option("--email/--no-email", help="Deliver by email.")] = True,
    name: Annotated[str, typer.Option(help="A label for this subscription.")] = "",
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    stages: Annotated[
        str, typer.Option(help="项目动态: only these stages, e.g. signed,started (default: all).")
    ] = "",
    min_amount: Annotated[
        float | None, typer.Option(help="项目动态: only projects of at least this many 亿元.")
    ] = None,
) -> None:
    """Subscribe EMAIL to a digest; prints the subscription id and the unsubscribe link."""
    from alerts import schedule, subscribers
    from alerts.digest import describe
    from alerts.projects import apply_project_filters
    from alerts.subscriptions import SubscriptionSpec, check_keywords, create_subscription

    settings = get_settings()
    try:
        apply_project_filters(Subscription(), stages, min_amount)  # refuse bad filters before the database
    except ValueError as exc:
        raise _fail(str(exc)) from None
    try:
        day = schedule.parse_weekday(weekday)
        spec = SubscriptionSpec(
            clusters=_split(clusters),
            keywords=keywords or None,
            sources=_split(sources),
            frequency=frequency,
            at_time=at,
            weekday=day,
            timezone=tz,
            include_mentions=include_mentions,
            send_empty=send_empty,
            email=email_channel,
            bots=list(bot or []),
            name=name,
        )
        subscribers.validate_email(email)
        check_keywords(spec.keywords)  # refuse a bad query before touching the database
    except (XznewsError, schedule.ScheduleError) as exc:
        raise _fail(str(exc)) from None
    known = _known_sources(settings) if spec.sources else None
    engine = get_engine(settings)
    try:
        with session_scope(engine) as session:
            subscriber, _ = subscribers.get_or_create(session, email, confirmed=not confirm)
            sub = create_subscription(
                session,
                subscriber,
                spec,
                known_sources=known,
                allow_private=settings.fetch.allow_private_addresses,
            )
            apply_project_filters(sub, stages, min_amount)
            summary = describe(sub)
    except XznewsError as exc:
        raise _fail(str(exc)) from None
    link = subscribers.unsubscribe_url(settings, subscriber.unsubscribe_token)
    sent_to = None
    if not subscriber.confirmed:
        try:
            sent_to = subscribers.send_confirmation(settings, subscriber, summary)
        except XznewsError as exc:
            typer.echo(f"warning: confirmation mail not sent: {exc}", err=True)
    if json_out:
        print_json(
            {
                "subscription_id": sub.id,
                "subscriber_id": subscriber.id,
                "email": subscriber.email,
                "confirmed": subscriber.confirmed,
                "unsubscribe_url": link,
                "confirmation_sent": sent_to,
            }
        )
        return
    print(f"subscription {sub.id} for {subscriber.email}: {summary}")
    if not subscriber.confirmed:
        print(f"awaiting confirmation (mail: {sent_to or 'not sent'})")
    print(f"unsubscribe: {link}")


def _known_sources(settings: Settings) -> set[str]:
    """What --sources may name: a configured source, a host it publishes on, or "seed"."""
    from ingest.fetch import host_of
    from ingest.sources import load_sources

    known = {"seed"}
    for cfg in load_sources(settings.sources_file):
        known |= {cfg.name, host_of(cfg.url), *cfg.allowed_hosts}
    return {k for k in known if k}


def unsubscribe(
    token_or_email: Annotated[
        str, typer.Argument(help="An unsubscribe token, or (operator) an email address.")
    ],
    subscription: Annotated[
        int | None,
        typer.Option(help="Delete only this subscription of the address; the others keep coming."),
    ] = None,
) -> None:
    """Unsubscribe by token (from the link in every mail) or by email address."""
    from alerts import subscribers

    engine = get_engine()
    if subscription is not None:
        _delete_one(engine, token_or_email, subscription)
        return
    try:
        with session_scope(engine) as session:
            if "@" in token_or_email:
                subscriber = subscribers.unsubscribe_by_email(session, token_or_email)
            else:
                subscriber = subscribers.unsubscribe_by_token(session, token_or_email)
            email = subscriber.email if subscriber else None
    except XznewsError as exc:
        raise _fail(str(exc)) from None
    if email is None:
        raise _fail("no subscriber with that token or address")
    print(f"unsubscribed {email}")


def _delete_one(engine: Engine, email: str, sub_id: int) -> None:
    from alerts import subscribers
    from alerts.subscriptions import delete_subscription

    try:
        address = subscribers.validate_email(email)
    except XznewsError as exc:
        raise _fail(f"--subscription needs the subscriber's address: {exc}") from None
    with session_scope(engine) as session:
        sub = session.get(Subscription, sub_id)
        owner = session.get(Subscriber, sub.subscriber_id) if sub else None
        if sub is None or owner is None or owner.email != address:
            raise _fail(f"{address} has no subscription {sub_id}")
        delete_subscription(session, sub_id)
    print(f"deleted subscription {sub_id} of {address}")


def confirm_cmd(token: Annotated[str, typer.Argument(help="The token from the confirmation link.")]) -> None:
    """Confirm a subscription (double opt-in)."""
    from alerts import subscribers

    engine = get_engine()
    with session_scope(engine) as session:
        subscriber = subscribers.confirm(session, token)
        email = subscriber.email if subscriber else None
    if email is None:
        raise _fail("unknown or already used confirmation token")
    print(f"confirmed {email}")


# ------------------------------------------------------------------------------------------------ watch


def _alternatives(query: str) -> list[str]:
    """The top-level OR alternatives of a query, each in its canonical form (`徐工 -招聘 | XCMG` → 2)."""
    from alerts.query import Or, QueryError, parse_query

    if not query.strip():
        return []
    try:
        root = parse_query(query).root
    except QueryError as exc:
        raise _fail(f"invalid keyword query: {exc}") from None
    return [str(c) for c in (root.children if isinstance(root, Or) else (root,))]


def _load_sub(session: Session, sub_id: int) -> Subscription:
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise _fail(f"no subscription {sub_id}")
    return sub


def watch_add(
    subscription_id: Annotated[int, typer.Argument(help="The subscription to change.")],
    terms: Annotated[
        list[str],
        typer.Argument(
            help="Queries to watch, e.g. '徐工 -招聘' or '\"颗粒硅\"'; each is OR-ed with the rest."
        ),
    ],
) -> None:
    """Add watched keywords to a subscription (OR-ed with what it watches)."""
    from alerts.subscriptions import check_keywords

    with session_scope(get_engine()) as session:
        sub = _load_sub(session, subscription_id)
        if not any(t.strip() for t in terms):
            raise _fail("nothing to watch: give a query, e.g. '徐工 -招聘'")
        alternatives = _alternatives(sub.keywords or "") + [a for t in terms for a in _alternatives(t)]
        try:
            sub.keywords = check_keywords(" | ".join(dict.fromkeys(alternatives)))
        except XznewsError as exc:
            raise _fail(str(exc)) from None
        print(f"subscription {sub.id} watches: {sub.keywords}")


def watch_remove(
    subscription_id: Annotated[int, typer.Argument(help="The subscription to change.")],
    terms: Annotated[list[str], typer.Argument(help="Alternatives to remove, as listed by `watch list`.")],
) -> None:
    """Remove watched keywords (whole OR alternatives) from a subscription."""
    from alerts.subscriptions import check_keywords

    with session_scope(get_engine()) as session:
        sub = _load_sub(session, subscription_id)
        drop = {a for t in terms for a in _alternatives(t)}
        watched = _alternatives(sub.keywords or "")
        missing = sorted(drop - set(watched))
        if missing or not drop:
            shown = " | ".join(watched) or "nothing"
            raise _fail(
                f"subscription {sub.id} does not watch {' | '.join(missing) or repr('')}; it watches: {shown}"
            )
        kept = [a for a in watched if a not in drop]
        sub.keywords = check_keywords(" | ".join(kept)) if kept else None
        print(f"subscription {sub.id} watches: {sub.keywords or '(no keyword filter)'}")


def _shown_channel(channel: str) -> str:
    """A channel without its credential: webhook keys and tokens masked."""
    from alerts.bots import BotSpecError, is_bot_channel, parse_bot

    if not is_bot_channel(channel):
        return channel
    try:
        return parse_bot(channel).shown
    except BotSpecError:
        return channel.split(":", 1)[0] + ":(invalid)"


def watch_list(
    email: Annotated[str | None, typer.Option(help="Only this subscriber's subscriptions.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List subscriptions with what they watch."""
    from alerts import schedule, subscribers

    with Session(get_engine()) as session:
        stmt = select(Subscription, Subscriber).join(
            Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id)
        )
        if email:
            stmt = stmt.where(Subscriber.email == subscribers.validate_email(email))
        rows = session.exec(stmt.order_by(col(Subscription.id))).all()
    items = [
        {
            "subscription_id": s.id,
            "email": p.email,
            "active": s.active and p.unsubscribed_at is None,
            "confirmed": p.confirmed,
            "clusters": s.clusters,
            "keywords": s.keywords,
            "sources": s.sources,
            "frequency": s.frequency,
            "at": s.at_time,
            "weekday": schedule.WEEKDAYS[s.weekday],
            "timezone": s.timezone,
            "include_mentions": s.include_mentions,
            "channels": [_shown_channel(c) for c in s.channels],
            "failing": s.consecutive_failures,
            "disabled_reason": s.disabled_reason,
        }
        for s, p in rows
    ]
    if json_out:
        print_json(items)
        return
    for it in items:
        state = "active" if it["active"] else "inactive"
        state += "" if it["confirmed"] else ", unconfirmed"
        clusters = ",".join(it["clusters"]) or "all clusters"
        print(
            f"{it['subscription_id']:>5}  {it['email']}  [{state}]  {clusters}  {it['frequency']}"
            f"  keywords: {it['keywords'] or '-'}"
        )


# ----------------------------------------------------------------------------------------------- digest


def digest_send(
    now: Annotated[str | None, typer.Option(help="Pretend it is this time (ISO 8601); default: now.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send every digest that is due (and retries that are due); record each delivery."""
    from alerts.dispatch import dispatch_due

    settings = get_settings()
    when = _parse_time(now, settings.timezone)
    if when is not None and when > utcnow() + timedelta(minutes=1):
        # Windows would close in the future: their anchors would skip the articles that arrive until then.
        raise _fail(f"--now {when.isoformat()} is in the future; digests can only be sent for the past")
    report = dispatch_due(get_engine(settings), settings, when)
    if json_out:
        print_json(report.as_dict())
        return
    for sub_id, email, status, msg_id, where in report.deliveries:
        print(f"subscription {sub_id} {email}: {status} {msg_id or ''} {where}".rstrip())
    print(
        f"sent {report.sent}, empty {report.empty}, failed {report.failed}, retrying {report.retrying}, "
        f"skipped {report.skipped}"
    )


def digest_preview(
    email: Annotated[str, typer.Argument(help="The subscriber whose digest to preview.")],
    since: Annotated[
        str | None, typer.Option(help="Window start (ISO 8601); default: the last delivery.")
    ] = None,
    now: Annotated[str | None, typer.Option(help="Window end (ISO 8601); default: now.")] = None,
    subscription: Annotated[
        int | None, typer.Option(help="Which subscription (default: the first active).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the HTML part.")] = Path("digest-preview.html"),
) -> None:
    """Render a digest without sending or recording it: HTML to a file, the text part to the terminal."""
    from alerts import schedule, subscribers
    from alerts.dispatch import compose_for
    from alerts.render import render_digest

    settings = get_settings()
    try:
        address = subscribers.validate_email(email)
    except XznewsError as exc:
        raise _fail(str(exc)) from None
    if not out.parent.is_dir():
        raise _fail(f"--out {out}: the folder {out.parent} does not exist")
    end = _parse_time(now, settings.timezone) or utcnow()
    with Session(get_engine(settings)) as session:
        subscriber = subscribers.find_by_email(session, address)
        if subscriber is None:
            raise _fail(f"no subscriber {address}")
        stmt = select(Subscription).where(Subscription.subscriber_id == subscriber.id)
        if subscription is not None:
            stmt = stmt.where(Subscription.id == subscription)
        sub = session.exec(stmt.order_by(col(Subscription.active).desc(), col(Subscription.id))).first()
        if sub is None:
            raise _fail(f"{address} has no such subscription")
        start = _parse_time(since, settings.timezone) or schedule.anchor_of(sub)
        digest = compose_for(session, settings, sub, subscriber, start, end)
    rendered = render_digest(digest)
    out.write_text(rendered.html, encoding="utf-8")
    print(f"Subject: {rendered.subject}")
    print(f"(HTML written to {out})\n")
    print(rendered.text)


# ----------------------------------------------------------------------------------------------- status


def status(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    history: Annotated[
        int,
        typer.Option("--history", min=0, help="How many recent deliveries to list (empty windows left out)."),
    ] = 20,
) -> None:
    """Source health, every subscription's last delivery, recent deliveries' states, and articles by verdict."""
    from alerts.status import collect_status

    data = collect_status(get_engine(), history=history)
    if json_out:
        print_json(data)
        return
    print("Sources:")
    for s in data["sources"]:
        flag = f"  FLAGGED: {s['flagged']}" if s["flagged"] else ""
        print(
            f"  {s['name']}: last success {s['last_success_at'] or 'never'}, "
            f"{s['consecutive_failures']} consecutive failures{flag}"
            + (f"; last error: {s['last_error']}" if s["last_error"] else "")
        )
    arts = data["articles"]
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(arts["by_verdict"].items())) or "none"
    print(f"Articles: {arts['total']} ({verdicts}); alertable {arts['alertable']}")
    print("Deliveries:")
    for d in data["deliveries"]:
        line = (
            f"  subscription {d['subscription_id']} {d['email']}: {d['last_status'] or 'none yet'}, "
            f"attempts {d['attempts']}, last success {d['last_success_at'] or 'never'}"
        )
        if d["next_attempt_at"]:
            line += f", next attempt {d['next_attempt_at']}"
        if d["last_error"]:
            line += f"; last error: {d['last_error']}"
        if d["disabled_reason"]:
            line += f"; DISABLED: {d['disabled_reason']}"
        elif d["failing"]:
            line += f"; FAILING ({d['consecutive_failures']} failed digests in a row)"
        print(line)
    if data["unknown_outcome"]:
        print("Outcome unknown (handed to the SMTP server, no reply; re-sent once after the quiet period):")
    for u in data["unknown_outcome"]:
        when = f", re-send after {u['resend_after']}" if u["resend_after"] else ", not re-sent again"
        print(
            f"  #{u['delivery_id']} subscription {u['subscription_id']} {u['message_id']}: "
            f"{u['status']} since {u['handed_over_at']}{when}"
        )
    if data["recent_deliveries"]:
        print("Recent deliveries (newest first):")
    for d in data["recent_deliveries"]:
        line = (
            f"  #{d['delivery_id']} subscription {d['subscription_id']} {d['email']} "
            f"window …{d['window_end']}: {d['status']} via {d['channels']}, {d['articles']} articles, "
            f"attempts {d['attempts']}"
        )
        line += f", sent {d['sent_at']}" if d["sent_at"] else ""
        line += (
            f", next attempt {d['next_attempt_at']}"
            if d["status"] == "pending" and d["next_attempt_at"]
            else ""
        )
        line += f"; error: {d['last_error']}" if d["last_error"] else ""
        print(line)


def register(app: typer.Typer) -> None:
    app.command("subscribe")(subscribe)
    app.command("unsubscribe")(unsubscribe)
    app.command("confirm")(confirm_cmd)
    watch_app.command("add")(watch_add)
    watch_app.command("remove")(watch_remove)
    watch_app.command("list")(watch_list)
    app.add_typer(watch_app, name="watch")
    digest_app.command("send")(digest_send)
    digest_app.command("preview")(digest_preview)
    app.add_typer(digest_app, name="digest")
    app.command("status")(status)
