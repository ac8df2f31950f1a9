"""Errors name files as clients name them: relative to the served root, never by the
server's absolute paths, over HTTP, the execute socket and the suggestion route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Served, execute, serve


def _no_server_paths(message: str, *paths: Path) -> None:
    for path in paths:
        assert str(path) not in message, message
    assert "/tmp/" not in message, message


def _prepare(root: Path) -> None:
    (root / "dir").mkdir()
    (root / "cwd.md").write_text(
        '```sh {"name":"a","cwd":"nowhere","interactive":"false"}\necho a\n```\n', encoding="utf-8"
    )


def _check(served: Served, *paths: Path) -> None:
    with served.http() as client:
        for path, expected in ((".", "."), ("dir", "dir"), ("./dir/..", ".")):
            reply = client.get("/v1/files/cells", params={"path": path})
            assert reply.status_code == 400, reply.text
            detail = reply.json()["detail"]
            _no_server_paths(detail, *paths)
            assert detail.startswith(f"{expected}: is a directory"), detail
        reply = client.post("/v1/suggest", json={"path": "."})
        assert reply.status_code == 400
        _no_server_paths(reply.json()["detail"], *paths)
    runs: list[tuple[dict[str, Any], str]] = [
        ({"path": ".", "cell": "a"}, ".: is a directory"),
        ({"path": "cwd.md", "cell": "a"}, "'nowhere' does not exist"),
    ]
    for request, expected in runs:
        (error,) = execute(served, request).of("error")
        _no_server_paths(error["message"], *paths)
        assert expected in error["message"], error


def test_errors_name_paths_relative_to_the_root(served: Served) -> None:
    _prepare(served.root)
    _check(served, served.root)


def test_a_root_given_through_a_symlink_is_not_shown_either(tmp_path: Path) -> None:
    real = (tmp_path / "real-books").resolve()
    real.mkdir()
    _prepare(real)
    link = tmp_path / "books"
    link.symlink_to(real)
    config_dir = tmp_path / "config"
    with serve(link, config_dir) as port:
        _check(Served(port, link, config_dir, link / "cwd.md"), real, link)


@pytest.mark.parametrize("path", ["../outside.md", "/etc/passwd"])
def test_paths_outside_the_root_are_refused_in_the_clients_words(served: Served, path: str) -> None:
    with served.http() as client:
        reply = client.get("/v1/files/cells", params={"path": path})
    assert reply.status_code == 400
    detail = reply.json()["detail"]
    assert detail.startswith(path)
    _no_server_paths(detail, served.root)
