"""An embeddings client for OpenAI-compatible servers: OpenAI, Ollama, vLLM, llama.cpp.

POST {base_url}/embeddings with {"model", "input": [...]}, in batches. Rate limits (429)
and server errors (5xx) are retried with exponential backoff, waiting at least as long
as the server's Retry-After says; anything else becomes one EmbeddingError line.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..privacy import default_redactor
from ._embedder import as_matrix
from ._errors import EmbeddingError

if TYPE_CHECKING:
    import httpx
    import numpy as np
    from numpy.typing import NDArray

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "text-embedding-3-small"
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/embeddings` endpoint.

    `base_url` ends before `/embeddings` (e.g. `http://localhost:11434/v1` for Ollama).
    Requests carry `Authorization: Bearer <api_key>` when a key is given. At most
    `max_retries` retries per batch; a Retry-After longer than `max_wait` seconds fails
    at once rather than stalling.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        batch_size: int = 128,
        dims: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1:
            raise EmbeddingError(f"batch size must be at least 1, not {batch_size}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._dims = dims
        self._api_key = api_key
        self._timeout = timeout
        self._transport = transport
        self._sleep = sleep
        self._client: httpx.Client | None = None

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def dims(self) -> int | None:
        return self._dims

    @property
    def url(self) -> str:
        return f"{self.base_url}/embeddings"

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            headers = {"Content-Type": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._client = httpx.Client(
                headers=headers, timeout=self._timeout, transport=self._transport
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self._dims or 0), dtype=np.float32)
        parts = [
            self._embed_batch(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        redact = default_redactor().redact  # nothing secret leaves for a remote API
        body = self._post({"model": self.model, "input": [redact(text) for text in texts]})
        rows = _rows(body, len(texts), self.url)
        matrix = as_matrix(rows, len(texts), self._dims, f"embeddings server {self.url}")
        self._dims = int(matrix.shape[1])
        return matrix

    def _post(self, payload: dict[str, Any]) -> Any:
        import httpx

        attempt = 0
        while True:
            try:
                response = self._http().post(self.url, json=payload)
            except httpx.ConnectError as exc:
                raise EmbeddingError(
                    f"cannot reach the embeddings server at {self.url}: {_reason(exc)}"
                    " (is it running? set the URL with --base-url or CAIRN_EMBEDDINGS_URL)"
                ) from None
            except httpx.HTTPError as exc:
                if attempt >= self.max_retries:
                    raise EmbeddingError(
                        f"embeddings request to {self.url} failed after {attempt + 1}"
                        f" attempts: {_reason(exc)}"
                    ) from None
                self._wait(attempt, None)
                attempt += 1
                continue
            if response.status_code < 300:
                try:
                    return response.json()
                except ValueError:
                    raise EmbeddingError(
                        f"embeddings server at {self.url} answered with non-JSON"
                        f" ({response.headers.get('content-type', 'no content type')})"
                    ) from None
            if response.status_code in _RETRY_STATUS and attempt < self.max_retries:
                self._wait(attempt, retry_after(response.headers.get("retry-after")))
                attempt += 1
                continue
            raise EmbeddingError(_status_message(self.url, response, attempt))

    def _wait(self, attempt: int, asked: float | None) -> None:
        delay = min(self.backoff * (2**attempt), self.max_wait)
        if asked is not None:
            if asked > self.max_wait:
                raise EmbeddingError(
                    f"embeddings server at {self.url} asked to retry after {asked:.0f} s"
                    f" (more than the {self.max_wait:.0f} s this client waits); try again later"
                )
            delay = max(delay, asked)
        self._sleep(delay)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _status_message(url: str, response: httpx.Response, retries: int) -> str:
    detail = ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = str(error.get("message") or "")
        elif error:
            detail = str(error)
    except ValueError:
        detail = response.text[:200]
    detail = " ".join(detail.split())
    hint = {
        401: " (check the API key: CAIRN_EMBEDDINGS_API_KEY or OPENAI_API_KEY)",
        403: " (the API key may lack access to this model)",
        404: " (check the base URL: it should end in /v1 for most servers)",
    }.get(response.status_code, "")
    tries = f" after {retries + 1} attempts" if retries else ""
    reason = response.reason_phrase or "error"
    return (
        f"embeddings server at {url} answered {response.status_code} {reason}{tries}"
        f"{': ' + detail if detail else ''}{hint}"
    )


def _rows(body: Any, count: int, url: str) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else "no"
        raise EmbeddingError(
            f"embeddings server at {url} returned {got} embeddings for {count} inputs"
        )
    try:
        ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
        return [item["embedding"] for item in ordered]
    except (AttributeError, KeyError, TypeError, ValueError):
        raise EmbeddingError(
            f"embeddings server at {url} returned items without an 'embedding' list"
        ) from None
