"""The one fake OpenAI of the tests: a local server that speaks OpenAI's Chat Completions
(JSON and SSE) and Embeddings wire formats, so the real `openai` SDK runs against it.
Each request takes the next scripted behaviour. With `api_key`, other keys get OpenAI's
401; with `embed`, embeddings come from that function (else an 8-dim byte histogram);
an input containing "POISON" is refused with 400, as a server refuses an over-long one."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    kind: str = "text"  # text | tool | status | drop
    text: str = "Hello from the fake."
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    first_token_delay: float = 0.0
    tool_name: str = "get_weather"
    tool_arguments: str = '{"city": "Paris", "unit": "celsius"}'


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    time: float = 0.0  # time.monotonic() when the request arrived


class FakeOpenAI:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        embed: Callable[[Sequence[str]], Any] | None = None,
    ) -> None:
        self.api_key = api_key
        self.embed = embed
        self.script: deque[Behaviour] = deque()
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between writes

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.seen.append(Seen(self.path, headers, body, time.monotonic()))
                if fake.api_key and headers.get("authorization") != f"Bearer {fake.api_key}":
                    error = {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                    }
                    data = json.dumps({"error": error}).encode()
                    fake._send(self, 401, data, "application/json", {})
                    return
                behaviour = fake.script.popleft() if fake.script else Behaviour()
                fake.answer(self, behaviour, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answers -------------------------------------------------------------------------

    def answer(self, h: BaseHTTPRequestHandler, b: Behaviour, body: dict[str, Any]) -> None:
        if b.kind != "status" and h.path.endswith("/embeddings"):
            self._embeddings(h, body)
            return
        if b.kind == "status":
            payload = json.dumps({"error": {"message": f"scripted {b.status}", "type": "x"}})
            self._send(h, b.status, payload.encode(), "application/json", b.headers)
            return
        if body.get("stream"):
            self._stream(h, b, body)
            return
        message: dict[str, Any] = {"role": "assistant", "content": b.text}
        finish = "stop"
        if b.kind == "tool":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": b.tool_name, "arguments": b.tool_arguments},
                    }
                ],
            }
            finish = "tool_calls"
        payload = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake") + "-2026",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
        self._send(h, 200, json.dumps(payload).encode(), "application/json", b.headers)

    def _embeddings(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if any("POISON" in str(text) for text in texts):
            error = {"error": {"message": "input is too long for this model", "type": "x"}}
            self._send(h, 400, json.dumps(error).encode(), "application/json", {})
            return
        if self.embed is not None:
            vectors = [list(map(float, row)) for row in self.embed([str(t) for t in texts])]
        else:  # a deterministic 8-dimensional vector per text: its byte histogram, folded
            vectors = []
            for text in texts:
                vector = [0.0] * 8
                for byte in str(text).encode():
                    vector[byte % 8] += 1.0
                vectors.append(vector)
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        data.reverse()  # the protocol orders by "index", not by position
        tokens = sum(len(str(t).split()) for t in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        self._send(h, 200, json.dumps(payload).encode(), "application/json", {})

    def _chunks(self, b: Behaviour, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        base = {
            "id": "chatcmpl-fake2",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake") + "-2026",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        if b.kind == "tool":
            args = b.tool_arguments
            first = {"index": 0, "id": "call_1", "type": "function"}
            yield chunk(
                {"tool_calls": [first | {"function": {"name": b.tool_name, "arguments": ""}}]}
            )
            for i in range(0, len(args), 7):
                yield chunk(
                    {"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 7]}}]}
                )
            yield chunk({}, "tool_calls")
        else:
            for word in b.text.split(" "):
                yield chunk({"content": word + " "})
            yield chunk({}, "stop")
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        yield base | {"choices": [], "usage": usage}

    def _stream(self, h: BaseHTTPRequestHandler, b: Behaviour, body: dict[str, Any]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        for key, value in b.headers.items():
            h.send_header(key, value)
        h.end_headers()
        chunks = list(self._chunks(b, body))
        try:
            for i, item in enumerate(chunks):
                if i == 1 and b.first_token_delay:
                    time.sleep(b.first_token_delay)
                if b.kind == "drop" and i == 3:
                    h.wfile.flush()
                    h.connection.shutdown(2)  # the connection dies mid-stream
                    h.close_connection = True
                    return
                self._write_chunk(h, f"data: {json.dumps(item)}\n\n".encode())
            self._write_chunk(h, b"data: [DONE]\n\n")
            self._write_chunk(h, b"")
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    @staticmethod
    def _write_chunk(h: BaseHTTPRequestHandler, data: bytes) -> None:
        h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        h.wfile.flush()

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str, headers: dict[str, str]
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)
