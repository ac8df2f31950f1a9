"""The token gate: every HTTP request and WebSocket handshake shows the token before any
route runs, so nothing of an unauthenticated request's body is read, parsed or stored.

A pure ASGI middleware, outermost in the stack: it looks at the scope's path, headers and
query string only, and refuses with 401 (`connection: close` when a body may follow, so
the server never drains it). WebSockets from foreign browser origins are refused with 403
first (DNS-rebinding defence). `/health` is open; the token may come as `?token=` on the
execute socket and the docs pages, which browsers open without headers. GitHub's webhook
deliveries cannot carry the token: they are signed instead, and reach their route only
with a signature header, which the route checks against the body (HMAC-SHA256).

The web page's browser shows a session cookie instead of the token (`_web`): it counts
as the token, but a cookie-authenticated request that changes state (any method but
GET, HEAD, OPTIONS) must come with an `Origin` of this server, or it is refused (403).
The page, its login and its assets (`/`, `/login`, `/logout`, `/assets/…`) pass the gate
and check the session themselves.
"""

from __future__ import annotations

from starlette.datastructures import Headers, QueryParams
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ._token import bearer, token_matches
from ._web import COOKIE, WebSessions

PUBLIC = frozenset({"/health", "/", "/login", "/logout"})
PUBLIC_PREFIXES = ("/assets/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
QUERY_TOKEN = frozenset({"/v1/execute", "/docs", "/openapi.json"})
SIGNED = frozenset({"/v1/github/webhook"})  # authenticated by X-Hub-Signature-256


class TokenGate:
    """Refuse requests without `token` (401) and WebSockets from outside `origins` (403)."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        origins: frozenset[str],
        sessions: WebSessions | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.origins = origins
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path = scope.get("path", "")
        public = path in PUBLIC or path.startswith(PUBLIC_PREFIXES)
        if kind not in ("http", "websocket") or (kind == "http" and public):
            if kind == "http" and scope["method"] not in SAFE_METHODS:
                origin = Headers(scope=scope).get("origin")
                if origin is not None and origin.lower() not in self.origins:
                    await _forbidden(scope, receive, send, f"origin {origin!r} is not allowed")
                    return
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if kind == "http" and scope["path"] in SIGNED:
            if headers.get("x-hub-signature-256"):
                await self.app(scope, receive, send)  # the route verifies the signature
                return
            extra = {"connection": "close"} if _may_have_body(headers) else {}
            refusal = JSONResponse(
                {"detail": "unsigned delivery: X-Hub-Signature-256 is missing"},
                status_code=401,
                headers=extra,
            )
            await refusal(scope, receive, send)
            return
        if kind == "websocket":
            origin = headers.get("origin")
            if origin is not None and origin.lower() not in self.origins:
                await _deny_websocket(
                    scope, receive, send, 403, f"origin {origin!r} is not allowed"
                )
                return
        given = bearer(headers.get("authorization"))
        if given is None and scope["path"] in QUERY_TOKEN:
            given = QueryParams(scope.get("query_string", b"")).get("token")
        if token_matches(self.token, given):
            await self.app(scope, receive, send)
            return
        if given is None and self.sessions is not None and self._session(headers):
            origin = headers.get("origin")
            if (
                kind == "http"
                and scope["method"] not in SAFE_METHODS
                and (origin is None or origin.lower() not in self.origins)
            ):
                message = "a request that changes state must come from this server's page"
                await _forbidden(scope, receive, send, message)
                return
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            message = "missing or wrong token (Authorization: Bearer or ?token=)"
            await _deny_websocket(scope, receive, send, 401, message)
            return
        extra = {"connection": "close"} if _may_have_body(headers) else {}
        refusal = JSONResponse(
            {"detail": "missing or wrong bearer token (Authorization: Bearer <token>)"},
            status_code=401,
            headers={"www-authenticate": "Bearer", **extra},
        )
        await refusal(scope, receive, send)

    def _session(self, headers: Headers) -> bool:
        assert self.sessions is not None
        return self.sessions.valid(cookie_parser(headers.get("cookie", "")).get(COOKIE))


async def _forbidden(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    headers = Headers(scope=scope)
    extra = {"connection": "close"} if _may_have_body(headers) else {}
    await JSONResponse({"detail": message}, status_code=403, headers=extra)(scope, receive, send)


def _may_have_body(headers: Headers) -> bool:
    length = headers.get("content-length", "")
    return "transfer-encoding" in headers or not (length == "" or length == "0")


async def _deny_websocket(
    scope: Scope, receive: Receive, send: Send, status: int, message: str
) -> None:
    websocket = WebSocket(scope, receive, send)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    try:
        await websocket.send_denial_response(
            JSONResponse({"detail": message}, status_code=status, headers=headers)
        )
    except RuntimeError:  # no denial-response extension: a close before accept is a 403
        await websocket.close(code=1008)
