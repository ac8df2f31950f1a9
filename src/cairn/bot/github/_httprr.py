"""Reading HTTP traces in Go's `httprr` v1 format, as Gaby records its GitHub traffic
(golang.org/x/oscar/internal/httprr), to seed the fake GitHub with real data.

The format: a first line `httprr trace v1`, then records, each a line `<reqlen>
<resplen>` followed by exactly `reqlen` bytes of an HTTP/1.1 request as Go's
`Request.Write` prints it and `resplen` bytes of the response as `Response.Write` prints
it (status line, headers, blank line, body — possibly chunked, possibly gzip-encoded).

`projects_from_traces` keeps every issue, issue comment and issue event found in the
JSON of GitHub API answers (lists and single objects, the project taken from the
request's path), the newest version of each record winning; the fake GitHub then answers
any well-formed request for them, however differently Cairn asks than Gaby did.

`TraceWriter` records Cairn's own traffic in the same format (`cairn bot sync --record
TRACE`), without credentials and redacted, so a sync can be replayed offline.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from .._errors import BotError
from ._fake import Project

HEADER = b"httprr trace v1\n"
_REPO_PATH = re.compile(
    r"^/repos/([^/]+/[^/]+)/issues(/comments|/events|/\d+(?:/comments|/events)?)?/?$"
)


class TraceError(BotError):
    """A file that is not an httprr v1 trace, or a damaged record (file and offset)."""


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    body: bytes


def _head(raw: bytes) -> tuple[list[bytes], bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    return head.replace(b"\r\n", b"\n").split(b"\n"), body


def _dechunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        line_end = body.index(b"\r\n", at)
        size = int(body[at:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        start = line_end + 2
        out += body[start : start + size]
        at = start + size + 2


def read_trace(path: Path) -> list[Exchange]:
    """Every request/response pair of the trace at `path`."""
    data = Path(path).read_bytes()
    if not data.startswith(HEADER):
        raise TraceError(f"{path}: not an httprr trace (no 'httprr trace v1' header)")
    at, out = len(HEADER), []
    while at < len(data):
        line_end = data.find(b"\n", at)
        try:
            req_len, resp_len = (int(x) for x in data[at:line_end].split())
        except ValueError:
            raise TraceError(f"{path}: offset {at}: bad record header") from None
        start = line_end + 1
        request = data[start : start + req_len]
        response = data[start + req_len : start + req_len + resp_len]
        if len(request) != req_len or len(response) != resp_len:
            raise TraceError(f"{path}: offset {at}: the record is truncated")
        at = start + req_len + resp_len
        req_lines, _ = _head(request)
        parts = req_lines[0].decode("latin-1").split()
        if len(parts) < 2:
            raise TraceError(f"{path}: offset {at}: bad request line")
        url = parts[1]
        target = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
        resp_lines, body = _head(response)
        status_parts = resp_lines[0].split()
        status = int(status_parts[1]) if len(status_parts) > 1 and status_parts[1].isdigit() else 0
        headers = {}
        for h in resp_lines[1:]:
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            if "chunked" in headers.get("transfer-encoding", ""):
                body = _dechunk(body)
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
        except (ValueError, OSError, EOFError):
            raise TraceError(f"{path}: offset {at}: a damaged response body") from None
        out.append(Exchange(parts[0], target, status, body))
    return out


def _kind(item: dict[str, Any], path_tail: str) -> str | None:
    if "event" in item and "actor" in item:
        return "events"
    if "issue_url" in item and "body" in item:
        return "comments"
    if "number" in item and "title" in item:
        return "issues"
    del path_tail
    return None


def projects_from_traces(paths: list[Path]) -> dict[str, Project]:
    """The issues, comments and events carried by GitHub API answers in the traces."""
    projects: dict[str, Project] = {}
    for path in paths:
        for exchange in read_trace(path):
            found = _REPO_PATH.match(exchange.path)
            if found is None or exchange.status != 200 or exchange.method != "GET":
                continue
            try:
                data = json.loads(exchange.body)
            except ValueError:
                continue
            project = projects.setdefault(found.group(1), Project())
            items = data if isinstance(data, list) else [data]
            number_in_path = re.search(r"/issues/(\d+)", exchange.path)
            for item in items:
                if not isinstance(item, dict):
                    continue
                kind = _kind(item, found.group(2) or "")
                if kind == "issues":
                    _newest(project.issues, int(item["number"]), item)
                elif kind == "comments" and isinstance(item.get("id"), int):
                    _newest(project.comments, item["id"], item)
                elif kind == "events" and isinstance(item.get("id"), int):
                    if "issue" not in item and number_in_path is not None:
                        item = {**item, "issue": {"number": int(number_in_path.group(1))}}
                    _newest(project.events, item["id"], item)
    return projects


def _newest(table: dict[int, dict[str, Any]], key: int, item: dict[str, Any]) -> None:
    old = table.get(key)
    if old is None or str(item.get("updated_at") or "") >= str(old.get("updated_at") or ""):
        table[key] = item


_DROPPED = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})


class TraceWriter(httpx2.BaseTransport):
    """A transport that records every exchange into an httprr v1 trace at `path`, which
    `projects_from_traces` (and Gaby's own replayer) can read back: credentials headers
    are dropped and every other header and body passes the redaction choke point, so a
    trace can be shared. Appends are flushed and fsynced per exchange."""

    def __init__(self, inner: httpx2.BaseTransport, path: Path) -> None:
        from ...privacy import private_file

        self._inner = inner
        self._path = Path(path)
        new = not self._path.exists()
        self._file = open(self._path, "ab")  # noqa: SIM115 (closed in close())
        if new:
            private_file(self._path)
            self._file.write(HEADER)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        from ...privacy import redact

        response = self._inner.handle_request(request)
        body = response.read()
        target = redact(str(request.url))
        head = [f"{request.method} {target} HTTP/1.1"]
        head += [
            f"{k}: {redact(v)}" for k, v in request.headers.items() if k.lower() not in _DROPPED
        ]
        raw_request = ("\n".join(head) + "\n\n").encode() + request.content
        lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
        lines += [
            f"{k}: {redact(v)}"
            for k, v in response.headers.items()
            if k.lower() not in _DROPPED | {"content-encoding", "transfer-encoding"}
        ]
        raw_response = ("\n".join(lines) + "\n\n").encode() + redact(
            body.decode("utf-8", "replace")
        ).encode()
        self._file.write(
            f"{len(raw_request)} {len(raw_response)}\n".encode() + raw_request + raw_response
        )
        self._file.flush()
        os.fsync(self._file.fileno())
        # The body is decoded now: the headers must not ask the client to decode it again.
        kept = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")
        ]
        return httpx2.Response(response.status_code, headers=kept, content=body, request=request)

    def close(self) -> None:
        self._file.close()
        self._inner.close()
