"""The `cairn` command: thin wrappers over the library, one error boundary.

Every known failure (bad runbook, unknown cell, missing program) becomes one line on
stderr and a non-zero exit; an unexpected one says how to get the traceback.
"""

from __future__ import annotations

import os
import sys

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    from ..errors import CairnError
    from ._app import app

    try:
        result = app.main(args=argv, standalone_mode=False, prog_name="cairn")
        return int(result) if isinstance(result, int) else 0
    except CairnError as exc:
        # Every package's errors derive from it: one actionable line, no traceback.
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
        if os.environ.get("CAIRN_DEBUG"):
            raise
        print(
            f"cairn: internal error: {type(exc).__name__}: {exc}"
            " (CAIRN_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70
