"""`xznews subscriptions edit ID …` and `delete ID`: what the manage page does, from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import XznewsError
from store import Subscription, session_scope
from xznews.cli.common import get_engine

if TYPE_CHECKING:  # imported where used, so that other commands start without them
    pass

subscriptions_app = typer.Typer(help="Change or delete one subscription.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def edit(
    sub_id: Annotated[int, typer.Argument(help="The subscription id (see `xznews status`).")],
    clusters: Annotated[
        str | None, typer.Option(help="Comma-separated cluster ids or Chinese names; '' = all clusters.")
    ] = None,
    keywords: Annotated[str | None, typer.Option(help="Watched-keyword query; '' = none.")] = None,
    frequency: Annotated[str | None, typer.Option(help="immediate, daily or weekly.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time of day HH:MM.")] = None,
    weekday: Annotated[str | None, typer.Option(help="Weekday for weekly digests: mon … sun.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone.")] = None,
    pause: Annotated[
        bool | None, typer.Option("--pause/--resume", help="Stop or restart its digests.")
    ] = None,
) -> None:
    """Change what a subscription watches or when it is sent; options left out keep their value."""
    from alerts import schedule
    from alerts.digest import describe
    from alerts.subscriptions import SubscriptionSpec
    from alerts.web_pages import edit_subscription

    try:
        with session_scope(get_engine()) as session:
            sub = session.get(Subscription, sub_id)
            if sub is None:
                raise _fail(f"no subscription {sub_id}")
            spec = SubscriptionSpec(
                clusters=sub.clusters
                if clusters is None
                else [c.strip() for c in clusters.split(",") if c.strip()],
                keywords=sub.keywords if keywords is None else keywords,
                frequency=frequency or sub.frequency,
                at_time=at or sub.at_time,
                weekday=sub.weekday if weekday is None else schedule.parse_weekday(weekday),
                timezone=tz or sub.timezone,
            )
            edit_subscription(session, sub, spec)
            if pause is not None:
                sub.active = not pause
            typer.echo(f"subscription {sub_id}: {describe(sub)}{'' if sub.active else ' (paused)'}")
    except (XznewsError, schedule.ScheduleError) as exc:
        raise _fail(str(exc)) from None


def delete(sub_id: Annotated[int, typer.Argument(help="The subscription id.")]) -> None:
    """Delete one subscription (its subscriber and other subscriptions stay)."""
    from alerts.web_pages import delete_subscription

    with session_scope(get_engine()) as session:
        sub = session.get(Subscription, sub_id)
        if sub is None:
            raise _fail(f"no subscription {sub_id}")
        delete_subscription(session, sub)
    typer.echo(f"subscription {sub_id} deleted")


def register(app: typer.Typer) -> None:
    subscriptions_app.command("edit")(edit)
    subscriptions_app.command("delete")(delete)
    app.add_typer(subscriptions_app, name="subscriptions")
