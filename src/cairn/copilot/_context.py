"""Context assembly: a notebook, with what its cells printed, → the prompt that asks a
model for the next cell.

Cells come from a Markdown runbook (session outputs included), from a VS Code / Runme
notebook (JSON) or from either plus the `cell.executed` events of the learning log. Only
output items on a textual include-list pass, so UI state such as `stateful.runme/terminal`
never reaches a model while the outputs of interactive cells do (the failure of Foyle
#286). `build_prompt` renders the cells as Markdown, each executed cell followed by its
stdout, stderr or terminal output and its exit code, within a token budget: long outputs
keep their head and tail, and the cells nearest the cursor win.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..kernel import render_text
from ..llm import Message, Options, Request
from ..llm._types import Role
from ._errors import CopilotError
from ._types import ContextCell, Example, OutputPart, Stream

if TYPE_CHECKING:
    from ..notebook import Cell, Notebook
    from ._tokens import Tokenizer

Style = Literal["chat", "completion"]

# -- errors -----------------------------------------------------------------------------


class ContextError(CopilotError):
    """The prompt cannot be built: a budget too small for even the instructions."""


class NotebookFormatError(CopilotError, ValueError):
    """A notebook document (VS Code / Runme JSON) that does not have the expected shape."""


# -- cells from a Markdown runbook --------------------------------------------------------

# Output items whose data is text a person reads. Everything else — Runme's terminal and
# output-items state, images, widgets, other vendors' JSON — is dropped.
TEXT_MIMES = frozenset(
    {"text/plain", "text/markdown", "text/csv", "text/x-log", "application/json"}
)
_TEXT_MIME_PREFIX = "text/x-"
STDOUT_MIME = "application/vnd.code.notebook.stdout"
STDERR_MIME = "application/vnd.code.notebook.stderr"
ERROR_MIME = "application/vnd.code.notebook.error"
EXIT_CODE_KEYS = ("runme.dev/exitCode", "exitCode", "exit_code")


def _mime(value: object) -> str:
    """A mime type without its parameters (`text/plain; charset=utf-8` → `text/plain`)."""
    return str(value or "").split(";", 1)[0].strip().lower()


def _stream_for(mime: str, interactive: bool) -> Stream | None:
    """The stream an output item with this mime type belongs to; None drops it."""
    mime = _mime(mime)
    if mime in (STDERR_MIME, ERROR_MIME):
        return "stderr"
    if mime == STDOUT_MIME or mime in TEXT_MIMES or mime.startswith(_TEXT_MIME_PREFIX):
        return "output" if interactive else "stdout"  # a PTY merges stdout and stderr
    return None


def _merge(parts: Iterable[OutputPart]) -> tuple[OutputPart, ...]:
    """Adjacent chunks of one stream become one part; empty parts go."""
    merged: list[OutputPart] = []
    for part in parts:
        if not part.text and not part.truncated:
            continue
        if merged and merged[-1].stream == part.stream:
            last = merged[-1]
            merged[-1] = OutputPart(
                last.stream, last.text + part.text, last.truncated + part.truncated
            )
        else:
            merged.append(part)
    return tuple(merged)


def _markdown_cell(cell: Cell) -> ContextCell:
    if cell.kind == "markup":
        return ContextCell("markup", cell.source)
    parts = (
        OutputPart("output", render_text(o.text))
        for o in cell.outputs
        if _stream_for(o.mime, True) is not None
    )
    codes = [o.exit_code for o in cell.outputs if o.exit_code is not None]
    return ContextCell(
        "code",
        cell.source,
        cell.language,
        id=cell.attributes.get("id") or None,
        name=cell.name,
        interactive=cell.interactive,
        outputs=_merge(parts),
        exit_code=codes[-1] if codes else None,
    )


def cells_from_notebook(nb: Notebook) -> list[ContextCell]:
    """The cells of a Markdown runbook; outputs read from a Runme session file are kept
    (stream "output": the file does not tell stdout from stderr) with their exit code."""
    return [_markdown_cell(cell) for cell in nb.cells]


# -- cells from a VS Code / Runme notebook (JSON) ------------------------------------------

_KINDS: dict[object, Literal["markup", "code"]] = {
    1: "markup",
    2: "code",
    "markup": "markup",
    "markdown": "markup",
    "code": "code",
}


def _exit_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,10}", value.strip()):
        return int(value)
    return None


def _exit_code_in(metadata: object) -> int | None:
    if not isinstance(metadata, Mapping):
        return None
    for key in EXIT_CODE_KEYS:
        code = _exit_code(metadata.get(key))
        if code is not None:
            return code
    return None


def _flag(value: object, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip().lower() != "false"
    return default


def _item_text(item: Mapping[str, Any], where: str) -> str:
    """An output item's data as text: a string, byte values, a Node Buffer, or base64."""
    if "dataBase64" in item:
        encoded = item["dataBase64"]
        if not isinstance(encoded, str):
            raise NotebookFormatError(f"{where}: an output item's `dataBase64` must be text")
        try:
            raw = base64.b64decode(encoded, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise NotebookFormatError(f"{where}: an output item's base64 is bad ({exc})") from None
        return raw.decode("utf-8", "replace")
    data = item.get("data")
    if isinstance(data, Mapping) and data.get("type") == "Buffer":
        data = data.get("data")
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, list) and all(isinstance(b, int) for b in data):
        try:
            return bytes(data).decode("utf-8", "replace")
        except ValueError:
            raise NotebookFormatError(
                f"{where}: an output item's byte values must be 0..255"
            ) from None
    return json.dumps(data, ensure_ascii=False)  # application/json given as a value


