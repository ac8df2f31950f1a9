"""What the recorder writes of a request or response: secrets removed, sizes capped.

Headers: credentials by name (Authorization, API-key headers, cookies, anything naming a
key, token, secret or session) become `[REDACTED]`. JSON bodies (and each `data:` line
of an SSE stream): values under keys that name a secret, password, credential, api key,
token or authorization become `[REDACTED]` — except counters such as `input_tokens` or
`max_tokens` (numbers, and keys about *tokens* in the plural), which debugging needs.
Every remaining string goes through the learning log's redactor (known token formats,
secret environment values, the provider's own key). Then each part is capped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...privacy import Redactor

REDACTED = "[REDACTED]"
DEFAULT_PART_CAP = 64 * 1024  # characters per body
HEADER_CAP = 2048

_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session|password|credential", re.I)
_SECRET_KEY = re.compile(
    r"secret|password|passwd|credential|api[_-]?key|apikey|token|authorization|cookie", re.I
)


def truncate(text: str, cap: int) -> str:
    """`text`, or its first `cap` characters and a marker saying how much was cut."""
    if len(text) <= cap:
        return text
    return f"{text[:cap]}…[truncated {len(text) - cap} chars]"


def _is_counter(key: str, value: Any) -> bool:
    """Numbers (`max_tokens: 1024`) and token-count objects (`prompt_tokens_details`)."""
    if isinstance(value, str):
        return False
    return isinstance(value, int | float) or value is None or "tokens" in key.lower()


class Scrubber:
    """Redacts and caps recorded HTTP parts; one per recorder."""

    def __init__(self, redactor: Redactor | None = None, *, part_cap: int = DEFAULT_PART_CAP):
        self.redactor = redactor or Redactor()
        self.part_cap = part_cap

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            lowered = name.lower()
            if _SECRET_HEADER.search(lowered):
                out[lowered] = REDACTED
            else:
                out[lowered] = truncate(self.redactor.redact(value), HEADER_CAP)
        return out

    def url(self, url: str) -> str:
        """A URL without a password or secret-named query values (`?key=…`, `&token=…`)."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
        query = [
            (k, REDACTED if _SECRET_KEY.search(k) or k.lower() in ("key", "sig") else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        cleaned = urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="[]")))
        return self.redactor.redact(cleaned)

    def data(self, value: Any) -> Any:
        """A JSON value with secret-named keys and secret-looking strings redacted."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if _SECRET_KEY.search(str(key)) and not _is_counter(str(key), item):
                    out[key] = REDACTED
                else:
                    out[key] = self.data(item)
            return out
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.redactor.redact(value)
        return value

    def body(self, raw: bytes | str, content_type: str = "") -> str:
        """A request or response body as redacted, capped text."""
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text:
            return ""
        if "event-stream" in content_type or text.startswith(("data:", "event:")):
            text = "\n".join(self._sse_line(line) for line in text.split("\n"))
        else:
            text = self._json_or_text(text)
        return truncate(text, self.part_cap)

    def _json_or_text(self, text: str) -> str:
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                value = json.loads(text)
            except ValueError:
                pass
            else:
                return json.dumps(self.data(value), ensure_ascii=False, separators=(",", ":"))
        return self.redactor.redact(text)

    def _sse_line(self, line: str) -> str:
        if line.startswith("data:"):
            payload = line[5:].strip()
            return "data: " + self._json_or_text(payload) if payload else line
        return self.redactor.redact(line)
