"""A local server that speaks Anthropic's Messages API wire format (JSON and SSE), so
the real `anthropic` SDK runs against it. Each request takes the next scripted behaviour."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_openai import Behaviour, Seen

__all__ = ["Behaviour", "FakeAnthropic", "Seen"]

_ERROR_TYPES = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


class FakeAnthropic:
    def __init__(self) -> None:
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
                fake.seen.append(Seen(self.path, headers, body))
                behaviour = fake.script.popleft() if fake.script else Behaviour()
                fake.answer(self, behaviour, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        # The SDK appends /v1/messages itself.
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answers -------------------------------------------------------------------------

    def answer(self, h: BaseHTTPRequestHandler, b: Behaviour, body: dict[str, Any]) -> None:
        if b.kind == "status":
            error = {"type": _ERROR_TYPES.get(b.status, "api_error"), "message": "scripted"}
            payload = json.dumps({"type": "error", "error": error})
            self._send(h, b.status, payload.encode(), "application/json", b.headers)
            return
        if body.get("stream"):
            self._stream(h, b, body)
            return
        content: list[dict[str, Any]] = [{"type": "text", "text": b.text}]
        stop = "end_turn"
        if b.kind == "tool":
            content = [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": b.tool_name,
                    "input": json.loads(b.tool_arguments),
                },
            ]
            stop = "tool_use"
        payload = {
            "id": "msg_fake1",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake") + "-2026",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 11,
                "output_tokens": 7,
                "cache_read_input_tokens": 5,
                "cache_creation_input_tokens": 3,
            },
        }
        self._send(h, 200, json.dumps(payload).encode(), "application/json", b.headers)

    def _events(self, b: Behaviour, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        message = {
            "id": "msg_fake2",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake") + "-2026",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 11,
                "output_tokens": 1,
                "cache_read_input_tokens": 5,
                "cache_creation_input_tokens": 3,
            },
        }
        yield "message_start", {"type": "message_start", "message": message}
        yield "ping", {"type": "ping"}
        if b.kind == "tool":
            text = {"type": "text", "text": ""}
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": text},
            )
            delta = {"type": "text_delta", "text": "Let me check."}
            yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            block = {"type": "tool_use", "id": "toolu_1", "name": b.tool_name, "input": {}}
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": 1, "content_block": block},
            )
            args = b.tool_arguments
            for i in range(0, len(args), 7):
                delta = {"type": "input_json_delta", "partial_json": args[i : i + 7]}
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 1, "delta": delta},
                )
            yield "content_block_stop", {"type": "content_block_stop", "index": 1}
            stop = "tool_use"
        else:
            text = {"type": "text", "text": ""}
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": text},
            )
            words = b.text.split(" ")
            for i, word in enumerate(words):
                piece = word if i == len(words) - 1 else word + " "
                delta = {"type": "text_delta", "text": piece}
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                )
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            stop = "end_turn"
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
        )
        yield "message_stop", {"type": "message_stop"}

    def _stream(self, h: BaseHTTPRequestHandler, b: Behaviour, body: dict[str, Any]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        for key, value in b.headers.items():
            h.send_header(key, value)
        h.end_headers()
        try:
            for i, (name, data) in enumerate(self._events(b, body)):
                if i == 3 and b.first_token_delay:  # before the first text delta
                    time.sleep(b.first_token_delay)
                if b.kind == "drop" and i == 4:
                    h.wfile.flush()
                    h.connection.shutdown(2)  # the connection dies mid-stream
                    h.close_connection = True
                    return
                self._write_chunk(h, f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
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
