"""Self-service: the subscribe form, the links in mail (confirm, unsubscribe, manage) and the manage page.

GET never changes anything (mail scanners fetch every link). Forms carry a CSRF token (double submit: a hidden
field equal to a SameSite=Strict cookie); the confirm and unsubscribe POSTs need none, because the secret token in
their URL is what authorises them, and RFC 8058 one-click POSTs come from mail providers without cookies.
The subscribe answer is the same whether or not the address is known.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from alerts import web_pages
from alerts.digest import describe
from alerts.subscribers import validate_email
from alerts.subscriptions import SubscriptionSpec
from core.errors import XznewsError
from store import Subscription, session_scope
from xznews.web.render import render, render_page
from xznews.web.security import CSRF_COOKIE, CSRF_FIELD, csrf_ok, is_token

log = logging.getLogger("xznews.web")
_ACTIONS = {
    "unsubscribe": (web_pages.unsubscribe_prompt, web_pages.unsubscribe),
    "confirm": (
        web_pages.confirm_prompt,
        lambda session, token, _via: web_pages.confirm_subscription(session, token),
    ),
}
_DEFAULTS = {
    "email": "",
    "clusters": [],
    "keywords": "",
    "frequency": "daily",
    "at_time": "08:00",
    "weekday": 0,
    "timezone": "Asia/Shanghai",
}


def _spec(form: FormData) -> SubscriptionSpec:
    try:
        weekday = int(form.get("weekday") or 0)
    except ValueError:
        weekday = -1  # schedule.validate names the problem
    return SubscriptionSpec(
        clusters=[str(c) for c in form.getlist("cluster")],
        keywords=str(form.get("keywords") or "").strip() or None,
        frequency=str(form.get("frequency") or "daily"),
        at_time=str(form.get("at_time") or "08:00"),
        weekday=weekday,
        timezone=str(form.get("timezone") or "Asia/Shanghai"),
    )


def _form_values(form: FormData) -> dict[str, Any]:
    spec = _spec(form)
    return {
        "email": str(form.get("email") or "")[:320],
        "clusters": spec.clusters,
        "keywords": spec.keywords or "",
        "frequency": spec.frequency,
        "at_time": spec.at_time,
        "weekday": spec.weekday,
        "timezone": spec.timezone,
    }


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _too_many(request: Request, seconds: int) -> Response:
    log.warning(
        "rate limited path=%s client=%s retry_after=%s",
        request.url.path.split("/")[1],
        _client(request),
        seconds,
    )
    return render_page(request, web_pages.RATE_LIMITED, {"Retry-After": str(seconds)})


async def subscribe_form(request: Request) -> Response:
    return render(request, "subscribe.html", form=_DEFAULTS, error="", sent=False)


async def subscribe_post(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), str(form.get(CSRF_FIELD) or "")):
        return render_page(request, web_pages.FORBIDDEN)
    limits = request.app.state.limits
    if wait := limits.per_client.hit(_client(request)):
        return _too_many(request, wait)
    values = _form_values(form)
    try:
        address = validate_email(values["email"])
    except XznewsError as exc:
        return render(request, "subscribe.html", status=400, form=values, error=str(exc), sent=False)
    if wait := limits.per_address.hit(address.lower()):
        return _too_many(request, wait)
    try:
        await run_in_threadpool(_subscribe, request, address, _spec(form))
    except XznewsError as exc:  # a bad cluster, keyword query (with its caret) or schedule
        return render(request, "subscribe.html", status=400, form=values, error=str(exc), sent=False)
    return render(request, "subscribe.html", form=values, error="", sent=True)


def _subscribe(request: Request, address: str, spec: SubscriptionSpec) -> None:
    engine, settings = request.app.state.engine, request.app.state.settings
    with session_scope(engine) as session:
        subscriber, sub = web_pages.subscribe_from_web(session, address, spec)
    where = web_pages.send_web_confirmation(settings, subscriber, sub)
    log.info("confirmation sent subscription=%s via=%s", sub.id, "smtp" if where == "smtp" else "outbox")


# ---------------------------------------------------------------------------------------- links in mail


async def token_page(request: Request) -> Response:
    kind = request.url.path.split("/")[1]
    token = request.path_params["token"]
    if not is_token(token):
        return render_page(request, web_pages.NOT_FOUND)  # no database lookup for what cannot be a token
    prompt, act = _ACTIONS[kind]
    engine = request.app.state.engine
    if request.method != "POST":
        return render_page(request, await run_in_threadpool(_read, engine, prompt, token))
    body = await request.body()
    via = (
        "one-click" if b"List-Unsubscribe=One-Click" in body or b'name="List-Unsubscribe"' in body else "page"
    )
    return render_page(request, await run_in_threadpool(_write, engine, act, token, via))


def _read(engine: Any, prompt: Any, token: str) -> web_pages.Page:
    with Session(engine) as session:
        return prompt(session, token)


def _write(engine: Any, act: Any, token: str, via: str) -> web_pages.Page:
    with session_scope(engine) as session:
        return act(session, token, via)


# ------------------------------------------------------------------------------------------ manage page


async def manage(request: Request) -> Response:
    token = request.path_params["token"]
    if not is_token(token):
        return render_page(request, web_pages.NOT_FOUND)
    return await run_in_threadpool(
        _manage_page, request, token, request.query_params.get("done", ""), "", 200
    )


_NOTICES = {"save": "已保存。", "pause": "已暂停。", "resume": "已恢复。", "delete": "已删除。"}


def _manage_page(request: Request, token: str, done: str, error: str, status: int) -> Response:
    with Session(request.app.state.engine) as session:
        subscriber = web_pages.subscriber_by_manage_token(session, token)
        if subscriber is None:
            return render_page(request, web_pages.NOT_FOUND)
        subs = web_pages.subscriptions_of(session, subscriber)
        address = web_pages.mask_email(subscriber.email)
    return render(
        request,
        "manage.html",
        status=status,
        token=token,
        subs=subs,
        address=address,
        describe=describe,
        notice=_NOTICES.get(done, ""),
        error=error,
    )


async def manage_post(request: Request) -> Response:
    token, target = request.path_params["token"], request.path_params["target"]
    if not is_token(token):
        return render_page(request, web_pages.NOT_FOUND)
    form = await request.form()
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), str(form.get(CSRF_FIELD) or "")):
        return render_page(request, web_pages.FORBIDDEN)
    if target == "unsubscribe":
        page = await run_in_threadpool(
            _write, request.app.state.engine, web_pages.unsubscribe, token, "manage"
        )
        return render_page(request, page)
    action = str(form.get("action") or "save")
    if not target.isdigit() or action not in _NOTICES:
        return render_page(request, web_pages.NOT_FOUND)
    try:
        found = await run_in_threadpool(_act, request, token, int(target), action, _spec(form))
    except XznewsError as exc:
        return await run_in_threadpool(_manage_page, request, token, "", str(exc), 400)
    if not found:
        return render_page(request, web_pages.NOT_FOUND)
    return RedirectResponse(f"/manage/{token}?done={action}#sub-{target}", 303)  # POST-redirect-GET


def _act(request: Request, token: str, sub_id: int, action: str, spec: SubscriptionSpec) -> bool:
    with session_scope(request.app.state.engine) as session:
        subscriber = web_pages.subscriber_by_manage_token(session, token)
        sub = session.get(Subscription, sub_id)
        if subscriber is None or sub is None or sub.subscriber_id != subscriber.id:
            return False  # another subscriber's subscription is "not found", never "forbidden"
        if action == "delete":
            web_pages.delete_subscription(session, sub)
        elif action == "save":
            web_pages.edit_subscription(session, sub, spec)
        elif sub.confirm_token is None or sub.confirmed_at is not None:  # a pending one waits for its link
            sub.active = action == "resume"
            session.add(sub)
        log.info("manage action=%s subscription=%s subscriber=%s", action, sub_id, subscriber.id)
    return True


routes = [
    Route("/subscribe", subscribe_form, methods=["GET"]),
    Route("/subscribe", subscribe_post, methods=["POST"]),
    Route("/confirm/{token}", token_page, methods=["GET", "POST"]),
    Route("/unsubscribe/{token}", token_page, methods=["GET", "POST"]),
    Route("/manage/{token}", manage, methods=["GET"]),
    Route("/manage/{token}/{target}", manage_post, methods=["POST"]),
]
