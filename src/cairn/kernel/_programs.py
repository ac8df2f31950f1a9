"""Which program runs a cell, as Runme chooses it.

Precedence: the cell's `interpreter` attribute, then the frontmatter `shell` (for
shell languages), then the language table. Shell programs get the session wrapper
(env/cwd carry-over, `set -e -o pipefail`); other programs run the cell as a file.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass

from ._errors import ProgramNotFoundError, UnknownLanguageError

SHELL_LANGUAGES = frozenset({"", "sh", "bash", "shell", "shellscript", "zsh", "ksh", "console"})

LANGUAGE_TABLE: dict[str, tuple[str, ...]] = {
    "sh": ("bash", "sh"),
    "bash": ("bash", "sh"),
    "shell": ("bash", "sh"),
    "shellscript": ("bash", "sh"),
    "console": ("bash", "sh"),
    "": ("bash", "sh"),
    "zsh": ("zsh",),
    "ksh": ("ksh",),
    "fish": ("fish",),
    "py": ("python3", "python"),
    "python": ("python3", "python"),
    "python3": ("python3",),
    "js": ("node",),
    "javascript": ("node",),
    "jsx": ("node",),
    "mjs": ("node",),
    "ts": ("ts-node", "deno run", "bun run"),
    "typescript": ("ts-node", "deno run", "bun run"),
    "rb": ("ruby",),
    "ruby": ("ruby",),
    "pl": ("perl",),
    "perl": ("perl",),
    "php": ("php",),
    "lua": ("lua",),
    "powershell": ("pwsh", "powershell"),
    "pwsh": ("pwsh",),
    "clojure": ("bb",),
    "rs": ("rust-script",),
    "rust": ("rust-script",),
}

EXTENSIONS = {
    "py": ".py",
    "python": ".py",
    "js": ".js",
    "javascript": ".js",
    "ts": ".ts",
    "typescript": ".ts",
}

# Shells that understand `set -o pipefail` (dash and old sh may not).
_PIPEFAIL_SHELLS = frozenset({"bash", "zsh", "ksh", "mksh"})
_POSIX_SHELLS = _PIPEFAIL_SHELLS | {"sh", "dash", "ash", "busybox"}


@dataclass(frozen=True)
class Program:
    """A resolved program: full argv prefix and how to feed it the cell."""

    argv: tuple[str, ...]
    shell: str | None  # "pipefail" or "posix" when the session wrapper applies

    @property
    def display(self) -> str:
        return shlex.join([os.path.basename(self.argv[0]), *self.argv[1:]])


def _locate(command: str, path: str | None) -> tuple[str, ...] | None:
    parts = shlex.split(command)
    if not parts:
        return None
    found = shutil.which(parts[0], path=path)
    return (found, *parts[1:]) if found else None


def _program(argv: tuple[str, ...]) -> Program:
    base = os.path.basename(argv[0])
    if base in _PIPEFAIL_SHELLS:
        return Program(argv, "pipefail")
    if base in _POSIX_SHELLS:
        return Program(argv, "posix")
    return Program(argv, None)


def resolve_program(
    language: str,
    *,
    interpreter: str | None = None,
    frontmatter_shell: str | None = None,
    cell: str = "",
    path: str | None = None,
) -> Program:
    """Resolve the program for a cell; raises UnknownLanguageError/ProgramNotFoundError."""
    where = f" in cell {cell!r}" if cell else ""
    lang = language.strip().lower()
    if interpreter and interpreter.strip():
        argv = _locate(interpreter, path)
        if argv is None:
            raise ProgramNotFoundError(f"interpreter {interpreter!r}{where} is not on PATH")
        return _program(argv)
    if lang in SHELL_LANGUAGES and frontmatter_shell:
        argv = _locate(frontmatter_shell, path)
        if argv is None:
            raise ProgramNotFoundError(f"frontmatter shell {frontmatter_shell!r} is not on PATH")
        return _program(argv)
    candidates = LANGUAGE_TABLE.get(lang)
    if candidates is None:
        raise UnknownLanguageError(
            f"unknown language {language!r}{where}; set the program with an attribute,"
            f' e.g. {{"interpreter":"{language or "bash"}"}}'
        )
    for candidate in candidates:
        argv = _locate(candidate, path)
        if argv is not None:
            return _program(argv)
    names = ", ".join(shlex.split(c)[0] for c in candidates)
    raise ProgramNotFoundError(f"language {language!r}{where} needs {names}; none is on PATH")