def _error_text(text: str) -> str:
    """VS Code's error items hold `{"name", "message", "stack"}`."""
    try:
        error = json.loads(text)
    except ValueError:
        return text
    if not isinstance(error, Mapping):
        return text
    stack = str(error.get("stack") or "").strip()
    if stack:
        return stack + "\n"
    name, message = str(error.get("name") or "Error"), str(error.get("message") or "")
    return f"{name}: {message}\n"


def _vscode_outputs(
    outputs: object, interactive: bool, where: str
) -> tuple[tuple[OutputPart, ...], int | None]:
    if not isinstance(outputs, list):
        raise NotebookFormatError(f"{where}: `outputs` must be a list")
    parts: list[OutputPart] = []
    exit_code: int | None = None
    for output in outputs:
        if not isinstance(output, Mapping):
            raise NotebookFormatError(f"{where}: an output must be an object")
        exit_code = _exit_code_in(output.get("metadata")) if exit_code is None else exit_code
        items = output.get("items") or []
        if not isinstance(items, list):
            raise NotebookFormatError(f"{where}: an output's `items` must be a list")
        for item in items:
            if not isinstance(item, Mapping):
                raise NotebookFormatError(f"{where}: an output item must be an object")
            mime = _mime(item.get("mime"))
            stream = _stream_for(mime, interactive)
            if stream is None:
                continue
            text = _item_text(item, where)
            if mime == ERROR_MIME:
                text = _error_text(text)
            parts.append(OutputPart(stream, render_text(text)))
    return _merge(parts), exit_code


def _summary_exit_code(summary: object) -> int | None:
    if not isinstance(summary, Mapping):
        return None
    code = _exit_code_in(summary)
    if code is not None:
        return code
    success = summary.get("success")
    return None if not isinstance(success, bool) else (0 if success else 1)


def _source(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)  # Jupyter's list of lines
    raise NotebookFormatError(f"{where}: `value` must be text")


def _vscode_cell(raw: object, index: int) -> ContextCell:
    where = f"cell {index}"
    if not isinstance(raw, Mapping):
        raise NotebookFormatError(f"{where}: a cell must be an object")
    raw_kind = raw.get("kind")
    # Only numbers and names: a list is unhashable, and True == 1 would read as markup.
    usable = isinstance(raw_kind, int | str) and not isinstance(raw_kind, bool)
    kind = _KINDS.get(raw_kind) if usable else None
    if kind is None:
        raise NotebookFormatError(f"{where}: unknown kind {raw_kind!r}")
    source = _source(raw.get("value", raw.get("source", "")), where)
    if kind == "markup":
        return ContextCell("markup", source)
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise NotebookFormatError(f"{where}: `metadata` must be an object")
    interactive = _flag(metadata.get("interactive"), default=True)  # Runme's default
    outputs, exit_code = _vscode_outputs(raw.get("outputs") or [], interactive, where)
    if exit_code is None:
        exit_code = _exit_code_in(metadata)
    if exit_code is None:
        exit_code = _summary_exit_code(raw.get("executionSummary"))
    cell_id = metadata.get("id") or metadata.get("runme.dev/id")
    return ContextCell(
        "code",
        source,
        str(raw.get("languageId") or raw.get("language") or ""),
        id=str(cell_id) if cell_id else None,
        name=str(metadata.get("name") or ""),
        interactive=interactive,
        outputs=outputs,
        exit_code=exit_code,
    )


