"""The file routes the page uses, over plain HTTP with the bearer token: listing, the
notebook with its ETag, saving with If-Match (428, 409, 404, 400, 422) and accepting a
suggestion into a file that changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..copilot._server import Server
from .conftest import RUNBOOK


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "books"
    (root / "sub").mkdir(parents=True)
    (root / "checks.md").write_text(RUNBOOK)
    (root / "sub" / "deep.md").write_text("# Deep\n")
    (root / ".hidden.md").write_text("# no\n")
    (root / "latin1.md").write_bytes("# caf\xe9\n".encode("latin-1"))
    started = Server(root, tmp_path / "cfg")
    yield started
    started.close()


def test_files_are_listed_and_a_notebook_comes_with_its_etag(api: Server) -> None:
    with api.http() as client:
        assert client.get("/v1/files").json() == {
            "files": ["checks.md", "latin1.md", "sub/deep.md"],
            "truncated": False,
        }
        reply = client.get("/v1/files/notebook", params={"path": "checks.md"})
        assert reply.status_code == 200 and reply.headers["etag"].startswith('"')
        assert [c["kind"] for c in reply.json()["cells"]][:2] == ["markup", "code"]


def test_saving_needs_the_version_it_was_made_on(api: Server) -> None:
    root = api.app.state.cairn.root
    edit = {"edits": [{"index": 1, "source": 'echo "changed"\n'}]}
    with api.http() as client:
        etag = client.get("/v1/files/notebook", params={"path": "checks.md"}).headers["etag"]
        put = client.put
        assert put("/v1/files/notebook", params={"path": "checks.md"}, json=edit).status_code == 428
        (root / "checks.md").write_text(RUNBOOK + "\nMore.\n")
        stale = put(
            "/v1/files/notebook",
            params={"path": "checks.md"},
            json=edit,
            headers={"if-match": etag},
        )
        assert stale.status_code == 409 and "changed on disk" in stale.json()["detail"]
        assert (root / "checks.md").read_text() == RUNBOOK + "\nMore.\n"
        fresh = client.get("/v1/files/notebook", params={"path": "checks.md"}).headers["etag"]
        ok = put(
            "/v1/files/notebook",
            params={"path": "checks.md"},
            json=edit,
            headers={"if-match": fresh},
        )
        assert ok.status_code == 200 and ok.headers["etag"] != fresh
        assert 'echo "changed"\n' in (root / "checks.md").read_text()
        assert (root / "checks.md").read_text().endswith("\nMore.\n")  # the rest kept
        for path, status in (("../x.md", 400), ("nope.md", 404), ("latin1.md", 400)):
            reply = put(
                "/v1/files/notebook", params={"path": path}, json=edit, headers={"if-match": "*"}
            )
            assert reply.status_code == status, (path, reply.text)
        too_far = {"edits": [{"index": 99, "source": "x"}]}
        reply = put(
            "/v1/files/notebook",
            params={"path": "checks.md"},
            json=too_far,
            headers={"if-match": "*"},
        )
        assert reply.status_code == 422 and "no cell 99" in reply.json()["detail"]


def test_accepting_into_a_changed_file_is_refused(api: Server) -> None:
    root = api.app.state.cairn.root
    body = {
        "path": "checks.md",
        "cursor": 2,
        "trace_id": "t1",
        "cell_id": "01JCELL0000000000000000000",
        "source": "echo next\n",
    }
    with api.http() as client:
        etag = client.get("/v1/files/notebook", params={"path": "checks.md"}).headers["etag"]
        (root / "checks.md").write_text(RUNBOOK + "\nTheirs.\n")
        refused = client.post("/v1/suggestions/accept", json=body, headers={"if-match": etag})
        assert refused.status_code == 409
        assert "echo next" not in (root / "checks.md").read_text()
        past_end = client.post("/v1/suggestions/accept", json=body | {"cursor": 99})
        assert past_end.status_code == 422
        accepted = client.post("/v1/suggestions/accept", json=body)
        assert accepted.status_code == 200
        assert '"id":"01JCELL0000000000000000000"' in (root / "checks.md").read_text()
