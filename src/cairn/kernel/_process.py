"""Running one process: pipes or a PTY, bounded capture, timeout and cancellation.

Every process starts in a new session (its own process group), so cancellation can
reach everything it spawned: SIGINT to the group, then SIGKILL after a grace period.
When the main process has exited but something it left behind still holds the output
open, we wait `linger` seconds for end-of-file and then kill the group, so nothing
keeps running attached to a finished cell. Exit codes: 130 interrupted, 137 killed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pty
import selectors
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from ._capture import DEFAULT_LIMIT, Captured, Chunk, HeadTail
from ._errors import KernelError

READ_SIZE = 1 << 20
# The longest single wait in the loop: epoll takes its timeout in int milliseconds, so a
# far deadline (a timeout of days) is approached in steps instead of overflowing.
MAX_WAIT = 3600.0
# Called with each chunk as it arrives. The data is a view of a buffer that is reused
# for the next read: write it out or copy it, don't keep it.
OutputCallback = Callable[[str, memoryview], None]


@dataclass
class ProcessSpec:
    """How to run one process."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    interactive: bool = False
    stdin_data: bytes | None = None  # written to the process, then end-of-file
    stdin_fd: int | None = None  # forwarded as it arrives (a terminal, for interactive cells)
    timeout: float | None = None
    winsize: tuple[int, int] = (24, 80)  # rows, cols
    head_limit: int = DEFAULT_LIMIT
    tail_limit: int = DEFAULT_LIMIT
    grace: float = 2.0  # seconds between SIGINT and SIGKILL on cancel/timeout
    linger: float = 1.0  # seconds to wait for EOF after the main process exited
    on_output: OutputCallback | None = None


