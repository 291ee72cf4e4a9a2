"""Chat-group bots: WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) webhooks.

A subscription names a bot as a channel string: ``KIND:WEBHOOK_URL`` or ``KIND:WEBHOOK_URL;secret=env:VAR``.
The signing secret itself is never stored: only the name of the environment variable that holds it, read
when the message is posted.

Each bot gets the digest as markdown in its own documented payload:
- WeCom: ``{"msgtype": "markdown", "markdown": {"content": md}}`` (content ≤ 4096 bytes).
- DingTalk: ``{"msgtype": "markdown", "markdown": {"title": t, "text": md}}``; with a secret, the URL gets
  ``&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(key=secret, msg=timestamp+"\\n"+secret)>``.
- Feishu: an interactive card with a markdown element; with a secret, the body carries ``timestamp`` (s)
  and ``sign`` = base64(HMAC-SHA256(key=timestamp+"\\n"+secret, msg=b"")).
A reply with a non-zero ``errcode``/``code`` is a failure; rate limits and 5xx are transient.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit

import httpx

from core.errors import PermanentError, TransientError, XznewsError
from core.masking import mask_url
from ingest.fetch import FetchError, check_public_url, pinned_transport

log = logging.getLogger(__name__)

BOT_KINDS = ("wecom", "dingtalk", "feishu")
# Documented size limits of a markdown message, in UTF-8 bytes (kept a little under).
MAX_BYTES = {"wecom": 4000, "dingtalk": 19000, "feishu": 28000}
# Reply codes that mean "too many messages, try later".
_RATE_LIMITED = {45009, 130101, 9499, 11232, 11233}
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class BotSpecError(XznewsError):
    """A bot channel that cannot be used: unknown kind, bad URL, or a secret given in clear."""


@dataclass(frozen=True)
class BotSpec:
    kind: str
    url: str
    secret_ref: str | None = None  # "env:VAR"

    def __str__(self) -> str:
        return f"{self.kind}:{self.url}" + (f";secret={self.secret_ref}" if self.secret_ref else "")

    @property
    def shown(self) -> str:
        """The channel for display: the webhook's key/token parameters (the credential itself) masked."""
        return f"{self.kind}:{mask_url(self.url)}" + (f";secret={self.secret_ref}" if self.secret_ref else "")

    @property
    def label(self) -> str:
        """The channel without its webhook token, for logs and status."""
        return f"{self.kind}:{urlsplit(self.url).hostname or '?'}"

    def secret(self) -> str | None:
        if not self.secret_ref:
            return None
        var = self.secret_ref.removeprefix("env:")
        value = os.environ.get(var)
        if not value:
            raise PermanentError(f"bot secret variable {var} is not set in the environment")
        return value


def parse_bot(spec: str) -> BotSpec:
    """``wecom:https://…`` or ``dingtalk:https://…;secret=env:XZNEWS_BOT_SECRET_OPS``."""
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in BOT_KINDS:
        raise BotSpecError(f"invalid bot {spec!r}: expected KIND:URL with KIND one of {', '.join(BOT_KINDS)}")
    url, _, options = rest.partition(";")
    secret_ref = None
    if options:
        key, _, value = options.partition("=")
        if key.strip() != "secret":
            raise BotSpecError(f"invalid bot option {options!r}: only secret=env:VAR is known")
        if not value.startswith("env:") or not value[4:].replace("_", "").isalnum():
            raise BotSpecError("bot secrets are not stored: give secret=env:VAR, the variable that holds it")
        secret_ref = value.strip()
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in url for c in "\r\n "):
        raise BotSpecError(f"invalid bot webhook URL {url!r}")
    return BotSpec(kind, url.strip(), secret_ref)


def check_webhook(bot: BotSpec, allow_private: bool = False) -> None:
    """Refuse a webhook whose host is not public (SSRF: `wecom:http://127.0.0.1:5432/x` would let a subscriber
    make the service post into its own network). Checked at subscribe time and again before every post."""
    try:
        check_public_url(bot.url, allow_private=allow_private)
    except FetchError as exc:  # unresolvable, not http(s), or a non-public address: the message says which
        raise BotSpecError(f"bot webhook {bot.label} refused: {exc}") from None


def is_bot_channel(channel: str) -> bool:
    return channel.split(":", 1)[0] in BOT_KINDS


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def build_request(bot: BotSpec, title: str, markdown: str, now: float | None = None) -> tuple[str, dict]:
    """The URL and JSON body to post (signed when the bot has a secret)."""
    now = time.time() if now is None else now
    secret = bot.secret()
    markdown = truncate_markdown(markdown, MAX_BYTES[bot.kind])
    if bot.kind == "wecom":
        return bot.url, {"msgtype": "markdown", "markdown": {"content": markdown}}
    if bot.kind == "dingtalk":
        url = bot.url
        if secret:
            ts = int(now * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
    body: dict = {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}},
            "elements": [{"tag": "markdown", "content": markdown}],
        },
    }
    if secret:
        ts = int(now)
        body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    return bot.url, body


def truncate_markdown(markdown: str, max_bytes: int) -> str:
    """Cut at a line boundary so the message fits the bot's limit, saying that it was cut."""
    if len(markdown.encode()) <= max_bytes:
        return markdown
    note = "\n\n……（内容过长，完整内容请见邮件）"
    budget = max_bytes - len(note.encode())
    out: list[str] = []
    used = 0
    for line in markdown.split("\n"):
        size = len(line.encode()) + 1
        if used + size > budget:
            break
        out.append(line)
        used += size
    return "\n".join(out) + note


def post(
    bot: BotSpec,
    title: str,
    markdown: str,
    client: httpx.Client | None = None,
    *,
    allow_private: bool = False,
) -> None:
    """Post one message; raise TransientError or PermanentError when the bot did not take it."""
    try:
        check_webhook(bot, allow_private)
    except BotSpecError as exc:
        raise PermanentError(str(exc)) from None
    url, body = build_request(bot, title, markdown)
    own = client is None
    # The socket goes to the address that was checked: a webhook host that re-resolves to a private address
    # between the check and the post (DNS rebinding) gets no connection.
    client = client or httpx.Client(timeout=TIMEOUT, transport=pinned_transport(allow_private=allow_private))
    try:
        resp = client.post(url, json=body)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientError(f"{bot.label}: {exc.__class__.__name__}: {exc}") from exc
    except FetchError as exc:  # the pinned socket refused the address the host resolves to now
        raise (TransientError if exc.transient else PermanentError)(f"{bot.label}: {exc}") from None
    finally:
        if own:
            client.close()
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientError(f"{bot.label}: HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise PermanentError(f"{bot.label}: HTTP {resp.status_code}")
    try:
        reply = resp.json()
    except ValueError:
        raise PermanentError(f"{bot.label}: reply is not JSON") from None
    if not isinstance(reply, dict):
        raise PermanentError(f"{bot.label}: reply is JSON but not an object")
    code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
    if code not in (0, "0", None):
        message = reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or ""
        error = f"{bot.label}: errcode {code}: {message}"
        if code in _RATE_LIMITED:
            raise TransientError(error)
        raise PermanentError(error)
    log.info("bot message posted bot=%s", bot.label)
