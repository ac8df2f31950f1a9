"""Issues in the plain-text format of Go's `rsc.io/github/issue` command, as Gaby's
`LoadTxtar` reads them: fixtures and demos of real-looking issue histories, no network.

A txtar archive of sections, one per issue:

    -- owner/repo#12 --
    Title: the title
    State: open
    Labels: bug, help wanted
    URL: https://github.com/owner/repo/issues/12

    Reported by alice (2024-01-02 10:00:00)

        the body, tab-indented

    Comment by bob (2024-01-03 11:00:00)

        a comment, tab-indented

    * bob labeled bug (2024-01-03 11:05:00)
    * carol closed (2024-01-04 09:00:00)

Header lines come first (`Title`, `State`, `Assignee`, `Closed`, `Labels`, `Milestone`,
`URL`, `PR`), then a blank line, then the history: the report, comments, and events
(`* who closed`, `labeled X`, `unlabeled X`, `assigned X`, `added to milestone X`,
`changed title` with `  - old` / `  + new` lines, `closed in commit X`). Times are UTC.
`load_txt` turns it into the GitHub JSON the fake GitHub serves and the mirror keeps.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .._errors import BotError
from ._fake import FakeGitHub, Project

_SECTION = re.compile(r"^-- (.+) --$")
_TIME = re.compile(r"^(.*) \((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\)$")
_EVENTS = [
    (" labeled ", "labeled"),
    (" unlabeled ", "unlabeled"),
    (" assigned ", "assigned"),
    (" unassigned ", "unassigned"),
    (" added to milestone ", "milestoned"),
    (" removed from milestone ", "demilestoned"),
    (" closed in commit ", "closed"),
    (" merged in commit ", "merged"),
    (" referenced in commit ", "referenced"),
]


class TxtFormatError(BotError):
    """The text is not in `rsc.io/github/issue`'s format (the message has the line)."""


def _when(text: str, line_no: int) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise TxtFormatError(f"line {line_no}: invalid time {text!r}") from None


def load_txt(text: str) -> dict[str, Project]:
    """The projects of a txtar archive of issue histories; TxtFormatError, naming the
    line, for anything malformed."""
    builder = FakeGitHub()
    lines = text.split("\n")
    i = 0
    while i < len(lines) and not _SECTION.match(lines[i]):
        if lines[i].strip():
            raise TxtFormatError(f"line {i + 1}: expected a section header '-- owner/repo#N --'")
        i += 1
    while i < len(lines):
        name = _SECTION.match(lines[i])
        assert name is not None
        project, _, num = name.group(1).partition("#")
        if project.count("/") != 1 or not num.isdigit() or int(num) <= 0:
            raise TxtFormatError(
                f"line {i + 1}: invalid issue name {name.group(1)!r} (want owner/repo#N)"
            )
        number = int(num)
        start = i + 1
        i += 1
        while i < len(lines) and not _SECTION.match(lines[i]):
            i += 1
        _issue(builder, project, number, lines[start:i], start + 1)
    return builder.projects


def _issue(builder: FakeGitHub, project: str, number: int, lines: list[str], first: int) -> None:
    header: dict[str, str] = {}
    at = 0
    while at < len(lines) and lines[at] != "":
        key, sep, value = lines[at].partition(":")
        if not sep:
            raise TxtFormatError(f"line {first + at}: invalid header line {lines[at]!r}")
        header[key.strip()] = value.strip()
        at += 1

    def body() -> str:
        nonlocal at
        while at < len(lines) and lines[at] == "":
            at += 1
        out = []
        while at < len(lines) and (lines[at] == "" or lines[at].startswith("\t")):
            out.append(lines[at].removeprefix("\t"))
            at += 1
        return "\n".join(out).strip("\n")

    issue = None
    while at < len(lines):
        line = lines[at]
        line_no = first + at
        at += 1
        if not line.strip():
            continue
        timed = _TIME.match(line)
        if timed is None:
            raise TxtFormatError(f"line {line_no}: expected an event with a time: {line!r}")
        what, when = timed.group(1), _when(timed.group(2), line_no)
        if what.startswith("Reported by "):
            if issue is not None:
                raise TxtFormatError(f"line {line_no}: a second 'Reported by'")
            labels = [x for x in header.get("Labels", "").split(", ") if x]
            url = header.get("URL", "")
            issue = builder.add_issue(
                project,
                number,
                title=header.get("Title", ""),
                body=body(),
                user=what.removeprefix("Reported by "),
                state=header.get("State", "open") or "open",
                created_at=when,
                labels=labels,
                pull_request="PR" in header or "/pull/" in url,
            )
            continue
        if issue is None:
            raise TxtFormatError(f"line {line_no}: history before 'Reported by'")
        if what.startswith("Comment by "):
            builder.add_comment(
                project, number, body=body(), user=what.removeprefix("Comment by "), created_at=when
            )
            continue
        if not what.startswith("* "):
            raise TxtFormatError(f"line {line_no}: invalid event description {line!r}")
        op = what[2:]
        event, actor = _event(op)
        if event == "renamed":  # followed by "  - old" and "  + new"
            at += 2
        if " in commit " in op:
            body()
        builder.add_event(project, number, event, actor=actor, created_at=when)
    if issue is None:
        raise TxtFormatError(f"line {first}: {project}#{number} has no 'Reported by' line")


def _event(op: str) -> tuple[str, str]:
    for marker, event in _EVENTS:
        who, sep, _ = op.partition(marker)
        if sep:
            return event, who
    for suffix, event in (
        (" changed title", "renamed"),
        (" closed", "closed"),
        (" reopened", "reopened"),
    ):
        if op.endswith(suffix):
            return event, op.removesuffix(suffix)
    who, _, event = op.rpartition(" ")
    return event, who
