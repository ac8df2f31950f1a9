"""`cairn bot`: the maintainer bot's commands (sync, run, jobs, the action log, the fake
GitHub server). Each part's commands live in a module of its own that registers on
`bot_app`; everything heavy is imported inside the commands.
"""

from __future__ import annotations

from ._app import app


@app.group("bot")
def bot_app() -> None:
    """The maintainer bot: mirror an issue tracker, post related issues, fix comments,
    act only through an approvable action log."""


# The parts register their commands on `bot_app` when imported: add one line each
# (`from . import _bot_fix  # noqa: E402,F401`), in alphabetical order.
