"""Every route but /health wants the token; WebSockets also refuse foreign origins."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from .conftest import TOKEN, Served, collect

PROTECTED = [
    ("GET", "/v1/sessions", None),
    ("GET", "/v1/files/cells?path=ops.md", None),
    ("POST", "/v1/notebooks/parse", {"markdown": "# hi\n"}),
    ("POST", "/v1/notebooks/serialize", {"markdown": "# hi\n", "edits": []}),
    ("DELETE", "/v1/sessions/nope", None),
    ("POST", "/v1/suggest", {"path": "ops.md"}),
    ("GET", "/v1/no-such-route", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
]


def test_health_needs_no_token(served: Served) -> None:
    with served.http(token=None) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x"])
def test_every_route_refuses_a_missing_or_wrong_token(served: Served, token: str | None) -> None:
    with served.http(token=token) as client:
        for method, path, body in PROTECTED:
            response = client.request(method, path, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


BIG = 46 << 20  # the body of the report


def _counted_body(size: int, sent: list[int]) -> Iterator[bytes]:
    """A JSON body of `size` bytes, sent chunked; `sent[0]` counts what was taken."""
    head = b'{"notebook": {"cells": [{"kind": 2, "value": "'
    tail = b'"}]}}'
    chunk = b"x" * (64 << 10)
    sent[0] += len(head)
    yield head
    left = size - len(head) - len(tail)
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        left -= len(piece)
        sent[0] += len(piece)
        yield piece
    sent[0] += len(tail)
    yield tail


@pytest.mark.parametrize("route", ["/v1/suggest", "/v1/notebooks/parse", "/v1/nowhere"])
def test_an_unauthenticated_body_is_refused_before_it_is_read(served: Served, route: str) -> None:
    sent = [0]
    with served.http(token=None) as client:
        response = client.post(
            route, content=_counted_body(BIG, sent), headers={"content-type": "application/json"}
        )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    # The server answered without taking the body: the client could only push what the
    # sockets' buffers hold before the connection was closed.
    assert sent[0] < BIG // 4, f"{sent[0] >> 20} MiB of {BIG >> 20} MiB were read"
    with served.http() as client:
        assert client.get("/v1/sessions").status_code == 200


def test_an_unauthenticated_body_over_the_limit_gets_401_not_413(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(max_body_bytes=1 << 10)
    body = json.dumps({"markdown": "x" * (4 << 10)})
    with served.http(token=None) as client:
        response = client.post("/v1/notebooks/parse", content=body)
    assert response.status_code == 401


def test_a_non_bearer_authorization_header_is_refused(served: Served) -> None:
    with httpx.Client(base_url=served.url, trust_env=False) as client:
        response = client.get("/v1/sessions", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


def test_the_right_token_opens_the_api_and_its_docs(served: Served) -> None:
    with served.http() as client:
        assert client.get("/v1/sessions").status_code == 200
        schema = client.get("/openapi.json").json()
    assert "/v1/notebooks/parse" in schema["paths"]
    assert "/v1/files/cells" in schema["paths"]
    assert "/v1/execute" in schema["info"]["description"]
    with served.http(token=None) as client:
        docs = client.get(f"/docs?token={TOKEN}")
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        assert client.get(f"/openapi.json?token={TOKEN}").status_code == 200


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_websocket_without_the_right_token_is_refused_with_401(
    served: Served, token: str | None
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        served.ws(token=token)
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1.evil.example:{port}",
        "http://127.0.0.1:1",  # another local server's page
        "null",
    ],
)
def test_websocket_from_a_foreign_origin_is_refused_with_403(served: Served, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        served.ws(origin=origin.format(port=served.port))
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_websocket_from_the_servers_own_origin_is_accepted(served: Served, host: str) -> None:
    with served.ws(origin=f"http://{host}:{served.port}", query_token=True) as ws:
        ws.send('{"path": "ops.md", "cell": "hello"}')
        run = collect(ws)
    assert run.exited["exit_code"] == 0
    assert run.close_code == 1000
