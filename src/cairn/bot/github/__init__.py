"""The GitHub tracker: a REST client on the project's one HTTP stack (httpx2), the
incremental mirror sync, a loopback fake GitHub server speaking the real REST API, and
a reader of Go `httprr` traces that seeds it.

- `_client`, `_sync`: `GitHub` (a `cairn.bot.Tracker`) and its sync
- `_fake`: `FakeGitHub`, the fake server (tests, demos, `cairn bot fake-github`)
- `_httprr`: reading `httprr trace v1` files into the fake's data

Names are imported on first use.
"""

from __future__ import annotations

from ... import lazy

# name → module, or module:attribute. One line per exported name, sorted; the module
# must exist when the line is committed.
_LAZY: dict[str, str] = {
    "DEFAULT_API": "._client",
    "DEMO_PROJECT": "._demo:PROJECT",
    "FakeGitHub": "._fake",
    "GitHub": "._sync",
    "GitHubClient": "._client",
    "Project": "._fake",
    "Seen": "._fake",
    "TraceError": "._httprr",
    "TraceWriter": "._httprr",
    "TxtFormatError": "._txt",
    "demo_project": "._demo",
    "github_token": "._client",
    "load_txt": "._txt",
    "projects_from_traces": "._httprr",
    "read_trace": "._httprr",
    "mirror_projects": "._sync",
}

__all__ = [*_LAZY]


__getattr__ = lazy.exports(__name__, _LAZY)
