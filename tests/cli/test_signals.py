"""`cairn run` stopped by a signal: the cell's whole process group goes, the cell is
recorded as cancelled, the session is recorded as ended, and its temp dir is removed.
After a `kill -9` nothing can run, so the next start removes what it left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cairn.learnlog import read_events

from .._wait import wait_until
from ..kernel._processes import group_members, is_gone
from .conftest import CAIRN

# The background sleep ignores SIGINT (a non-interactive shell's `&` jobs do), so only
# the SIGKILL after the grace period ends it: the case that used to survive cairn.
HANG = """\
```sh {"name":"hang","interactive":"%s"}
sleep 300 &
echo $! > child.pid
echo $$ > shell.pid
wait
```

```sh {"name":"quick","interactive":"false"}
echo quick
```
"""


class Run:
    """`cairn run` started in the background, in its own directory, TMPDIR and config."""

    def __init__(
        self,
        root: Path,
        tmpdir: Path,
        *names: str,
        interactive: bool = False,
        ignore_sighup: bool = False,
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.config = root / "cfg"
        book = root / "README.md"
        if not book.exists():
            book.write_text(HANG % ("true" if interactive else "false"))
        env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
        env["TMPDIR"] = str(tmpdir)
        self.stdout = open(root / "stdout", "wb")  # noqa: SIM115 (closed in wait())
        self.stderr = open(root / "stderr", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [CAIRN, "run", *names, "--file", str(book), "--config-dir", str(self.config)],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=self.stdout,
            stderr=self.stderr,
            env=env,
            start_new_session=True,
            # As `nohup` starts it: SIGHUP ignored, inherited through exec.
            preexec_fn=(lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
            if ignore_sighup
            else None,
        )

    def cell_started(self) -> tuple[int, int]:
        """Wait until the cell runs; its shell's pid (= its process group) and child's."""
        return self._pid("shell.pid"), self._pid("child.pid")

    def _pid(self, name: str) -> int:
        path = self.root / name
        assert wait_until(lambda: path.exists() and path.read_text().endswith("\n"), 30), self.err()
        return int(path.read_text())

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.stdout.close()
            self.stderr.close()

    def err(self) -> str:
        return (self.root / "stderr").read_text()

    def events(self) -> list[dict[str, Any]]:
        return [event for _, event in read_events(self.config / "logs")]


def _session_dirs(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("cairn-session-*"))


@pytest.fixture
def tmpdir_(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("sig", "interactive"),
    [
        (signal.SIGTERM, False),
        (signal.SIGHUP, False),
        (signal.SIGINT, False),
        (signal.SIGTERM, True),
    ],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGTERM-pty"],
)
def test_stop_signal_cancels_the_cells_group_records_it_and_removes_the_temp_dir(
    tmp_path: Path, tmpdir_: Path, sig: signal.Signals, interactive: bool
) -> None:
    run = Run(tmp_path / "book", tmpdir_, "hang", "quick", interactive=interactive)
    shell, child = run.cell_started()
    try:
        [session_dir] = _session_dirs(tmpdir_)
        assert session_dir.name.startswith(f"cairn-session-{run.proc.pid}-")
        run.proc.send_signal(sig)
        assert run.wait() == 128 + sig, run.err()
        assert wait_until(lambda: group_members(shell) == [] and is_gone(child))
    finally:
        _kill_group(shell)
    assert _session_dirs(tmpdir_) == []
    stderr = run.err()
    assert "Traceback" not in stderr
    assert f"stopped by {sig.name}" in stderr
    events = run.events()
    executed = [e for e in events if e["type"] == "cell.executed"]
    assert [(e["known_name"], e["cancelled"]) for e in executed] == [("hang", True)]
    assert events[-1]["type"] == "session.ended"
    assert events[-1]["cells_run"] == 1


def test_under_nohup_a_hangup_is_still_ignored(tmp_path: Path, tmpdir_: Path) -> None:
    run = Run(tmp_path / "book", tmpdir_, "hang", ignore_sighup=True)
    shell, _ = run.cell_started()
    try:
        # Both pending at once: a caught SIGHUP would be handled first and give 129.
        run.proc.send_signal(signal.SIGHUP)
        run.proc.send_signal(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM, run.err()
    finally:
        _kill_group(shell)
    assert "stopped by SIGTERM" in run.err()


def test_a_second_sigint_in_the_grace_period_still_records_the_cell_and_the_session(
    tmp_path: Path, tmpdir_: Path
) -> None:
    root = tmp_path / "book"
    root.mkdir()
    (root / "README.md").write_text(
        '```sh {"name":"stubborn","interactive":"false"}\n'
        "trap 'echo int >> int.seen' INT\n"
        "sleep 300 &\n"
        "echo $! > child.pid\n"
        "echo $$ > shell.pid\n"
        "while :; do wait || true; done\n"
        "```\n"
    )
    run = Run(root, tmpdir_, "stubborn")
    shell, child = run.cell_started()
    try:
        run.proc.send_signal(signal.SIGINT)
        # The shell saw the group's SIGINT: cairn is now waiting out the grace period.
        assert wait_until(lambda: (root / "int.seen").exists())
        run.proc.send_signal(signal.SIGINT)
        assert run.wait() == 130, run.err()
        assert wait_until(lambda: group_members(shell) == [] and is_gone(child))
    finally:
        _kill_group(shell)
    assert _session_dirs(tmpdir_) == []
    events = run.events()
    executed = [e for e in events if e["type"] == "cell.executed"]
    assert len(executed) == 1 and executed[0]["cancelled"] is True
    assert events[-1]["type"] == "session.ended"
    assert "Traceback" not in run.err()


def test_the_next_start_removes_the_temp_dirs_of_runs_killed_with_sigkill(
    tmp_path: Path, tmpdir_: Path
) -> None:
    for i in range(5):
        run = Run(tmp_path / f"book{i}", tmpdir_, "hang")
        shell, _ = run.cell_started()
        # Only this run's dir: starting, it removed the one the previous kill left.
        [left] = _session_dirs(tmpdir_)
        assert left.name.startswith(f"cairn-session-{run.proc.pid}-")
        run.proc.kill()  # kill -9: no handler runs, nothing is cleaned up
        assert run.wait() == -signal.SIGKILL
        _kill_group(shell)  # the cell's group is not cairn's, and survives it
        assert _session_dirs(tmpdir_) == [left]
    quick = Run(tmp_path / "book-quick", tmpdir_, "quick")
    assert quick.wait() == 0, quick.err()
    assert _session_dirs(tmpdir_) == []


def _start_ticks(pid: int) -> int:
    data = Path(f"/proc/{pid}/stat").read_bytes()
    return int(data[data.rfind(b")") + 2 :].split()[19])


def test_the_sweep_spares_live_sessions_and_others_dirs_but_not_a_reused_pid(
    tmp_path: Path, tmpdir_: Path
) -> None:
    live = Run(tmp_path / "live", tmpdir_, "hang")
    shell, _ = live.cell_started()
    try:
        [live_dir] = _session_dirs(tmpdir_)
        me, my_start = os.getpid(), _start_ticks(os.getpid())
        dead = subprocess.Popen(["sleep", "60"])
        dead_start = _start_ticks(dead.pid)
        dead.kill()
        dead.wait()
        doomed = [
            tmpdir_ / f"cairn-session-{me}-{my_start + 1}-reused",  # my pid, not my start
            tmpdir_ / f"cairn-session-{dead.pid}-{dead_start}-dead",
        ]
        kept = [
            live_dir,
            tmpdir_ / f"cairn-session-{me}-{my_start}-mine",
            tmpdir_ / f"cairn-session-{me}-0-nostart",  # no start recorded: a live pid wins
        ]
        for path in doomed + kept[1:]:
            path.mkdir()
            (path / "0001-cell.state").write_text("")
        not_a_dir = tmpdir_ / f"cairn-session-{dead.pid}-{dead_start}-file"
        not_a_dir.write_text("")
        target = tmp_path / "precious"
        target.mkdir()
        link = tmpdir_ / f"cairn-session-{dead.pid}-{dead_start}-link"
        link.symlink_to(target)
        others = tmpdir_ / f"cairn-session-{dead.pid}-{dead_start}-others"
        if os.geteuid() == 0:
            others.mkdir()
            os.chown(others, 65534, 65534)

        quick = Run(tmp_path / "quick", tmpdir_, "quick")
        assert quick.wait() == 0, quick.err()

        for path in doomed:
            assert not path.exists(), path
        for path in kept:
            assert path.is_dir(), path
        assert not_a_dir.is_file() and link.is_symlink() and target.is_dir()
        if os.geteuid() == 0:
            assert others.is_dir()
    finally:
        live.proc.terminate()
        live.wait()
        _kill_group(shell)
    assert not live_dir.exists()
    for path in kept[1:]:
        shutil.rmtree(path)
