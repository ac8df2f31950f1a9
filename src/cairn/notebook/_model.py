"""The notebook model: a runbook as frontmatter plus an ordered list of cells.

Every parsed cell remembers the exact text it came from and a snapshot of its
parsed fields; serialization writes that text back untouched unless a field changed,
which is what makes the round trip byte-for-byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ._attributes import AttrForm
from ._frontmatter import Frontmatter
from ._ulid import new_ulid

CellKind = Literal["markup", "code"]

# What str.splitlines() keeps of a line (empty lines aside).
_LINE_TEXT_RE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
# Runme: UPPER_CASE names export the cell's stdout (at least three chars, one letter
# from the third on).
EXPORT_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{1}[A-Z0-9_]*[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Diagnostic:
    """Something in a runbook that is read, but probably not as its author meant."""

    line: int  # 1-based, counted like `Cell.line`
    message: str


@dataclass
class Output:
    """What a cell printed in a past session, as recorded in a session file."""

    text: str
    exit_code: int | None = None
    ran_at: str | None = None  # as written, e.g. "2025-11-19 21:04:17Z"
    duration: str | None = None  # as written, e.g. "4.765s"
    mime: str = "text/plain"


@dataclass(eq=False, slots=True)  # slots: a large runbook has 100 000s of cells
class Cell:
    """One cell. Markup cells hold raw Markdown; code cells hold a fenced block."""

    kind: CellKind
    source: str
    language: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    attr_form: AttrForm = "json"
    info_rest: str = ""
    info_tail: str = ""  # text after the attribute block in the info string
    # False for an indented code block (Runme runs those too; they carry no attributes).
    fenced: bool = True
    outputs: list[Output] = field(default_factory=list)
    line: int = 0  # 1-based line of the fence (or first line) in the file; 0 for new cells
    # Name generated from the first command when there is no `name` attribute.
    generated_name: str = ""
    # Whitespace-only text (blank lines) that follows the cell in the file.
    trailer: str = ""
    # What `_raw` and `_snapshot` are made of: a runbook of many small cells spends most
    # of its memory on them, so what can be rebuilt is not stored (see `_freeze`).
    _text: str | None = field(default=None, repr=False)
    _saved: tuple[object, ...] | None = field(default=None, repr=False)
    _ephemeral_id: str | None = field(default=None, repr=False)
    # Layout of a parsed code block, reused when a changed cell is re-rendered.
    _fence: str = field(default="```", repr=False)
    _first_prefix: str = field(default="", repr=False)
    _prefix: str = field(default="", repr=False)
    _newline: str = field(default="\n", repr=False)
    _opening: str | None = field(default=None, repr=False)
    _closed: bool = field(default=True, repr=False)
    _closing: str | None = field(default=None, repr=False)  # the closing fence line as written
    _has_attrs: bool = field(default=False, repr=False)
    _attr_span: tuple[int, int] | None = field(default=None, repr=False)  # in `_opening`
    # Inline Markdown of the paragraph right before the cell (Runme's "intro").
    _intro: str | None = field(default=None, repr=False)
    # An indented block right under a non-blank line: rewritten fenced when edited, since
    # re-indented text there could join the paragraph above.
    _needs_fence: bool = field(default=False, repr=False)
    _intro_text: str | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        """The cell's `id` attribute, or an ephemeral ULID that is never written."""
        explicit = self.attributes.get("id")
        if explicit:
            return explicit
        if self._ephemeral_id is None:
            self._ephemeral_id = new_ulid()
        return self._ephemeral_id

    @property
    def name(self) -> str:
        return self.attributes.get("name") or self.generated_name

    @property
    def name_generated(self) -> bool:
        return not self.attributes.get("name")

    @property
    def interactive(self) -> bool:
        # Runme's default: cells are interactive unless they say otherwise.
        return self.attributes.get("interactive", "true").strip().lower() != "false"

    @property
    def tags(self) -> list[str]:
        raw = ",".join(self.attributes.get(k, "") for k in ("category", "tag", "tags"))
        return [t.strip() for t in raw.split(",") if t.strip()]

    @property
    def runnable(self) -> bool:
        """False for blocks Runme shows as markup: `transform` false, or a mermaid
        diagram without a `transform` attribute."""
        value = self.attributes.get("transform")
        if value is None:
            return self.language != "mermaid"
        # Go's strconv.ParseBool; anything else leaves Runme's default (true).
        return value not in ("0", "f", "F", "false", "FALSE", "False")

    @property
    def description(self) -> str:
        """The `description` attribute, else the paragraph before the cell (as Runme)."""
        explicit = self.attributes.get("description", "").strip()
        if explicit:
            return explicit
        if self._intro is None:
            return ""
        if self._intro_text is None:
            from ._intro import intro_text

            self._intro_text = intro_text(self._intro)
        return self._intro_text

    @property
    def first_command(self) -> str:
        # The lines of str.splitlines(), but lazily: a cell may be thousands of lines long.
        for m in _LINE_TEXT_RE.finditer(self.source):
            line = m.group(0)
            stripped = line.strip().lstrip("$").strip()
            if stripped and not stripped.startswith("#"):
                return stripped
        return ""

    def _state(self) -> tuple[object, ...]:
        return (
            self.kind,
            self.source,
            self.language,
            tuple(self.attributes.items()),
            self.attr_form,
            self.info_rest,
            self.info_tail,
            self.fenced,
            tuple((o.text, o.exit_code, o.ran_at, o.duration, o.mime) for o in self.outputs),
        )

    @property
    def changed(self) -> bool:
        """True when the cell differs from what was parsed (or was never parsed)."""
        return not self._parsed or self._snapshot != self._state()

    @property
    def _parsed(self) -> bool:
        return self._text is not None or self._saved is not None

    @property
    def _raw(self) -> str | None:
        """The text the cell was parsed from; None for a new cell."""
        if self._text is not None or self._saved is None:
            return self._text
        return f"{self._opening}{self._saved[1]}{self._closing or ''}"

    @property
    def _snapshot(self) -> tuple[object, ...] | None:
        """The cell's fields (`_state()`) as parsed; None for a new cell."""
        if self._saved is None and self._text is not None:
            return _markup_state(self._text)
        return self._saved

    def _freeze(self, raw: str) -> None:
        """Remember `raw` as the cell's text and its fields as parsed. A markup cell
        whose source is its text keeps no snapshot (it is rebuilt from the text); a
        fenced block that is exactly its opening line, code and closing line keeps no
        text (it is rebuilt from those)."""
        state = self._state()
        self._saved = None if state == _markup_state(raw) else state
        rebuilt = (
            self._saved is not None
            and self._opening is not None
            and raw == f"{self._opening}{self.source}{self._closing or ''}"
        )
        self._text = None if rebuilt else raw


