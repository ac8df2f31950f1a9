"""Every route but /health wants the token; WebSockets also refuse foreign origins."""

from __future__ import annotations

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
