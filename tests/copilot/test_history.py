"""The output history: each notebook cell's latest execution, kept in a real store and
brought up to date from the learning log incrementally, as suggestions read it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.copilot import ContextCell
from cairn.copilot._executions import attach_executions
from cairn.copilot._history import OutputHistory, executions_for
from cairn.store import KV, open_store, ordered

from ._events import EventLog, ran

BOOK = "/books/disk.md"
OTHER = "/books/other.md"


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KV]:
    store = open_store(tmp_path / "cairn.db")
    yield store
    store.close()


@pytest.fixture
def events(tmp_path: Path) -> EventLog:
    return EventLog(tmp_path / "logs")


def _outputs(entries: list[dict[str, object]]) -> dict[str, str]:
    """stdout by cell id (and by name, as `name:<name>`)."""
    out: dict[str, str] = {}
    for entry in entries:
        out[str(entry["known_id"])] = str(entry["stdout"])
        if entry["known_name"]:
            out[f"name:{entry['known_name']}"] = str(entry["stdout"])
    return out


def test_the_latest_execution_of_each_cell_of_a_notebook_comes_back(
    kv: KV, events: EventLog
) -> None:
    events.write(
        ran("C1", "df -h\n", t=1, path=BOOK, name="disk", stdout="97%\n"),
        ran("C2", "du -sh /var\n", t=2, path=BOOK, name="var", stdout="4G\n"),
        ran("C1", "df -h\n", t=3, path=BOOK, name="disk", stdout="98%\n"),  # again, later
        ran("C9", "uptime\n", t=4, path=OTHER, name="up", stdout="up 3 days\n"),
        ran("C7", "whoami\n", t=5, path=None, stdout="root\n"),  # no notebook: not kept
    )
    history = OutputHistory(kv, events.directory)
    counts = history.update()
    assert counts.events == 5 and counts.recorded == 4
    assert _outputs(history.executions(BOOK)) == {
        "C1": "98%\n",
        "name:disk": "98%\n",
        "C2": "4G\n",
        "name:var": "4G\n",
    }
    assert _outputs(history.executions(OTHER)) == {"C9": "up 3 days\n", "name:up": "up 3 days\n"}
    assert history.executions("/books/never-ran.md") == []


def test_an_update_reads_only_what_was_logged_since_the_last(kv: KV, events: EventLog) -> None:
    events.write(*(ran(f"C{i}", "true\n", t=i, path=BOOK, name=f"c{i}") for i in range(50)))
    history = OutputHistory(kv, events.directory)
    assert history.update().events == 50
    assert history.update().events == 0  # nothing new
    events.write(ran("C3", "false\n", t=60, path=BOOK, name="c3", exit_code=1, stdout="no\n"))
    counts = history.update()
    assert counts.events == 1 and counts.recorded == 1
    entry = next(e for e in history.executions(BOOK) if e["known_id"] == "C3")
    assert entry["exit_code"] == 1 and entry["stdout"] == "no\n"


def test_a_new_process_id_of_a_cell_replaces_the_old_entry(kv: KV, events: EventLog) -> None:
    """A cell without an `id` attribute gets a new id in every `cairn run`: its entries
    stay one per name, and the prompt gets the latest output."""
    history = OutputHistory(kv, events.directory)
    for i in range(5):  # five processes, each a pass of its own
        events.write(ran(f"P{i}", "df -h\n", t=i, path=BOOK, name="disk", stdout=f"{90 + i}%\n"))
        history.update()
    entries = history.executions(BOOK)
    assert _outputs(entries) == {"P4": "94%\n", "name:disk": "94%\n"}
    # The same in one pass.
    events.write(
        *(ran(f"Q{i}", "du\n", t=10 + i, path=BOOK, name="du", stdout=f"{i}\n") for i in range(5))
    )
    history.update()
    assert {e["known_id"] for e in history.executions(BOOK)} == {"P4", "Q4"}
    cell = ContextCell("code", "df -h\n", "sh", id="P-this-process", name="disk")
    (attached,) = attach_executions([cell], history.executions(BOOK))
    assert attached.outputs[0].text == "94%\n"


def test_outputs_of_every_stream_and_the_exit_code_reach_the_context(
    kv: KV, events: EventLog, tmp_path: Path
) -> None:
    book = tmp_path / "disk.md"
    book.write_text('```sh {"name":"big","interactive":"false"}\ndu\n```\n')
    event = ran("C1", "du\n", t=1, path=str(book.resolve()), name="big", stdout="4.0G /var\n")
    events.write(
        event.__class__(
            **{
                **event.__dict__,
                "stderr": "du: cannot read\n",
                "exit_code": 3,
                "interactive": False,
            }
        )
    )
    cell = ContextCell("code", "du\n", "sh", name="big", interactive=False)
    (attached,) = attach_executions([cell], executions_for(kv, events.directory, book))
    assert [(p.stream, p.text) for p in attached.outputs] == [
        ("stdout", "4.0G /var\n"),
        ("stderr", "du: cannot read\n"),
    ]
    assert attached.exit_code == 3


def test_damaged_state_is_rebuilt_or_left_out(kv: KV, events: EventLog) -> None:
    events.write(
        ran("C1", "df\n", t=1, path=BOOK, name="disk", stdout="97%\n"),
        ran("C2", "du\n", t=2, path=BOOK, name="du", stdout="4G\n"),
    )
    history = OutputHistory(kv, events.directory)
    history.update()
    kv.set(ordered.encode("copilot.history", "offset"), b"\xffgarbage")
    kv.set(ordered.encode("copilot.history.cell", BOOK, "id", "C2"), b"{not json")
    assert history.update().events == 2  # the offset was unreadable: read again from the start
    assert _outputs(history.executions(BOOK))["C2"] == "4G\n"  # and the entry rewritten
    kv.set(ordered.encode("copilot.history.cell", BOOK, "id", "C2"), b"[1, 2]")
    entries = history.executions(BOOK)
    assert len(entries) == 3  # the unreadable entry by id is left out; C2's by name stays
    assert _outputs(entries)["name:du"] == "4G\n" and _outputs(entries)["C1"] == "97%\n"


def test_malformed_and_torn_lines_do_not_stop_an_update(kv: KV, events: EventLog) -> None:
    events.write(ran("C1", "df\n", t=1, path=BOOK, name="disk", stdout="97%\n"))
    events.append_raw(b'{"type":"cell.executed","notebook_path":"/books/disk.md","known_id":7}\n')
    events.append_raw(b"not json at all\n")
    events.append_raw(b'{"type":"cell.executed","known_id":"C9","notebook_path":"/bo')  # torn
    history = OutputHistory(kv, events.directory)
    counts = history.update()
    assert counts.malformed == 1 and counts.skipped == 1
    assert set(_outputs(history.executions(BOOK))) == {"C1", "name:disk"}


def test_a_reader_does_not_wait_for_another_processes_long_update(
    tmp_path: Path, events: EventLog
) -> None:
    events.write(ran("C1", "df\n", t=1, path=BOOK, name="disk", stdout="97%\n"))
    first = open_store(tmp_path / "cairn.db")
    OutputHistory(first, events.directory).update()
    events.write(ran("C2", "du\n", t=2, path=BOOK, name="du", stdout="4G\n"))
    holder = open_store(tmp_path / "cairn.db")
    holder.lock("copilot.history")  # another process is mid-update
    try:
        done = threading.Event()
        result: list[object] = []

        def read() -> None:
            history = OutputHistory(first, events.directory)
            result.append(history.update(wait=0.2))
            result.append(history.executions(BOOK))
            done.set()

        threading.Thread(target=read).start()
        assert done.wait(30)
        assert result[0].events == 0  # type: ignore[attr-defined]
        assert set(_outputs(result[1])) == {"C1", "name:disk"}  # type: ignore[arg-type]
    finally:
        holder.unlock("copilot.history")
        holder.close()
    assert OutputHistory(first, events.directory).update().events == 1  # caught up later
    first.close()


def test_a_missing_log_dir_gives_no_outputs(kv: KV, tmp_path: Path) -> None:
    history = OutputHistory(kv, tmp_path / "no-logs")
    assert history.update().events == 0
    assert history.executions(BOOK) == []
