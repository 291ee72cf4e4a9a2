"""Digests and confirmation mails as HTML, plain text and bot markdown (Jinja2 templates in alerts/templates).

HTML is autoescaped; highlighted snippets arrive as Markup built from escaped pieces (alerts.digest.highlight).
Plain text and markdown are rendered without HTML escaping, from values that carry no CR/LF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from alerts.digest import BRAND, Digest, DigestItem, one_line
from core.tz import SHANGHAI

TEMPLATES = Path(__file__).resolve().parent / "templates"
_MD_SPECIAL = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "`": "｀", "_": "＿"})


def _md(value: object) -> str:
    """Text that cannot open a link, an emphasis or an HTML tag in a bot's markdown."""
    return one_line(str(value)).translate(_MD_SPECIAL)


def _md_url(value: object) -> str:
    return quote(one_line(str(value)), safe=":/?&=#%+@;,~!$'")


@cache
def _env(html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]) if html else False,
        undefined=StrictUndefined,
        trim_blocks=not html,
        lstrip_blocks=not html,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    env.filters["mdurl"] = _md_url
    return env


def _local(when: datetime) -> str:
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _tidy_text(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _item_renderer(template: str, html: bool, fragments: dict | None):
    tmpl = _env(html).get_template(template)

    def render(item: DigestItem) -> str:
        if fragments is None or item.key is None:
            out = tmpl.render(item=item)
        else:
            key = (template, item.key)
            out = fragments.get(key)
            if out is None:
                out = fragments[key] = tmpl.render(item=item)
        # The fragment was rendered by an autoescaping template: it is safe HTML.
        return Markup(out) if html else out.rstrip("\n")

    return render


def render_digest(digest: Digest, fragments: dict | None = None) -> Rendered:
    """HTML and text parts. `fragments` (one dispatch round) caches items shared by many digests."""
    ctx = {
        "digest": digest,
        "brand": BRAND,
        "window_start": _local(digest.window_start),
        "window_end": _local(digest.window_end),
        "item_html": _item_renderer("digest_item.html", True, fragments),
        "item_text": _item_renderer("digest_item.txt", False, fragments),
    }
    html = _env(True).get_template("digest.html").render(ctx)
    text = _env(False).get_template("digest.txt").render(ctx)
    return Rendered(digest.subject, html, _tidy_text(text))


def render_markdown(digest: Digest) -> tuple[str, str]:
    """(title, markdown) for chat bots."""
    md = _env(False).get_template("digest.md").render(digest=digest, brand=BRAND)
    return digest.subject, _tidy_text(md)


def render_confirmation(email: str, summary: str, confirm_url: str, unsubscribe_url: str) -> Rendered:
    ctx = {
        "brand": BRAND,
        "email": email,
        "summary": summary,
        "confirm_url": confirm_url,
        "unsubscribe_url": unsubscribe_url,
        "subject": f"{BRAND} · 请确认订阅",
    }
    html = _env(True).get_template("confirm.html").render(ctx)
    text = _env(False).get_template("confirm.txt").render(ctx)
    return Rendered(one_line(ctx["subject"]), html, _tidy_text(text))
