"""The HTTP API: parse, serialize, list cells, sessions, and what bad input gets."""

from __future__ import annotations

from pathlib import Path

from cairn.notebook import parse, to_json

from .conftest import CELL_ID, RUNBOOK, Served, execute


def test_parse_returns_the_notebooks_stable_json(served: Served) -> None:
    with served.http() as client:
        response = client.post("/v1/notebooks/parse", json={"markdown": RUNBOOK})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = to_json(parse(RUNBOOK))
    assert body == expected
    names = [c["name"] for c in body["cells"] if c["kind"] == "code"]
    assert names[:2] == ["hello", "ask"]
    assert body["frontmatter"]["data"] == {"shell": "bash"}


def test_serialize_without_edits_gives_back_the_same_bytes(served: Served) -> None:
    text = "# Title\r\n\r\n```sh {name=a}\r\necho a\r\n```\r\n\r\ntrailing  \r\n"
    with served.http() as client:
        response = client.post("/v1/notebooks/serialize", json={"markdown": text})
    assert response.status_code == 200
    assert response.json()["markdown"] == text


def test_serialize_changes_only_the_edited_cells_bytes(served: Served) -> None:
    cells = parse(RUNBOOK).cells
    index = next(i for i, c in enumerate(cells) if c.name == "slow")
    with served.http() as client:
        response = client.post(
            "/v1/notebooks/serialize",
            json={"markdown": RUNBOOK, "edits": [{"index": index, "source": "sleep 1"}]},
        )
    assert response.status_code == 200, response.text
    out = response.json()["markdown"]
    expected = RUNBOOK.replace("echo started\nsleep 60\n", "sleep 1\n")
    assert out == expected


def test_malformed_bodies_get_422_with_a_message(served: Served) -> None:
    with served.http() as client:
        missing = client.post("/v1/notebooks/parse", json={})
        wrong_type = client.post("/v1/notebooks/parse", json={"markdown": 42})
        not_json = client.post(
            "/v1/notebooks/parse",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        bad_edit = client.post(
            "/v1/notebooks/serialize",
            json={"markdown": "# x\n", "edits": [{"index": -1, "source": ""}]},
        )
        no_such_cell = client.post(
            "/v1/notebooks/serialize",
            json={"markdown": "# x\n", "edits": [{"index": 5, "source": ""}]},
        )
    for response in (missing, wrong_type, not_json, bad_edit, no_such_cell):
        assert response.status_code == 422, response.text
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert "markdown" in missing.json()["detail"]
    assert "no cell 5" in no_such_cell.json()["detail"]


def test_a_body_that_is_not_json_is_not_echoed_back(served: Served) -> None:
    body = b'{"markdown": "' + b"x" * (1 << 20) + b"  no closing quote"
    with served.http() as client:
        response = client.post(
            "/v1/notebooks/parse", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]
    assert len(response.content) < 1000


def test_cells_of_a_file_lists_its_code_cells(served: Served) -> None:
    with served.http() as client:
        response = client.get("/v1/files/cells", params={"path": "ops.md"})
    assert response.status_code == 200, response.text
    cells = response.json()["cells"]
    assert [c["name"] for c in cells] == ["hello", "ask", "size", "slow", "count", "show-greeting"]
    assert cells[0] == {
        "name": "hello",
        "id": CELL_ID,
        "language": "sh",
        "first_command": "export GREETING=hello",
        "interactive": False,
        "line": 7,
    }
    assert cells[1]["id"] is None and cells[1]["interactive"] is True


def test_paths_that_leave_the_root_get_400_and_missing_files_404(
    served: Served, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("```sh\necho secret\n```\n", encoding="utf-8")
    (served.root / "link.md").symlink_to(outside)
    (served.root / "dir").mkdir()
    with served.http() as client:

        def status(path: str) -> int:
            return client.get("/v1/files/cells", params={"path": path}).status_code

        assert status("../outside.md") == 400
        assert status(str(outside)) == 400
        assert status("link.md") == 400
        assert status("dir/../../outside.md") == 400
        assert status("missing.md") == 404
        assert status("dir") == 400
        assert client.get("/v1/files/cells").status_code == 422


def test_sessions_are_listed_reused_and_deleted(served: Served) -> None:
    first = execute(served, {"path": "ops.md", "cell": "hello"})
    session = first.started["session"]
    again = execute(served, {"path": "ops.md", "cell": "show-greeting", "session": session})
    assert again.started["session"] == session
    assert again.output("stdout") == b"greeting=hello\n"  # the export carried over
    fresh = execute(served, {"path": "ops.md", "cell": "show-greeting"})
    assert fresh.output("stdout") == b"greeting=unset\n"
    with served.http() as client:
        listed = client.get("/v1/sessions").json()["sessions"]
        mine = next(s for s in listed if s["id"] == session)
        assert mine["executions"] == 2
        assert mine["failures"] == 0
        assert mine["busy"] is False
        assert mine["cwd"] == str(served.root)
        assert mine["path"] == "ops.md"
        assert mine["created"].endswith("Z")
        assert {s["id"] for s in listed} == {session, fresh.started["session"]}
        assert client.delete(f"/v1/sessions/{session}").status_code == 204
        assert client.delete(f"/v1/sessions/{session}").status_code == 404
        remaining = client.get("/v1/sessions").json()["sessions"]
    assert session not in {s["id"] for s in remaining}
    gone = execute(served, {"path": "ops.md", "cell": "hello", "session": session})
    assert gone.of("error")[0]["status"] == 404
    assert gone.close_code == 4404
