"""Loading an evaluation dataset: runbooks in file-name order, their cases, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.copilot._dataset import DatasetError, load_dataset
from cairn.copilot._errors import CopilotError

TRIAGE = """# api triage

Check the pods first.

```sh {"id":"01J0000000000000000000000A","name":"pods"}
kubectl -n prod get pods
```

Then the logs.

```sh {"name":"logs"}
kubectl -n prod logs deploy/api --since=15m
```

```sh
```

Roll back if the deploy is bad.

```sh
kubectl -n prod rollout undo deploy/api
```
"""

ONE_CELL = """# disk

```sh
df -h
```
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_runbooks_load_in_file_name_order(tmp_path: Path) -> None:
    # Written out of order on purpose: the replay order is the file name, not mtime.
    data = write(tmp_path / "d", {"b-second.md": TRIAGE, "c-third.md": TRIAGE})
    write(data, {"a-first.md": TRIAGE, "notes.txt": "not a runbook", "README.md": TRIAGE})
    # The dataset's README describes it: it is not one of its runbooks.
    assert [r.name for r in load_dataset(data)] == ["a-first.md", "b-second.md", "c-third.md"]


def test_limit_keeps_the_first_runbooks(tmp_path: Path) -> None:
    data = write(tmp_path, {"1.md": TRIAGE, "2.md": TRIAGE, "3.md": TRIAGE})
    assert [r.name for r in load_dataset(data, limit=2)] == ["1.md", "2.md"]


def test_cells_become_context_cells_with_id_name_and_language(tmp_path: Path) -> None:
    (runbook,) = load_dataset(write(tmp_path, {"t.md": TRIAGE}))
    kinds = [c.kind for c in runbook.cells]
    assert kinds == ["markup", "code", "markup", "code", "code", "markup", "code"]
    pods = runbook.cells[1]
    assert pods.id == "01J0000000000000000000000A"
    assert pods.name == "pods"
    assert pods.language == "sh"
    assert pods.source.strip() == "kubectl -n prod get pods"
    assert runbook.cells[3].id is None
    assert runbook.cells[3].name == "logs"
    assert runbook.cells[0].interactive is None  # prose: not a runnable cell


def test_every_non_empty_code_cell_after_the_first_is_a_case(tmp_path: Path) -> None:
    (runbook,) = load_dataset(write(tmp_path, {"t.md": TRIAGE}))
    cases = runbook.cases()
    assert [c.index for c in cases] == [3, 6]  # not the first code cell, not the empty one
    assert [c.expected.source.strip() for c in cases] == [
        "kubectl -n prod logs deploy/api --since=15m",
        "kubectl -n prod rollout undo deploy/api",
    ]


def test_a_case_context_is_every_cell_before_it(tmp_path: Path) -> None:
    (runbook,) = load_dataset(write(tmp_path, {"t.md": TRIAGE}))
    last = runbook.cases()[-1]
    assert last.runbook == "t.md"
    assert last.context == list(runbook.cells[:6])
    assert last.context[-1].kind == "markup"
    assert "Roll back" in last.context[-1].source


def test_session_outputs_reach_the_context(tmp_path: Path) -> None:
    ran = "\n# Ran on 2025-11-19 21:04:17Z for 1.2s exited with 1\nerror: forbidden\n"
    text = TRIAGE.replace("kubectl -n prod get pods\n", "kubectl -n prod get pods\n" + ran, 1)
    (runbook,) = load_dataset(write(tmp_path, {"t.md": text}))
    pods = runbook.cells[1]
    assert pods.source.strip() == "kubectl -n prod get pods"
    assert [(o.stream, o.text.strip()) for o in pods.outputs] == [("output", "error: forbidden")]
    assert pods.exit_code == 1
    assert runbook.cells[3].outputs == ()
    assert runbook.cells[3].exit_code is None


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset directory"):
        load_dataset(tmp_path / "nope")


def test_a_file_instead_of_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "one.md"
    path.write_text(TRIAGE, encoding="utf-8")
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset(path)


def test_an_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no Markdown runbooks"):
        load_dataset(tmp_path)


def test_a_dataset_without_cases_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no cases"):
        load_dataset(write(tmp_path, {"disk.md": ONE_CELL}))


def test_an_unreadable_runbook_is_a_clear_error(tmp_path: Path) -> None:
    data = write(tmp_path, {"good.md": TRIAGE})
    (data / "bad.md").write_bytes(b"# bad\n\n\xff\xfe not utf-8\n")
    with pytest.raises(DatasetError, match=r"bad\.md.*UTF-8"):
        load_dataset(data)


def test_a_fence_open_at_the_end_of_a_runbook_reads_to_the_end(tmp_path: Path) -> None:
    # CommonMark, and so Runme, closes it at the end of the document.
    data = write(tmp_path, {"good.md": TRIAGE, "open.md": "# x\n\n```sh\nls\n"})
    runbooks = {r.name: r for r in load_dataset(data)}
    assert [c.source for c in runbooks["open.md"].cells if c.kind == "code"] == ["ls\n"]


def test_a_binary_runbook_is_a_clear_error(tmp_path: Path) -> None:
    data = write(tmp_path, {"good.md": TRIAGE})
    (data / "blob.md").write_bytes(b"\x00\x01\x02")
    with pytest.raises(DatasetError, match=r"blob\.md.*binary"):
        load_dataset(data)


def test_dataset_errors_are_copilot_errors(tmp_path: Path) -> None:
    with pytest.raises(CopilotError):
        load_dataset(tmp_path / "nope")


def test_a_limit_below_one_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="at least 1"):
        load_dataset(write(tmp_path, {"t.md": TRIAGE}), limit=0)
