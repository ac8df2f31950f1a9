"""The web notebook's door: the page at `/`, the login, and the session cookie.

The token never appears in a page or a log. Opening the URL `cairn serve` prints
(`/?token=…`) exchanges the token once for a session: an `HttpOnly; SameSite=Strict`
cookie, and a redirect to `/` without the token. Without a session `/` is a small login
form (`POST /login`). The gate (`_gate`) accepts the session cookie where it accepts the
bearer token, and requires a same-origin `Origin` on every cookie-authenticated request
that changes state, so another site can neither read nor act.

Every page carries a Content-Security-Policy without inline scripts: the built page is
one module and one stylesheet from `/assets/`, and a runbook's HTML never runs.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ._token import token_matches

COOKIE = "cairn_session"
SESSION_SECONDS = 7 * 24 * 3600
WEBUI = Path(__file__).with_name("webui")
# Styles may be inline: CodeMirror and xterm.js add theirs at run time. Scripts may not.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "cache-control": "no-store",
}


class WebSessions:
    """Browser sessions by cookie value (in memory: a restart asks for the token again)."""

    def __init__(self) -> None:
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self) -> str:
        value = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            for old in [v for v, expires in self._expires.items() if expires < now]:
                del self._expires[old]  # sign-ins leave no unbounded trail
            self._expires[value] = now + SESSION_SECONDS
        return value

    def valid(self, value: str | None) -> bool:
        if not value:
            return False
        with self._lock:
            expires = self._expires.get(value)
            if expires is None:
                return False
            if expires < time.monotonic():
                del self._expires[value]
                return False
            return True

    def end(self, value: str | None) -> None:
        with self._lock:
            self._expires.pop(value or "", None)


_LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cairn: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto">
<h1>Cairn</h1>
<p>Paste the token <code>cairn serve</code> printed (or open the URL it printed).</p>
{message}
<form method="post" action="/login">
<label>Token <input name="token" type="password" autocomplete="current-password"
 autofocus required style="width: 100%"></label>
<p><button type="submit">Sign in</button></p>
</form></body></html>
"""


def login_page(message: str = "", status: int = 200) -> HTMLResponse:
    shown = f'<p role="alert" style="color: #b3261e">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(_LOGIN.format(message=shown), status_code=status, headers=SECURITY_HEADERS)


def _signed_in(sessions: WebSessions, secure: bool) -> RedirectResponse:
    reply = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
    reply.set_cookie(
        COOKIE,
        sessions.create(),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return reply


def web_routes(app: FastAPI, token: str, sessions: WebSessions) -> None:
    @app.get("/", include_in_schema=False)
    async def page(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:  # the printed URL: trade the token for a cookie, once
            if not token_matches(token, given):
                return login_page("That token is wrong.", 401)
            return _signed_in(sessions, request.url.scheme == "https")
        if not sessions.valid(request.cookies.get(COOKIE)):
            return login_page()
        index = WEBUI / "index.html"
        if not index.is_file():
            return HTMLResponse(
                "<p>The web page is not built: run <code>make run</code> (it builds web/)"
                " or <code>cd web &amp;&amp; npm ci &amp;&amp; npx vite build</code>.</p>",
                status_code=503,
                headers=SECURITY_HEADERS,
            )
        return FileResponse(index, media_type="text/html", headers=SECURITY_HEADERS)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        # A form of one field: parsed here rather than with python-multipart.
        fields = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        given = (fields.get("token") or [""])[0]
        if not token_matches(token, given.strip()):
            return login_page("That token is wrong.", 401)
        return _signed_in(sessions, request.url.scheme == "https")

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        sessions.end(request.cookies.get(COOKIE))
        reply = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        reply.delete_cookie(COOKIE, path="/")
        return reply

    @app.get("/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        path = (WEBUI / "assets" / name).resolve()
        if not path.is_relative_to((WEBUI / "assets").resolve()) or not path.is_file():
            return Response(status_code=404)
        headers = {**SECURITY_HEADERS, "cache-control": "public, max-age=31536000, immutable"}
        return FileResponse(path, headers=headers)
