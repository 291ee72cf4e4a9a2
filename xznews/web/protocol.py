"""uvicorn's h11 protocol, plus one thing: a client that half-closes before sending the body it announced gets a
400 at once. (Left alone, asyncio closes the connection without a word; the old server waited 15 s, then 500.)
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from xznews.web.security import SECURITY_HEADERS

_BODY = "请求内容不完整 / The request body is shorter than its Content-Length.\n".encode()


class XznewsH11Protocol(H11Protocol):
    def eof_received(self) -> bool | None:
        if self.conn.their_state is h11.SEND_BODY and self.conn.our_state is h11.SEND_RESPONSE:
            self.logger.info("request body cut short by the client: 400")
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_BODY)).encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
            ]
            for event in (
                h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                h11.Data(data=_BODY),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
            self.transport.close()
            return True
        return None