def _markup_state(raw: str) -> tuple[object, ...]:
    """`Cell._state()` of `Cell(kind="markup", source=raw)`."""
    return ("markup", raw, "", (), "json", "", "", True, ())


@dataclass
class Notebook:
    """A parsed runbook. `serialize(parse(text)) == text` when nothing changed."""

    cells: list[Cell] = field(default_factory=list)
    frontmatter: Frontmatter | None = None
    leading: str = ""  # blank lines between the frontmatter and the first cell
    newline: str = "\n"  # the document's dominant line ending, for new text
    bom: bool = False  # the file starts with a UTF-8 byte-order mark
    diagnostics: list[Diagnostic] = field(default_factory=list)  # found while parsing

    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]


def insert_code_cell(nb: Notebook, cursor: int, source: str, language: str, cell_id: str) -> Cell:
    """Insert a code cell with its `id` at position `cursor` of `nb.cells` (what accepting
    a suggestion does, from `cairn suggest --insert` and from the web page alike); a
    blank line is kept between it and the cell before it."""
    cell = Cell(
        kind="code",
        source=source,
        language=language,
        attributes={"id": cell_id},
        trailer=nb.newline if cursor < len(nb.cells) else "",
    )
    previous = nb.cells[cursor - 1] if cursor > 0 else None
    if previous is not None and not previous.trailer and previous.source.strip():
        previous.trailer = nb.newline  # keep a blank line before the new fence
    nb.cells.insert(cursor, cell)
    return cell
