"""Sessions: cells run one after another, sharing exported env vars and the cwd.

Shell cells run as one script under `set -e -o pipefail`, sourced by a small wrapper
whose EXIT trap dumps `$PWD` and `env -0` to a state file (as Runme does: dump after,
apply the diff). `$__` holds the last cell's stdout; a cell whose name is UPPER_CASE
exports its stdout under that name. Other languages run the cell as a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from ..privacy import add_secret_values, secret_env_values
from ._capture import DEFAULT_LIMIT
from ._errors import KernelError
from ._process import Execution, OutputCallback, ProcessResult, ProcessSpec
from ._programs import EXTENSIONS, Program, resolve_program
from ._scratch import create as create_scratch
from ._scratch import write_private

# Runme: UPPER_CASE names (three chars at least) export the cell's stdout.
EXPORT_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{1}[A-Z0-9_]*[A-Z][A-Z0-9_]*$")
LAST_OUTPUT_VAR = "__"
# One env string may not exceed 128 KiB on Linux (MAX_ARG_STRLEN); stay well below.
MAX_EXPORTED = 64 * 1024
_VOLATILE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", LAST_OUTPUT_VAR})
MAX_TIMEOUT = 7 * 24 * 3600.0  # seconds
_TIMEOUT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_timeout(text: str) -> float:
    """'30', '30s', '1.5m', '500ms', '1h' → seconds; KernelError otherwise.

    Accepted: more than 0, at most MAX_TIMEOUT (a week; longer is a typo, and would
    overflow the event loop's wait).
    """
    accepted = f"more than 0 and at most {MAX_TIMEOUT / 3600:g}h (a week)"
    m = _TIMEOUT_RE.match(text)
    if m is None:
        raise KernelError(
            f"invalid timeout {text!r}; use seconds or a unit, e.g. 30s, 2m, 500ms; {accepted}"
        )
    value = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    if not 0 < value <= MAX_TIMEOUT:
        raise KernelError(f"invalid timeout {text!r}: must be {accepted}")
    return value


@dataclass
class CellSpec:
    """One cell to run, as the kernel needs it (independent of the notebook model)."""

    source: str
    language: str = "sh"
    name: str = ""
    interactive: bool = True
    interpreter: str | None = None
    timeout: float | None = None


@dataclass
class CellResult:
    """A finished cell: the process result plus what it changed in the session."""

    cell: CellSpec
    program: str
    process: ProcessResult
    cwd_before: str
    cwd_after: str
    env_changed: list[str] = field(default_factory=list)  # names only, never values

    @property
    def exit_code(self) -> int:
        return self.process.exit_code

    @property
    def ok(self) -> bool:
        return self.process.exit_code == 0


def _wrapper(program: Program, script: Path, state: Path) -> str:
    """The script that runs a shell cell and records its env and cwd afterwards.

    The state is written explicitly once the cell's script returns (a cell may install
    its own EXIT trap, which replaces ours), and by the EXIT trap when the cell leaves
    early through `exit` or `set -e`. It goes into a file created 0600 beforehand (`>|`
    keeps its mode, and writes even under the cell's `set -o noclobber`).
    """
    strict = "set -e -o pipefail" if program.shell == "pipefail" else "set -e"
    q_state, q_script = shlex.quote(str(state)), shlex.quote(str(script))
    return (
        "__cairn_state() {\n"
        f"  {{ printf '%s\\0' \"$PWD\"; command env -0; }} >| {q_state} 2>/dev/null || true\n"
        "}\n"
        "__cairn_exit() {\n"
        "  __cairn_rc=$?\n"
        "  __cairn_state\n"
        '  exit "$__cairn_rc"\n'
        "}\n"
        "trap __cairn_exit EXIT\n"
        f"{strict}\n"
        f". {q_script}\n"
        "__cairn_state\n"
    )


class Session:
    """Runs cells in order, carrying env and cwd. Use as a context manager."""

    def __init__(
        self,
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        shell: str | None = None,
        head_limit: int = DEFAULT_LIMIT,
        tail_limit: int = DEFAULT_LIMIT,
        grace: float = 2.0,
        linger: float = 1.0,
    ) -> None:
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.env = dict(os.environ if env is None else env)
        self.shell = shell
        self.head_limit = head_limit
        self.tail_limit = tail_limit
        self.grace = grace
        self.linger = linger
        self._tmp = create_scratch()
        # Removed by close(), else when the session is collected or the interpreter exits.
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._tmp), True)
        self._count = 0

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the session's scratch directory (cell files and state)."""
        self._cleanup()

    def resolve(self, cell: CellSpec) -> Program:
        return resolve_program(
            cell.language,
            interpreter=cell.interpreter,
            frontmatter_shell=self.shell,
            cell=cell.name,
            path=self.env.get("PATH"),
        )

    def prepare(
        self,
        cell: CellSpec,
        *,
        on_output: OutputCallback | None = None,
        stdin_data: bytes | None = None,
        stdin_fd: int | None = None,
        winsize: tuple[int, int] = (24, 80),
    ) -> tuple[Execution, Program, Path | None]:
        """Build the execution for `cell` without starting it."""
        program = self.resolve(cell)
        self._count += 1
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", cell.name or "cell")[:40] or "cell"
        base = self._tmp / f"{self._count:04d}-{stem}"
        state: Path | None = None
        source = (
            cell.source if cell.source.endswith("\n") or not cell.source else cell.source + "\n"
        )
        if program.shell is not None:
            script = base.with_suffix(".sh")
            state = base.with_suffix(".state")
            wrapper = base.with_suffix(".wrapper.sh")
            write_private(script, source)
            write_private(wrapper, _wrapper(program, script, state))
            write_private(state, "")
            argv = [*program.argv, str(wrapper)]
        else:
            script = base.with_suffix(EXTENSIONS.get(cell.language.lower(), ""))
            write_private(script, source)
            argv = [*program.argv, str(script)]
        spec = ProcessSpec(
            argv=argv,
            env=dict(self.env),
            cwd=self.cwd,
            interactive=cell.interactive,
            stdin_data=stdin_data,
            stdin_fd=stdin_fd,
            timeout=cell.timeout,
            winsize=winsize,
            head_limit=self.head_limit,
            tail_limit=self.tail_limit,
            grace=self.grace,
            linger=self.linger,
            on_output=on_output,
        )
        return Execution(spec), program, state

    def finish(
        self, cell: CellSpec, program: Program, execution: Execution, state: Path | None
    ) -> CellResult:
        """Wait for the execution and apply what it changed to the session."""
        cwd_before = self.cwd
        result = execution.wait()
        changed: list[str] = []
        if state is not None:
            changed = self._apply_state(state)
        text = result.stdout.text.replace("\x00", "").rstrip("\n")[:MAX_EXPORTED]
        self.env[LAST_OUTPUT_VAR] = text
        if result.exit_code == 0 and EXPORT_NAME_RE.match(cell.name or ""):
            self.env[cell.name] = text
            changed.append(cell.name)
        return CellResult(cell, program.display, result, cwd_before, self.cwd, sorted(set(changed)))

    def run(
        self,
        cell: CellSpec,
        *,
        on_output: OutputCallback | None = None,
        stdin_data: bytes | None = None,
        stdin_fd: int | None = None,
        winsize: tuple[int, int] = (24, 80),
    ) -> CellResult:
        """Run one cell to completion."""
        execution, program, state = self.prepare(
            cell, on_output=on_output, stdin_data=stdin_data, stdin_fd=stdin_fd, winsize=winsize
        )
        execution.start()
        return self.finish(cell, program, execution, state)

    def _apply_state(self, state: Path) -> list[str]:
        try:
            raw = state.read_bytes()
        except OSError:
            return []
        finally:
            with contextlib.suppress(OSError):
                state.unlink()
        parts = raw.split(b"\x00")
        if not parts or not parts[0]:
            return []  # killed before its EXIT trap ran: the session keeps its old state
        cwd = parts[0].decode("utf-8", "surrogateescape")
        after: dict[str, str] = {}
        for item in parts[1:]:
            key, sep, value = item.decode("utf-8", "surrogateescape").partition("=")
            if sep and key:
                after[key] = value
        changed = []
        for key in set(after) | set(self.env):
            if key in _VOLATILE:
                continue
            if key not in after:
                del self.env[key]
                changed.append(key)
            elif self.env.get(key) != after[key]:
                self.env[key] = after[key]
                changed.append(key)
        if os.path.isdir(cwd):
            self.cwd = cwd
        # A secret a cell exported (`export DB_PASSWORD=…`) is redacted from then on,
        # wherever its value goes: outputs, learning events, prompts, the store.
        exported = {key: self.env[key] for key in changed if key in self.env}
        add_secret_values(secret_env_values(exported))
        return changed
