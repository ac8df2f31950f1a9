"""The `cairn` command: thin wrappers over the library, one error boundary.

Every known failure (bad runbook, unknown cell, missing program) becomes one line on
stderr and a non-zero exit; an unexpected one says how to get the traceback.
"""

from __future__ import annotations

import os
import sys

EXIT_USAGE = 2
# Each package's base exception. Looked up in sys.modules, not imported: an exception
# from a package can only exist once that package is loaded, and importing them all
# would slow every command's start-up.
_ERROR_BASES = (
    ("cairn.store._errors", "StoreError"),
    ("cairn.index._errors", "IndexingError"),
    ("cairn.llm._errors", "LLMError"),
    ("cairn.copilot._errors", "CopilotError"),
)


def _is_cairn_error(exc: BaseException) -> bool:
    for module, name in _ERROR_BASES:
        base = getattr(sys.modules.get(module), name, None)
        if isinstance(base, type) and isinstance(exc, base):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    from ..kernel import KernelError
    from ..notebook import NotebookError
    from ._app import app

    try:
        result = app.main(args=argv, standalone_mode=False, prog_name="cairn")
        return int(result) if isinstance(result, int) else 0
    except (NotebookError, KernelError) as exc:
        print(f"cairn: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cairn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cairn list | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        from ._app import usage_error

        handled = usage_error(exc)
        if handled is not None:
            return handled
        if _is_cairn_error(exc):
            print(f"cairn: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get("CAIRN_DEBUG"):
            raise
        print(
            f"cairn: internal error: {type(exc).__name__}: {exc}"
            " (CAIRN_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70
