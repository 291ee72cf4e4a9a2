"""The web app for readers, subscribers and operators (Starlette on uvicorn, Jinja2 pages, no JavaScript).

Routes: / (latest stories), /search, /story/{id}, /cluster/{id or Chinese name}, Atom feeds (/feed.atom,
/cluster/{id}.atom, /search.atom, /feed/{token}.atom), investment projects (/projects, /project/{id},
/projects.atom), /subscribe, /confirm/{token}, /unsubscribe/{token} (RFC 8058 one-click), /manage/{token},
/healthz, /metrics, /api/stories. See docs/web.md.
"""

from xznews.web.app import Limits, create_app
from xznews.web.security import MAX_BODY, mask_tokens
from xznews.web.server import WebServer, serve, start_web_server

__all__ = ["MAX_BODY", "Limits", "WebServer", "create_app", "mask_tokens", "serve", "start_web_server"]