def cells_from_vscode(data: Mapping[str, Any]) -> list[ContextCell]:
    """The cells of a VS Code / Runme notebook document; textual output items only.
    Raises NotebookFormatError (a ValueError) when the document has another shape."""
    cells = data.get("cells") if isinstance(data, Mapping) else None
    if not isinstance(cells, list):
        raise NotebookFormatError("a notebook is an object with a `cells` list")
    return [_vscode_cell(raw, i) for i, raw in enumerate(cells)]


# -- outputs from the learning log -----------------------------------------------------------


def _latest_executions(
    executions: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    """The latest `cell.executed` event per cell id and per cell name (later wins ties)."""
    by_id: dict[str, Mapping[str, Any]] = {}
    by_name: dict[str, Mapping[str, Any]] = {}
    for event in executions:
        if event.get("type", "cell.executed") != "cell.executed":
            continue
        for key, table in ((event.get("known_id"), by_id), (event.get("known_name"), by_name)):
            if not key:
                continue
            seen = table.get(str(key))
            if seen is None or str(event.get("time") or "") >= str(seen.get("time") or ""):
                table[str(key)] = event
    return by_id, by_name


def _execution_for(
    cell: ContextCell,
    by_id: Mapping[str, Mapping[str, Any]],
    by_name: Mapping[str, Mapping[str, Any]],
    ids: set[str],
) -> Mapping[str, Any] | None:
    if cell.kind != "code":
        return None
    if cell.id and cell.id in by_id:
        return by_id[cell.id]
    event = by_name.get(cell.name) if cell.name else None
    if event is None:
        return None
    other = str(event.get("known_id") or "")
    return None if other and other in ids and other != cell.id else event  # someone else's


def _with_execution(cell: ContextCell, event: Mapping[str, Any]) -> ContextCell:
    interactive = bool(event.get("interactive", cell.interactive is not False))
    streams: tuple[tuple[Stream, str], ...] = (
        ("output" if interactive else "stdout", "stdout"),
        ("stderr", "stderr"),
    )
    parts = (
        OutputPart(
            stream,
            # Rendered (ANSI, CR) only when the prompt shows it: of a long notebook's
            # outputs, only those of the cells nearest the cursor are ever shown.
            str(event.get(key) or ""),
            int(event.get(f"{key}_truncated") or 0),
        )
        for stream, key in streams
    )
    return dataclasses.replace(
        cell,
        interactive=interactive,
        outputs=_merge(parts),
        exit_code=_exit_code(event.get("exit_code")),
    )


def attach_executions(
    cells: Sequence[ContextCell], executions: Iterable[Mapping[str, Any]]
) -> list[ContextCell]:
    """The cells with the outputs of their latest `cell.executed` event (matched by cell
    id, else by name), which replace outputs read from a session file."""
    by_id, by_name = _latest_executions(executions)
    ids = {c.id for c in cells if c.id}
    result: list[ContextCell] = []
    for cell in cells:
        event = _execution_for(cell, by_id, by_name, ids)
        result.append(cell if event is None else _with_execution(cell, event))
    return result


# -- budget and prompt --------------------------------------------------------------------

_MIN_PER_OUTPUT = 16
# Texts longer than this many characters per token of room are taken not to fit without
# counting them (so that no huge text is ever tokenized). True of any realistic output; a
# denser text (a long run of spaces) is then cut although it might have fit.
_MAX_CHARS_PER_TOKEN = 8
_MESSAGE_OVERHEAD = 4  # role and separators per message (OpenAI's rule of thumb)
_REPLY_PRIMING = 3  # the tokens that open the reply
_TITLE_TOKENS = 64  # the first markup cell (the title) is kept when it is this cheap
_MARKER_RESERVE = 16  # room kept for the "earlier cells omitted" line
_BACKTICKS = re.compile(r"`{3,}")
_SURROGATES = re.compile("[\ud800-\udfff]")  # unpaired (JSON allows them); not encodable


@dataclass(frozen=True)
class Budget:
    """Token budgets of one prompt."""

    total: int = 2048  # the model's context window: the prompt plus the reply
    examples: int = 512  # at most this much of the prompt for few-shot examples
    per_output: int = 256  # one stream of one cell, after head+tail shortening
    reply: int = 256  # kept free for the reply: the request's max_tokens

    def __post_init__(self) -> None:
        if self.reply < 1 or self.examples < 0 or self.per_output < _MIN_PER_OUTPUT:
            raise ContextError(
                f"budget: reply must be ≥ 1, examples ≥ 0 and per_output ≥ {_MIN_PER_OUTPUT}"
            )
        if self.total <= self.reply:
            raise ContextError(f"budget: total ({self.total}) must exceed reply ({self.reply})")

    @property
    def prompt(self) -> int:
        return self.total - self.reply


@dataclass(frozen=True)
class Prompt:
    """A request for the next cell, and what went into it."""

    request: Request
    prefill: str  # text the reply continues (already in the request; put it before the reply)
    tokens: int  # the messages as counted by `tokenizer`, plus per-message overheads
    cells_included: int  # cells before the cursor that appear (some shortened)
    cells_dropped: int  # cells before the cursor left out to fit the budget
    examples_included: int
    outputs_truncated: int  # output streams shortened (head+tail) or left out
    style: Style
    notebook: str  # the notebook section of the prompt, as rendered
    tokenizer: str  # the name of the tokenizer that counted


SYSTEM = (
    "You are an SRE copilot inside a runbook: a Markdown notebook of prose and shell "
    "cells that an operator runs one by one. Suggest the next cell: what to run next, "
    "given the cells so far and what they printed.\n"
    "Each cell that ran is followed by its output in blocks labelled stdout, stderr or "
    "output (a terminal's merged stdout and stderr), then its exit code; long output is "
    "shortened with a line such as '… [12 lines omitted] …'.\n"
    "Reply in Markdown: at most one short sentence, then exactly one fenced code block "
    "with the command(s) to run next. Nothing after the code block."
)
ASK = "Suggest the next cell, the one that follows the last cell above."
EXAMPLES_HEADING = (
    "## Examples\n\nSituations like this one from earlier runbooks, each with the cell "
    "that was run next."
)
COMPLETION_EXAMPLES_HEADING = "Commands the team ran at this step in earlier runbooks:"
EMPTY = "(no cells yet)"


@dataclass(frozen=True)
class _Part:
    """A piece of the prompt and its token count. Pieces are counted once each and their
    counts added up (separators included) to plan the prompt; a whole text counts the same
    or a few tokens less, as tokens merge across the joins. The finished prompt is counted
    once more as a whole (`_finish`)."""

    text: str
    tokens: int
    cut: int = 0  # output streams shortened or left out


def _clean(text: str) -> str:
    """Unpaired surrogates become U+FFFD: no model API or tokenizer can encode them."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def _part(text: str, tokenizer: Tokenizer) -> _Part:
    text = _clean(text)  # every text of a prompt passes here
    return _Part(text, tokenizer.count(text) if text else 0)


def _join(parts: Sequence[_Part], sep: str, tokenizer: Tokenizer) -> _Part:
    parts = [p for p in parts if p.text]
    glue = tokenizer.count(sep) * max(0, len(parts) - 1)
    return _Part(
        sep.join(p.text for p in parts),
        sum(p.tokens for p in parts) + glue,
        sum(p.cut for p in parts),
    )


def _fence(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def _fenced(info: str, body: str, tokenizer: Tokenizer) -> _Part:
    """A fenced block; its fence is longer than any backtick run inside."""
    body = body.rstrip("\n")
    fence = _fence(body)
    pieces = [_part(fence + info, tokenizer), _part(body, tokenizer), _part(fence, tokenizer)]
    return _join(pieces, "\n", tokenizer)  # an empty body is left out: the fences touch


# -- shortening ---------------------------------------------------------------------------


def _lines_marker(n: int) -> str:
    return f"… [{n} line{'' if n == 1 else 's'} omitted] …"


def _chars_marker(n: int) -> str:
    return f"… [{n} character{'' if n == 1 else 's'} omitted] …"


def _take(lines: Iterable[str], room: int, tokenizer: Tokenizer) -> tuple[int, int]:
    """How many of `lines` fit in `room` tokens (one more for each newline), and the cost."""
    taken = used = 0
    for line in lines:
        cost = tokenizer.count(line) + 1
        if used + cost > room:
            break
        taken, used = taken + 1, used + cost
    return taken, used


def _edges(text: str, limit: int) -> tuple[list[str], list[str]]:
    """The whole lines among the first and among the last `limit` characters of `text`,
    without splitting the rest (a 100 MB output has millions of lines)."""
    if len(text) <= 2 * limit:
        lines = text.split("\n")
        return lines, lines
    head = text[:limit].split("\n")[:-1]  # the last piece may end inside a line
    tail = text[len(text) - limit :].split("\n")[1:]
    return head, tail


def _cut_lines(text: str, cap: int, tokenizer: Tokenizer) -> str | None:
    """Head and tail lines around a marker, within `cap` tokens (or `text` itself, when
    all its lines fit after all); None when there are fewer than three lines or not even
    one fits (a single long line: cut characters instead)."""
    total = text.count("\n") + 1
    if total < 3:
        return None
    room = cap - tokenizer.count(_lines_marker(total)) - 1
    head_lines, tail_lines = _edges(text, max(0, room) * _MAX_CHARS_PER_TOKEN)
    head, used = _take(head_lines, room // 2, tokenizer)
    if tail_lines is head_lines:  # the same lines: the tail starts after the head
        tail_lines = head_lines[head:]
    tail, _ = _take(reversed(tail_lines), room - used, tokenizer)
    while head or tail:
        omitted = total - head - tail
        if omitted == 0:  # a dense text (not counted yet): all its lines fit one by one
            shortened = text
        else:
            tail_kept = tail_lines[len(tail_lines) - tail :]
            shortened = "\n".join([*head_lines[:head], _lines_marker(omitted), *tail_kept])
        if tokenizer.count(shortened) <= cap:
            return shortened
        if head > tail:  # the per-line counts were short of the whole: one line less
            head -= 1
        else:
            tail -= 1
    return None


def _cut_chars(text: str, cap: int, tokenizer: Tokenizer) -> str:
    """Head and tail characters around a marker, within `cap` tokens."""
    limit = cap * _MAX_CHARS_PER_TOKEN
    sample = text[:limit]
    per_token = len(sample) / max(1, tokenizer.count(sample))
    keep = int((cap - tokenizer.count(_chars_marker(len(text)))) * per_token)
    keep = max(0, min(keep, limit, len(text) - 1))  # a dense sample promises too much
    while True:
        head, tail = keep // 2, keep - keep // 2
        marker = _chars_marker(len(text) - head - tail)
        shortened = f"{text[:head]}{marker}{text[len(text) - tail :]}"
        if keep <= 0 or tokenizer.count(shortened) <= cap:
            return shortened
        keep = int(keep * 0.8)


def shorten(text: str, cap: int, tokenizer: Tokenizer) -> tuple[str, bool]:
    """`text` within `cap` tokens: whole when it fits, else its head and tail lines around
    '… [N lines omitted] …' (characters, for one long line). Returns (text, was_cut).
    Only a bounded part of `text` is ever tokenized, however long it is."""
    if len(text) <= cap and len(text.encode("utf-8", "surrogatepass")) <= cap:
        return text, False  # a token is at least one byte
    if len(text) <= cap * _MAX_CHARS_PER_TOKEN and tokenizer.count(text) <= cap:
        return text, False
    shortened = _cut_lines(text, cap, tokenizer)
    if shortened is None:
        shortened = _cut_chars(text, cap, tokenizer)
    return shortened, shortened != text


# -- rendering ----------------------------------------------------------------------------


def _status(cell: ContextCell, printed: bool, omitted: bool) -> str:
    if cell.exit_code is None:
        return "(output omitted)" if omitted else ""
    if omitted:
        return f"exit code: {cell.exit_code} (output omitted)"
    return f"exit code: {cell.exit_code}" + ("" if printed else " (no output)")


class _Renderer:
    """Renders cells into counted parts for one prompt (one tokenizer, one output cap)."""

    def __init__(self, tokenizer: Tokenizer, per_output: int) -> None:
        self.tokenizer = tokenizer
        self.per_output = per_output

    def block(self, cell: ContextCell, outputs: bool = True) -> _Part:
        """A markup cell's text; a code cell fenced, then (when `outputs`) each stream it
        printed in a block labelled with the stream, then its exit code."""
        if cell.kind == "markup":
            return _part(cell.source.strip(), self.tokenizer)
        pieces = [_fenced(cell.language, cell.source, self.tokenizer)]
        printed = cut = 0
        for part in cell.outputs:
            text = render_text(part.text).rstrip("\n")  # cells built by hand may carry ANSI
            if not text or text.isspace():
                continue
            printed += 1
            if outputs:
                text, was_cut = shorten(text, self.per_output, self.tokenizer)
                cut += was_cut
                pieces.append(_fenced(part.stream, text, self.tokenizer))
        pieces.append(
            _part(_status(cell, printed > 0, printed > 0 and not outputs), self.tokenizer)
        )
        block = _join(pieces, "\n", self.tokenizer)
        return dataclasses.replace(block, cut=cut if outputs else printed)

    def squeezed(self, cell: ContextCell, room: int) -> _Part | None:
        """The cell's source cut to fit `room`, outputs left out: for the cell nearest the
        cursor when it does not fit otherwise."""
        body_room = room - 12  # fences, language, status line
        if body_room < _MIN_PER_OUTPUT:
            return None
        source, _ = shorten(cell.source.strip("\n"), body_room, self.tokenizer)
        block = self.block(dataclasses.replace(cell, source=source), outputs=False)
        return block if block.tokens <= room else None

    def fit(self, cell: ContextCell, room: int, first: bool, bare: bool = True) -> _Part | None:
        """The fullest form of the cell that fits `room`: whole, without its outputs (if
        `bare`), or (the cell nearest the cursor only) cut."""
        if len(cell.source) <= room * _MAX_CHARS_PER_TOKEN:  # else it surely does not fit
            whole = self.block(cell)
            if whole.tokens <= room:
                return whole
            if (bare or first) and cell.kind == "code" and cell.outputs:
                without = self.block(cell, outputs=False)
                if without.tokens <= room:
                    return without
        return self.squeezed(cell, room) if first else None

    def title(self, cell: ContextCell) -> _Part | None:
        """The first markup cell, or its heading line, when cheap."""
        if cell.kind != "markup":
            return None
        limit = _TITLE_TOKENS * _MAX_CHARS_PER_TOKEN
        text = cell.source.strip()
        if len(text) <= limit:
            whole = _part(text, self.tokenizer)
            if whole.tokens <= _TITLE_TOKENS:
                return whole
        end = text.find("\n")
        first = text if end < 0 else text[:end]
        if not first.startswith("#") or len(first) > limit:
            return None
        heading = _part(first, self.tokenizer)
        return heading if heading.tokens <= _TITLE_TOKENS else None


# -- choosing cells -----------------------------------------------------------------------


@dataclass
class _Window:
    """The cells chosen for the notebook section: an optional title (cell 0 or its
    heading) and the contiguous run of cells just before the cursor."""

    count: int  # cells before the cursor
    title: _Part | None = None
    chosen: list[tuple[int, _Part]] = dataclasses.field(default_factory=list)  # newest first

    @property
    def lowest(self) -> int:
        return self.chosen[-1][0] if self.chosen else self.count

    @property
    def uses_title(self) -> bool:
        return self.title is not None and self.lowest > 0

    @property
    def omitted(self) -> int:
        return self.lowest - (1 if self.uses_title else 0)

    @property
    def included(self) -> int:
        return len(self.chosen) + (1 if self.uses_title else 0)

    def render(self, tokenizer: Tokenizer) -> _Part:
        blocks = [block for _, block in reversed(self.chosen)]
        if self.omitted:
            s = "" if self.omitted == 1 else "s"
            blocks.insert(0, _part(f"… [{self.omitted} earlier cell{s} omitted] …", tokenizer))
        if self.uses_title and self.title is not None:
            blocks.insert(0, self.title)
        return _join(blocks, "\n\n", tokenizer)


def _choose(
    cells: Sequence[ContextCell], renderer: _Renderer, room: int, *, steady: bool = False
) -> _Window:
    """Fill `room` tokens with the cells nearest the end of `cells`, newest first. With
    `steady`, a cell other than the newest is shown whole or not at all (never without
    its outputs to squeeze it in), so that its text does not depend on the cells after
    it: the prompts of consecutive positions then share their beginning."""
    window = _Window(len(cells))
    if len(cells) >= 2:
        window.title = renderer.title(cells[0])
    reserve = _MARKER_RESERVE + (window.title.tokens + 1 if window.title else 0)
    if reserve > room:
        window.title, reserve = None, _MARKER_RESERVE
    left = room - reserve
    for i in range(len(cells) - 1, -1, -1):
        if i == 0 and window.title is not None:
            left += window.title.tokens + 1  # cell 0 itself would replace its title
        block = renderer.fit(cells[i], left, first=not window.chosen, bare=not steady)
        if block is None:
            break
        window.chosen.append((i, block))
        left -= block.tokens + 1  # and the blank line between blocks
    return window


_WINDOW_STEP = 4  # a completion's window starts at a multiple of this many cells


def _steady(window: _Window) -> None:
    """When earlier cells must go, let the window start at a multiple of `_WINDOW_STEP`
    (dropping up to that many cells more): as the cursor moves on, the start, and so
    the prompt's beginning, stays the same for several suggestions, and a local model
    re-reads only what changed instead of the whole prompt."""
    if window.lowest == 0:
        return  # nothing left out
    start = -(-window.lowest // _WINDOW_STEP) * _WINDOW_STEP
    while len(window.chosen) > 1 and window.chosen[-1][0] < start:
        window.chosen.pop()


# -- examples -----------------------------------------------------------------------------


def _example(example: Example, number: int, style: Style, tokenizer: Tokenizer) -> _Part:
    cell = _fenced(example.language, example.cell, tokenizer)
    if style == "completion":
        return cell  # after the runbook, right before the reply: the command is what counts
    pieces = [
        _part(f"### Example {number}", tokenizer),
        _fenced("text", example.query.strip(), tokenizer),
        _part("Next cell:", tokenizer),
        cell,
    ]
    return _join(pieces, "\n\n", tokenizer)


def _choose_examples(
    examples: Sequence[Example], room: int, style: Style, tokenizer: Tokenizer
) -> list[_Part]:
    """Examples in their given order (best first) while they and their heading (and in a
    completion, the rule after them) fit `room`; one that does not fit is skipped, a
    smaller one after it may still fit."""
    chosen: list[_Part] = []
    sep = tokenizer.count("\n\n")
    used = tokenizer.count(_examples_heading(style)) + sep
    for example in examples:
        if len(example.query) + len(example.cell) > room * _MAX_CHARS_PER_TOKEN:
            continue  # surely too long, and not worth tokenizing to find out
        part = _example(example, len(chosen) + 1, style, tokenizer)
        cost = part.tokens + sep
        if used + cost <= room:
            chosen.append(part)
            used += cost
    return chosen


# -- the prompt ---------------------------------------------------------------------------


def _examples_heading(style: Style) -> str:
    return EXAMPLES_HEADING if style == "chat" else COMPLETION_EXAMPLES_HEADING


def _language(cells: Sequence[ContextCell]) -> str:
    for cell in reversed(cells):
        if cell.kind == "code" and cell.language:
            return cell.language
    return "sh"


def _messages(
    style: Style, examples: Sequence[_Part], notebook: _Part, prefill: str, tokenizer: Tokenizer
) -> tuple[tuple[Message, ...], int]:
    """The messages of the prompt and their tokens (message overheads included)."""
    part = functools.partial(_part, tokenizer=tokenizer)
    shown = [part(_examples_heading(style)), *examples] if examples else []
    if style == "chat":
        sections = [*shown, part("## Notebook"), notebook if notebook.text else part(EMPTY)]
        sections.append(part(ASK))
        first = part(SYSTEM)
    else:
        # A base model continues a document: the runbook, the examples' commands, then an
        # opened code fence (a trailing assistant message is the reply's prefill). The
        # runbook comes first so that the next suggestion in the same runbook starts
        # with the same text: a local model then re-reads only what changed (llama.cpp
        # keeps the longest common prefix of its last prompt evaluated).
        sections = [notebook, *shown]
    user = _join(sections, "\n\n", tokenizer)
    if style == "chat":
        pair = (first, user)
        roles: tuple[Role, Role] = ("system", "user")
    else:
        pair = (user, part(prefill))
        roles = ("user", "assistant")
    messages = tuple(Message(role, p.text) for role, p in zip(roles, pair, strict=True))
    overhead = _MESSAGE_OVERHEAD * len(messages) + _REPLY_PRIMING
    return messages, overhead + sum(p.tokens for p in pair)


def _counted(messages: Sequence[Message], tokenizer: Tokenizer) -> int:
    """The tokens of the messages, each text counted whole, with the message overheads."""
    texts = sum(tokenizer.count(m.content) for m in messages if m.content)
    return _MESSAGE_OVERHEAD * len(messages) + _REPLY_PRIMING + texts


def build_prompt(
    cells: Sequence[ContextCell],
    cursor: int,
    *,
    examples: Sequence[Example] = (),
    tokenizer: Tokenizer,
    budget: Budget = Budget(),  # frozen: one shared default is safe
    style: Style = "chat",
) -> Prompt:
    """The prompt that asks for the cell after `cells[:cursor]` (cells after the cursor
    are not shown). Raises ContextError when the budget cannot hold the instructions (and,
    when there are cells, the line that says they were left out)."""
    if not 0 <= cursor <= len(cells):
        raise ContextError(f"cursor {cursor} is outside the notebook (0..{len(cells)})")
    if style not in ("chat", "completion"):
        raise ContextError(f"unknown prompt style {style!r}: use 'chat' or 'completion'")
    before = cells[:cursor]
    prefill = _clean(f"```{_language(before)}\n") if style == "completion" else ""
    least = _Window(len(before)).render(tokenizer)  # every cell left out
    _, needed = _messages(style, [], least, prefill, tokenizer)
    if needed > budget.prompt:
        raise ContextError(
            f"a prompt budget of {budget.prompt} tokens cannot hold the instructions "
            f"({needed} tokens); raise Budget.total"
        )
    empty = _Part("", 0)
    _, fixed = _messages(style, [], empty, prefill, tokenizer)
    room = budget.prompt - fixed - tokenizer.count("\n\n")
    shown = _choose_examples(examples, min(budget.examples, room // 2), style, tokenizer)
    if shown:
        _, with_examples = _messages(style, shown, empty, prefill, tokenizer)
        room = budget.prompt - with_examples - tokenizer.count("\n\n")
    steady = style == "completion"  # a local model reuses the prefix it evaluated last
    window = _choose(before, _Renderer(tokenizer, budget.per_output), room, steady=steady)
    if steady:
        _steady(window)
    return _finish(window, shown, style, prefill, tokenizer, budget)


def _finish(
    window: _Window,
    shown: list[_Part],
    style: Style,
    prefill: str,
    tokenizer: Tokenizer,
    budget: Budget,
) -> Prompt:
    """The prompt from the chosen parts, counted whole; should it not fit as planned (the
    omission line, tokens that merge differently across joins), the earliest cells go,
    then the title, then the last examples, until it fits."""
    while True:
        notebook = window.render(tokenizer)
        messages, _ = _messages(style, shown, notebook, prefill, tokenizer)
        tokens = _counted(messages, tokenizer)
        if tokens <= budget.prompt:
            break
        if window.chosen:
            window.chosen.pop()
        elif window.uses_title:
            window.title = None
        elif shown:
            shown = shown[:-1]
        else:
            raise ContextError(f"the prompt needs {tokens} tokens; the budget has {budget.prompt}")
    stop = ("```",) if style == "completion" else ()  # the reply continues an opened fence
    return Prompt(
        request=Request(messages, options=Options(max_tokens=budget.reply, stop=stop)),
        prefill=prefill,
        tokens=tokens,
        cells_included=window.included,
        cells_dropped=window.count - window.included,
        examples_included=len(shown),
        outputs_truncated=sum(block.cut for _, block in window.chosen),
        style=style,
        notebook=notebook.text,
        tokenizer=tokenizer.name,
    )


__all__ = [
    "Budget",
    "ContextError",
    "NotebookFormatError",
    "Prompt",
    "attach_executions",
    "build_prompt",
    "cells_from_notebook",
    "cells_from_vscode",
    "shorten",
]
