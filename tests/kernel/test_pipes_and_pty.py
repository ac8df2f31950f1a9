"""Non-interactive cells run on pipes (streams kept apart); interactive cells get a PTY."""

from __future__ import annotations

import threading

import pytest

from cairn.kernel import CellResult, CellSpec, Session


def test_pipes_capture_stdout_and_stderr_separately(session: Session) -> None:
    result = session.run(CellSpec("echo out; echo err >&2; echo out2", interactive=False))
    assert result.process.stdout.text == "out\nout2\n"
    assert result.process.stderr.text == "err\n"
    assert result.process.interactive is False


def test_pipe_chunks_keep_arrival_order_time_and_stream(session: Session) -> None:
    source = "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c"
    result = session.run(CellSpec(source, interactive=False))
    chunks = result.process.chunks
    assert [(c.stream, bytes(c.data)) for c in chunks] == [
        ("stdout", b"a\n"),
        ("stderr", b"b\n"),
        ("stdout", b"c\n"),
    ]
    times = [c.t for c in chunks]
    assert times == sorted(times)
    assert times[2] - times[0] >= 0.2  # the cell slept 0.4 s between "a" and "c"
    assert 0 <= times[0] <= result.process.duration


def test_pipe_cell_does_not_see_a_terminal(session: Session) -> None:
    result = session.run(CellSpec("test -t 1 && echo tty || echo notty", interactive=False))
    assert result.process.stdout.text == "notty\n"


def test_pipe_cell_gets_stdin_data_then_end_of_file(session: Session) -> None:
    result = session.run(
        CellSpec("cat; echo END", interactive=False, timeout=5), stdin_data=b"one\ntwo"
    )
    assert not result.process.timed_out
    assert result.process.stdout.text == "one\ntwoEND\n"


def test_pty_output_text_has_escapes_removed_raw_keeps_them(session: Session) -> None:
    source = r"printf '\033[1;31mred\033[0m and \033]0;title\007plain\n'"
    result = session.run(CellSpec(source, interactive=True))
    out = result.process.stdout
    assert out.text == "red and plain\n"
    assert b"\x1b[1;31m" in out.raw
    assert b"\x1b]0;title\x07" in out.raw


def test_pty_raw_output_has_crlf_line_endings(session: Session) -> None:
    result = session.run(CellSpec("echo one; echo two", interactive=True))
    assert result.process.stdout.raw == b"one\r\ntwo\r\n"
    assert result.process.stdout.text == "one\ntwo\n"


def test_pty_merges_stderr_into_the_terminal_stream(session: Session) -> None:
    result = session.run(CellSpec("echo out; echo err >&2", interactive=True))
    assert result.process.stdout.text == "out\nerr\n"
    assert result.process.stderr.total == 0
    assert {c.stream for c in result.process.chunks} == {"pty"}


def test_pty_cell_sees_a_terminal(session: Session) -> None:
    source = "test -t 0 && test -t 1 && test -t 2 && echo tty"
    result = session.run(CellSpec(source, interactive=True))
    assert result.process.stdout.text == "tty\n"
    assert result.process.interactive is True


def test_pty_window_size_is_applied(session: Session) -> None:
    result = session.run(CellSpec("stty size", interactive=True), winsize=(30, 100))
    assert result.process.stdout.text == "30 100\n"


def test_pty_forwards_stdin_data(session: Session) -> None:
    result = session.run(
        CellSpec("read x; echo got $x", interactive=True, timeout=5), stdin_data=b"hello\n"
    )
    assert not result.process.timed_out
    assert "got hello\n" in result.process.stdout.text


def test_pty_stdin_data_ends_with_end_of_file(session: Session) -> None:
    result = session.run(
        CellSpec("cat >/dev/null; echo END", interactive=True, timeout=5),
        stdin_data=b"one\ntwo\n",
    )
    assert not result.process.timed_out
    assert result.process.stdout.text.endswith("END\n")


def test_pty_stdin_data_without_final_newline_still_ends_with_end_of_file(
    session: Session,
) -> None:
    # In canonical mode one ^D after a partial line only flushes it; EOF needs another.
    result = session.run(
        CellSpec("cat >/dev/null; echo END", interactive=True, timeout=2),
        stdin_data=b"no newline at the end",
    )
    assert not result.process.timed_out
    assert result.process.stdout.text.endswith("END\n")


@pytest.mark.parametrize("interactive", [False, True])
def test_progress_bar_collapses_to_its_final_state(session: Session, interactive: bool) -> None:
    source = r"printf 'fetching  10%%\rfetching  55%%\rfetching 100%%\ndone\n'"
    result = session.run(CellSpec(source, interactive=interactive))
    out = result.process.stdout
    assert out.text == "fetching 100%\ndone\n"
    assert out.raw.count(b"\r") >= 2


def test_resize_while_running_changes_the_window_and_signals_winch(session: Session) -> None:
    source = (
        "trap 'resized=1' WINCH\n"
        "echo ready\n"
        'while [ -z "$resized" ]; do sleep 0.02; done\n'
        'echo "size $(stty size)"\n'
    )
    ready = threading.Event()
    seen = bytearray()

    def on_output(stream: str, data: bytes) -> None:
        seen.extend(data)
        if b"ready" in seen:
            ready.set()

    cell = CellSpec(source, interactive=True, timeout=10)
    execution, program, state = session.prepare(cell, on_output=on_output, winsize=(24, 80))
    execution.start()
    results: list[CellResult] = []
    waiter = threading.Thread(
        target=lambda: results.append(session.finish(cell, program, execution, state))
    )
    waiter.start()
    assert ready.wait(10), bytes(seen)
    execution.resize(40, 120)
    waiter.join(15)
    assert not waiter.is_alive()
    (result,) = results
    assert not result.process.timed_out
    assert result.exit_code == 0
    assert "size 40 120\n" in result.process.stdout.text
