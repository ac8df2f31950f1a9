"""Request bodies over the server's limit get one 413 with an actionable message, whether
they declare their length or arrive chunked, and the server goes on serving."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from .conftest import Served

LIMIT = 64 << 10


def _markdown_body(size: int) -> bytes:
    return json.dumps({"markdown": "# big\n\n" + "x" * size}).encode()


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(max_body_bytes=LIMIT)
    with served.http() as client:
        reply = client.post(
            "/v1/notebooks/parse",
            content=_markdown_body(LIMIT * 4),
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 413
        detail = reply.json()["detail"]
        assert "0.0625 MiB" in detail and "--max-body-mb" in detail
    with served.http() as client:  # a new connection: the refused one was closed
        assert client.get("/health").status_code == 200


def test_a_chunked_body_is_counted_as_it_arrives(make_served: Callable[..., Served]) -> None:
    served = make_served(max_body_bytes=LIMIT)
    body = _markdown_body(LIMIT * 4)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    with served.http() as client:
        reply = client.post(
            "/v1/notebooks/parse", content=chunks(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in {k.lower() for k in reply.request.headers}
    assert reply.status_code == 413, reply.text
    assert "--max-body-mb" in reply.json()["detail"]
    with served.http() as client:
        assert client.get("/health").status_code == 200


def test_bodies_within_the_limit_are_served(make_served: Callable[..., Served]) -> None:
    served = make_served(max_body_bytes=LIMIT)
    with served.http() as client:
        reply = client.post(
            "/v1/notebooks/parse",
            content=_markdown_body(LIMIT // 2),
            headers={"content-type": "application/json"},
        )
    assert reply.status_code == 200, reply.text
    source = reply.json()["cells"][0]["source"]
    assert source.startswith("# big") and source.count("x") == LIMIT // 2


def test_a_suggestion_request_over_the_limit_is_refused(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(max_body_bytes=LIMIT)
    output = {"mime": "application/vnd.code.notebook.stdout", "data": "y" * (LIMIT * 2)}
    notebook = {"cells": [{"kind": 2, "value": "yes", "outputs": [{"items": [output]}]}]}
    with served.http() as client:
        reply = client.post("/v1/suggest", json={"notebook": notebook})
    assert reply.status_code == 413
    assert "trimmed" in reply.json()["detail"]
