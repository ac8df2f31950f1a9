"""GitHub's REST API on the project's one HTTP stack (`httpx2`): authentication, rate
limits, retries, pagination and conditional requests, with every wait made visible.

- Token: `GITHUB_TOKEN`, else `~/.netrc` (machine api.github.com or github.com). It is
  registered with `cairn.privacy` at once, so no log, store or recording can hold it.
- Rate limits: `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`; a 403 or 429
  with `retry-after` waits that long (secondary limits); 5xx and network errors back off
  exponentially. Each wait goes to `on_wait` (the CLI's progress line) and the log, never
  a silent hang; past `max_tries` the request fails with one actionable line.
- 401, 403 and 404 are `TrackerAuthError`s saying what to check.
- Recording: pass `transport=recorder.http_transport("github")` and every request is
  recorded like a model call (`cairn debug`), its token redacted.
"""

from __future__ import annotations

import logging
import netrc
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import orjson

from ...privacy import add_secret_values
from .._errors import TrackerAuthError, TrackerError

log = logging.getLogger("cairn.bot.github")

DEFAULT_API = "https://api.github.com"
Wait = Callable[[str, float], None]  # (why, seconds)


def github_token(env: Mapping[str, str] | None = None, netrc_path: str | None = None) -> str | None:
    """`GITHUB_TOKEN`, else the password of api.github.com or github.com in `~/.netrc`;
    registered as a secret so it is redacted everywhere."""
    env = os.environ if env is None else env
    token = env.get("GITHUB_TOKEN") or None
    if token is None:
        try:
            entries = netrc.netrc(netrc_path)
        except (FileNotFoundError, netrc.NetrcParseError, OSError):
            entries = None
        if entries is not None:
            for host in ("api.github.com", "github.com"):
                found = entries.authenticators(host)
                if found and found[2]:
                    token = found[2]
                    break
    if token:
        add_secret_values([token])
    return token


@dataclass
class Page:
    """One answer: its status, JSON (None for a 304), headers and body size, and where
    its listing goes on (`Link`'s `rel="next"`; `pages_left` counts the pages after this
    one, from `rel="last"`)."""

    status: int
    data: Any
    headers: httpx2.Headers
    body_bytes: int
    next_url: str | None
    pages_left: int = 0


class GitHubClient:
    """A synchronous client of one GitHub API (`api`, e.g. https://api.github.com)."""

    def __init__(
        self,
        api: str = DEFAULT_API,
        *,
        token: str | None = None,
        transport: httpx2.BaseTransport | None = None,
        on_wait: Wait | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_tries: int = 6,
        max_wait_s: float = 3600.0,
        timeout_s: float = 30.0,
    ) -> None:
        self.api = api.rstrip("/")
        self.on_wait = on_wait
        self.sleep = sleep
        self.max_tries = max_tries
        self.max_wait_s = max_wait_s
        self.requests = 0
        headers = {
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
            "user-agent": "cairn-bot",
        }
        if token:
            add_secret_values([token])
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx2.Client(
            headers=headers, transport=transport, timeout=timeout_s, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return f"{self.api}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        etag: str | None = None,
        what: str = "",
    ) -> Page:
        """One request, waiting out rate limits and retrying transient failures."""
        headers = {"if-none-match": etag} if etag else {}
        what = what or url
        for attempt in range(1, self.max_tries + 1):
            try:
                response = self._http.request(
                    method, url, params=params, json=json, headers=headers
                )
            except httpx2.TransportError as exc:
                if attempt == self.max_tries:
                    raise TrackerError(
                        f"cannot reach GitHub at {self.api} ({exc}); check the network or --api"
                    ) from None
                self._wait(f"network error ({type(exc).__name__})", min(2.0**attempt, 60.0))
                continue
            self.requests += 1
            status = response.status_code
            delay = self._delay(response)
            if delay is not None and attempt < self.max_tries:
                reason = (
                    "GitHub's rate limit"
                    if response.headers.get("x-ratelimit-remaining") == "0"
                    else f"GitHub asked to retry ({status})"
                )
                self._wait(reason, delay)
                continue
            if status >= 500:
                if attempt == self.max_tries:
                    raise TrackerError(
                        f"GitHub kept failing for {what} ({status} {_message(response)!r})"
                        f" after {self.max_tries} tries; try again later"
                    )
                self._wait(f"GitHub error {status}", min(2.0**attempt, 60.0))
                continue
            return self._page(response, what)
        raise TrackerError(f"GitHub kept failing for {what} after {self.max_tries} tries")

    def _delay(self, response: httpx2.Response) -> float | None:
        """How long to wait before retrying, for a rate-limited answer; None otherwise."""
        status = response.status_code
        if status not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_wait_s)
            except ValueError:
                return 60.0
        if response.headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(response.headers.get("x-ratelimit-reset", ""))
            except ValueError:
                return 60.0
            return min(max(reset - time.time(), 0.0) + 1.0, self.max_wait_s)
        return 60.0 if status == 429 else None

    def _wait(self, why: str, seconds: float) -> None:
        log.warning("github: waiting %.0f s: %s", seconds, why)
        if self.on_wait is not None:
            self.on_wait(why, seconds)
        self.sleep(seconds)

    def _page(self, response: httpx2.Response, what: str) -> Page:
        status = response.status_code
        if status == 401:
            raise TrackerAuthError(
                "GitHub refused the token (401 Bad credentials): set GITHUB_TOKEN to a valid"
                " token, or remove it for public repositories"
            )
        if status == 403:
            raise TrackerAuthError(
                f"GitHub denied access to {what} (403): check that the token can read it"
            )
        if status == 404:
            raise TrackerAuthError(
                f"{what} was not found (404): check the name, and that the token can see it"
            )
        if status == 304:
            return Page(304, None, response.headers, 0, None)
        if status >= 400:
            raise TrackerError(f"GitHub answered {status} for {what}: {_message(response)}")
        body = response.content
        data = None
        if body:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                try:  # a proxy that mangled the encoding: keep what can be read
                    data = orjson.loads(body.decode("utf-8", errors="replace"))
                except orjson.JSONDecodeError:
                    raise TrackerError(
                        f"GitHub's answer for {what} is not JSON; nothing of it was stored"
                    ) from None
        next_url = response.links.get("next", {}).get("url")
        left = 0
        if next_url is not None:
            last = _page_number(response.links.get("last", {}).get("url"))
            following = _page_number(next_url)
            left = 1
            if last is not None and following is not None:
                left = max(1, last - following + 1)
        return Page(status, data, response.headers, len(body), next_url, left)


def _page_number(url: str | None) -> int | None:
    """The `page` query parameter of a `Link` URL, when it has one."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else None


def _message(response: httpx2.Response) -> str:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200]
    return str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