@dataclass
class ProcessResult:
    """What happened: exit code, timings, captured streams, why it stopped."""

    exit_code: int
    pid: int
    started: datetime
    duration: float
    interactive: bool
    stdout: Captured
    stderr: Captured
    chunks: list[Chunk] = field(default_factory=list)
    chunks_dropped: int = 0
    timed_out: bool = False
    cancelled: bool = False
    killed: bool = False
    leftovers_killed: bool = False


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _grow_pipe(fd: int) -> None:
    # Bigger pipes mean fewer wake-ups for chatty cells (F_SETPIPE_SZ, Linux only).
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), READ_SIZE)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class Execution:
    """One running process. `wait()` drives it; `cancel()`/`resize()`/`send()` are thread-safe."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self.pid = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._lock = threading.Lock()
        # 0 nothing, 1 interrupt (SIGINT, then SIGKILL after the grace), 2 kill at once.
        # Only ever raised, so a request can't be lost to a reset that races a new one.
        self._cancel_requested = 0
        self._signal_request = 0  # the same, set by signal handlers without the lock
        self._finished = False
        self._pending_resize: tuple[int, int] | None = None
        self._pending_input = bytearray()
        self._outputs: dict[int, str] = {}
        self._pipes: dict[int, IO[bytes]] = {}
        self._eof_pending = False
        self._last_input = b"\n"  # last byte written to the process's input
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self._stdin_pipe: int | None = None
        self._master: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_mono = 0.0
        self._started = datetime.now(UTC)

    # -- control, from any thread ------------------------------------------------------

    def _wake(self) -> None:
        # Under the lock, and never after the pipe is closed: a late cancel() from another
        # thread must not write into a descriptor number that has since been reused.
        with self._lock:
            if self._finished:
                return
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._wake_w, b"x")

    def cancel(self, *, kill: bool = False) -> None:
        """Interrupt the cell: SIGINT to its process group, SIGKILL after the grace period
        (at once with `kill`)."""
        with self._lock:
            self._cancel_requested = max(self._cancel_requested, 2 if kill else 1)
        self._wake()

    def cancel_from_signal(self, *, kill: bool = False) -> None:
        """`cancel()` for a signal handler on the thread that runs `wait()`.

        Takes no lock: the handler may have interrupted this very thread while it held
        it. The state it reads is only changed by that thread, so the check is exact.
        """
        self._signal_request = max(self._signal_request, 2 if kill else 1)
        if not self._finished:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._wake_w, b"x")

    def resize(self, rows: int, cols: int) -> None:
        with self._lock:
            self._pending_resize = (rows, cols)
        self._wake()

    def send(self, data: bytes) -> None:
        """Queue bytes for the process's stdin (interactive cells)."""
        with self._lock:
            self._pending_input += data
        self._wake()

    # -- start ---------------------------------------------------------------------------

    def start(self) -> int:
        spec = self.spec
        if not os.path.isdir(spec.cwd):
            raise KernelError(f"working directory {spec.cwd!r} does not exist")
        self._started = datetime.now(UTC)
        self._started_mono = time.monotonic()
        if spec.interactive:
            self._start_pty()
        else:
            self._start_pipes()
        if spec.stdin_data:
            self._pending_input += spec.stdin_data
        return self.pid

    def _start_pipes(self) -> None:
        spec = self.spec
        stdin = subprocess.PIPE if spec.stdin_data is not None else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                spec.argv,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=spec.cwd,
                env=spec.env,
                start_new_session=True,
                bufsize=0,
            )
        except OSError as exc:
            raise KernelError(f"cannot start {spec.argv[0]}: {exc.strerror}") from None
        self._proc = proc
        self.pid = proc.pid
        assert proc.stdout is not None and proc.stderr is not None
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            _grow_pipe(fd)
            self._outputs[fd] = stream
            self._pipes[fd] = pipe
        if proc.stdin is not None:
            self._stdin_pipe = proc.stdin.fileno()
            os.set_blocking(self._stdin_pipe, False)

    def _start_pty(self) -> None:
        spec = self.spec
        # Check for exec failures before forking: the child can only report them on the PTY.
        try:
            pid, master = pty.fork()
        except OSError as exc:
            raise KernelError(f"cannot open a terminal for the cell: {exc.strerror}") from None
        if pid == 0:  # child: a session leader with the PTY as controlling terminal
            try:
                os.chdir(spec.cwd)
                os.execve(spec.argv[0], spec.argv, spec.env)
            except OSError as exc:
                os.write(2, f"cairn: cannot start {spec.argv[0]}: {exc.strerror}\r\n".encode())
            os._exit(127)
        self.pid = pid
        self._master = master
        _set_winsize(master, *spec.winsize)
        os.set_blocking(master, False)
        self._outputs[master] = "pty"

    # -- the loop ------------------------------------------------------------------------

    def wait(self) -> ProcessResult:
        """Drive the process to the end and return what happened."""
        if not self.pid:
            self.start()
        spec = self.spec
        streams = {
            name: HeadTail(spec.head_limit, spec.tail_limit) for name in self._outputs.values()
        }
        timeline = HeadTail(spec.head_limit, spec.tail_limit)
        sel = selectors.DefaultSelector()
        for fd in self._outputs:
            sel.register(fd, selectors.EVENT_READ, "out")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        pidfd: int | None = None
        try:
            pidfd = os.pidfd_open(self.pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        except (OSError, AttributeError):
            pidfd = None  # old kernel: poll waitpid below
        # Given stdin data ends with end-of-file; a forwarded terminal ends when it does.
        self._eof_pending = spec.stdin_data is not None and spec.stdin_fd is None
        if spec.stdin_fd is not None:
            try:
                sel.register(spec.stdin_fd, selectors.EVENT_READ, "stdin")
            except PermissionError:
                # epoll refuses regular files and /dev/null: they never block, read them now.
                self._slurp_stdin(spec.stdin_fd)

        status: int | None = None
        deadline = self._started_mono + spec.timeout if spec.timeout else None
        kill_at: float | None = None
        linger_until: float | None = None
        timed_out = cancelled = killed = leftovers = False

        def begin_cancel() -> None:
            nonlocal kill_at
            if kill_at is None:
                self._signal_group(signal.SIGINT)
                kill_at = time.monotonic() + spec.grace

        def on_wake() -> None:
            nonlocal cancelled, killed
            request = self._handle_wake()
            if request and status is None:
                cancelled = True
                begin_cancel()
                if request >= 2 and not killed:
                    killed = True
                    self._signal_group(signal.SIGKILL)

        try:
            while True:
                self._watch_input(sel)
                now = time.monotonic()
                waits = [t - now for t in (deadline, kill_at, linger_until) if t is not None]
                if pidfd is None and status is None:
                    waits.append(0.05)
                events = sel.select(max(0.0, min(*waits, MAX_WAIT)) if waits else None)
                for key, mask in events:
                    if key.data == "out":
                        if mask & selectors.EVENT_READ:
                            self._read(key.fd, streams, timeline, sel)
                        if mask & selectors.EVENT_WRITE and key.fd in self._outputs:
                            self._write_input(key.fd)
                    elif key.data == "in":
                        self._write_input(key.fd)
                    elif key.data == "wake":
                        on_wake()
                    elif key.data == "stdin":
                        self._forward_stdin(key.fd, sel)
                    elif key.data == "exit":
                        sel.unregister(key.fd)
                if status is None:
                    done, raw_status = os.waitpid(self.pid, os.WNOHANG)
                    if done:
                        status = raw_status
                        linger_until = time.monotonic() + spec.linger
                now = time.monotonic()
                if deadline is not None and now >= deadline and status is None and kill_at is None:
                    timed_out = True
                    begin_cancel()
                if kill_at is not None and now >= kill_at and status is None and not killed:
                    killed = True
                    self._signal_group(signal.SIGKILL)
                if status is not None and not self._outputs:
                    break
                if status is not None and linger_until is not None and now >= linger_until:
                    leftovers = self._signal_group(signal.SIGKILL)
                    self._drain(streams, timeline, sel)
                    break
        except KeyboardInterrupt:
            # Ctrl-C in the terminal that runs cairn: cancel the cell, then report it.
            cancelled = True
            if status is None:
                status, was_killed = self._stop_interrupted(spec.grace)
                killed = killed or was_killed
            with contextlib.suppress(KeyboardInterrupt):
                self._drain(streams, timeline, sel)
        finally:
            if cancelled or timed_out or status is None:
                # Nothing of a cancelled cell survives, nor of one whose loop failed.
                self._signal_group(signal.SIGKILL)
            if status is None:
                with contextlib.suppress(ChildProcessError):
                    self._reap(5.0)
            sel.close()
            self._close_fds(pidfd)
        assert status is not None
        pty_stream = streams.get("pty")
        stdout = Captured.of(pty_stream or streams["stdout"])
        stderr = Captured.of(streams["stderr"]) if "stderr" in streams else Captured()
        return ProcessResult(
            exit_code=_exit_code(status),
            pid=self.pid,
            started=self._started,
            duration=time.monotonic() - self._started_mono,
            interactive=self.spec.interactive,
            stdout=stdout,
            stderr=stderr,
            chunks=timeline.chunks(),
            chunks_dropped=timeline.dropped,
            timed_out=timed_out,
            cancelled=cancelled,
            killed=killed,
            leftovers_killed=leftovers,
        )

    # -- input -----------------------------------------------------------------------------

    def _input_fd(self) -> int | None:
        return self._master if self._master is not None else self._stdin_pipe

    def _watch_input(self, sel: selectors.BaseSelector) -> None:
        """Ask for write readiness only while there is something to write."""
        fd = self._input_fd()
        if fd is None:
            return
        want = bool(self._pending_input) or self._eof_pending
        if fd == self._master:
            if fd in self._outputs:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want else 0)
                sel.modify(fd, events, "out")
            return
        registered = fd in sel.get_map()
        if want and not registered:
            sel.register(fd, selectors.EVENT_WRITE, "in")
        elif not want and registered:
            sel.unregister(fd)

    def _write_input(self, fd: int) -> None:
        with self._lock:
            pending = bytes(self._pending_input[:65536])
        if pending:
            try:
                written = os.write(fd, pending)
            except BlockingIOError:
                return
            except OSError:  # the process closed its stdin: drop what it will never read
                with self._lock:
                    self._pending_input.clear()
                self._eof_pending = False
                self._close_stdin_pipe()
                return
            with self._lock:
                del self._pending_input[:written]
            self._last_input = pending[:written][-1:] or self._last_input
            if self._pending_input:
                return
        if self._eof_pending:
            self._eof_pending = False
            if fd == self._master:
                # In canonical mode ^D ends the input only on an empty line; after a
                # partial line the first ^D just flushes it, so send a second one.
                eof = b"\x04" if self._last_input.endswith((b"\n", b"\r")) else b"\x04\x04"
                with contextlib.suppress(OSError):
                    os.write(fd, eof)
            else:
                self._close_stdin_pipe()

    def _close_stdin_pipe(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        self._stdin_pipe = None

    def _forward_stdin(self, fd: int, sel: selectors.BaseSelector) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            with self._lock:
                self._pending_input += data
            return
        sel.unregister(fd)
        self._eof_pending = True

    def _slurp_stdin(self, fd: int, limit: int = 64 << 20) -> None:
        data = bytearray()
        with contextlib.suppress(OSError):
            while len(data) < limit:
                block = os.read(fd, 1 << 20)
                if not block:
                    break
                data += block
        with self._lock:
            self._pending_input += data
        self._eof_pending = True

    def _handle_wake(self) -> int:
        """Apply queued requests; the cancel level asked for (0: none, 2: kill at once)."""
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)
        with self._lock:
            request = self._cancel_requested
            resize, self._pending_resize = self._pending_resize, None
        if resize and self._master is not None:
            _set_winsize(self._master, *resize)
            self._signal_group(signal.SIGWINCH)
        return max(request, self._signal_request)

    # -- helpers ---------------------------------------------------------------------------

    def _read(
        self, fd: int, streams: dict[str, HeadTail], timeline: HeadTail, sel: selectors.BaseSelector
    ) -> bool:
        try:
            # One buffer for every read: no per-read allocation, no heap fragmentation.
            n = os.readv(fd, [self._buffer])
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the PTY's last writer is gone
                raise
            n = 0
        if n == 0:
            self._close_output(fd, sel)
            return False
        stream = self._outputs[fd]
        data = self._view[:n]
        chunk = Chunk(time.monotonic() - self._started_mono, stream, data)
        streams[stream].add(chunk)
        timeline.add(chunk)
        if self.spec.on_output is not None:
            self.spec.on_output(stream, data)
        return True

    def _drain(
        self, streams: dict[str, HeadTail], timeline: HeadTail, sel: selectors.BaseSelector
    ) -> None:
        """Read what is left after the group was killed, for at most half a second."""
        end = time.monotonic() + 0.5
        while self._outputs and time.monotonic() < end:
            for key, _ in sel.select(0.05):
                if key.data == "out" and key.fd in self._outputs:
                    self._read(key.fd, streams, timeline, sel)
        for fd in list(self._outputs):
            self._close_output(fd, sel)

    def _close_output(self, fd: int, sel: selectors.BaseSelector) -> None:
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(fd)
        self._outputs.pop(fd, None)
        pipe = self._pipes.pop(fd, None)
        if pipe is not None:
            pipe.close()

    def _stop_interrupted(self, grace: float) -> tuple[int, bool]:
        """After Ctrl-C: SIGINT the group, SIGKILL it after `grace` seconds or at a second
        Ctrl-C; the exit status and whether SIGKILL was needed."""
        self._signal_group(signal.SIGINT)
        try:
            status = self._reap(grace)
        except KeyboardInterrupt:
            status = None
        if status is not None:
            return status, False
        self._signal_group(signal.SIGKILL)
        while True:
            try:
                final = self._reap(None)
            except KeyboardInterrupt:
                continue  # already killed: only the reaping is left
            assert final is not None
            return final, True

    def _reap(self, timeout: float | None) -> int | None:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return status
            if end is not None and time.monotonic() >= end:
                return None
            time.sleep(0.01)

    def _signal_group(self, sig: int) -> bool:
        """Signal the process group; True when something was there to receive it."""
        try:
            os.killpg(self.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _close_fds(self, pidfd: int | None) -> None:
        with self._lock:
            self._finished = True  # from now on cancel/resize/send are no-ops
        for fd in (pidfd, self._master, self._wake_r, self._wake_w):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = None
        self._close_stdin_pipe()
        for pipe in self._pipes.values():
            pipe.close()
        self._pipes.clear()
        if self._proc is not None:
            self._proc.returncode = 0  # reaped by waitpid above; keep Popen from waiting again
