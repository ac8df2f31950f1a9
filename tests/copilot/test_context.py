"""Context assembly: notebooks (Markdown + execution events, or VS Code / Runme JSON)
with what their cells printed → the prompt for the next cell, within a token budget.

The tokenizers are the real ones (tiktoken's cl100k_base offline, the bundled Gemma GGUF
vocabulary, the estimate); `Spy` only wraps one to see how much text it was given.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cairn.copilot._budget import Budget, ContextError, shorten
from cairn.copilot._cells import cells_from_notebook
from cairn.copilot._executions import attach_executions
from cairn.copilot._prompt import (
    _MESSAGE_OVERHEAD,
    _REPLY_PRIMING,
    EMPTY,
    Prompt,
    Style,
    build_prompt,
)
from cairn.copilot._tokens import EstimateTokenizer, GGUFTokenizer, Tokenizer, tokenizer_for
from cairn.copilot._types import ContextCell, Example, OutputPart
from cairn.copilot._vscode import NotebookFormatError, cells_from_vscode
from cairn.learnlog import CellExecuted
from cairn.notebook import parse

GEMMA = "gemma-3-270m-q4_k_m"
STDOUT = "application/vnd.code.notebook.stdout"
STDERR = "application/vnd.code.notebook.stderr"
# What Runme keeps next to an interactive cell's output: terminal UI state (Foyle #286).
TERMINAL_STATE = {
    "type": "stateful.runme/terminal",
    "output": {
        "runme.dev/id": "01J7Y831N6DC58716N7ZM5P2HC",
        "content": "",
        "initialRows": 10,
        "enableShareButton": True,
        "backgroundTask": True,
        "interactive": True,
        "fontFamily": "Menlo, Monaco, 'Courier New', monospace",
        "scrollback": 1000,
    },
}


class Spy:
    """A real tokenizer that remembers the longest text it was asked to count."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = inner.name
        self.longest = 0

    def count(self, text: str) -> int:
        self.longest = max(self.longest, len(text))
        return self.inner.count(text)


@pytest.fixture(scope="module")
def cl100k() -> Tokenizer:
    tokenizer = tokenizer_for("openai", "gpt-4")
    assert tokenizer.name == "tiktoken:cl100k_base"
    return tokenizer


@pytest.fixture(scope="module")
def gemma() -> Tokenizer:
    tokenizer = tokenizer_for("local", GEMMA)
    assert isinstance(tokenizer, GGUFTokenizer)
    return tokenizer


def code(
    source: str,
    *outputs: OutputPart,
    exit_code: int | None = None,
    language: str = "sh",
    id: str | None = None,
) -> ContextCell:
    return ContextCell("code", source, language, id=id, outputs=outputs, exit_code=exit_code)


def markup(text: str) -> ContextCell:
    return ContextCell("markup", text)


def counted(prompt: Prompt, tokenizer: Tokenizer) -> int:
    """The prompt's messages tokenized as sent, plus the documented per-message overheads."""
    messages = prompt.request.messages
    texts = sum(tokenizer.count(m.content) for m in messages)
    return texts + _MESSAGE_OVERHEAD * len(messages) + _REPLY_PRIMING


def sent(prompt: Prompt) -> str:
    return "\n".join(m.content for m in prompt.request.messages)


def buffer(data: bytes) -> dict[str, Any]:
    """An output item's data as Node serializes a Buffer."""
    return {"type": "Buffer", "data": list(data)}


def vscode_code(
    value: str, *outputs: dict[str, Any], interactive: bool = True, **extra: Any
) -> dict[str, Any]:
    metadata = {"interactive": "true" if interactive else "false", **extra.pop("metadata", {})}
    return {
        "kind": 2,
        "languageId": "sh",
        "value": value,
        "metadata": metadata,
        "outputs": list(outputs),
        **extra,
    }


# -- executed cells' outputs reach the prompt ------------------------------------------------


def test_interactive_cell_output_reaches_prompt_and_runme_ui_state_does_not(
    cl100k: Tokenizer,
) -> None:
    doc = {
        "cells": [
            vscode_code(
                "kubectl -n lf-prod get pods",
                {
                    "items": [
                        {"mime": "stateful.runme/terminal", "data": TERMINAL_STATE},
                        {"mime": STDOUT, "data": buffer(b"api-7d9f  0/1  CrashLoopBackOff\n")},
                    ]
                },
                {"items": [{"mime": "stateful.runme/output-items", "data": {"id": "x"}}]},
                executionSummary={"success": True},
            )
        ]
    }
    prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=cl100k)
    assert prompt.notebook == (
        "```sh\nkubectl -n lf-prod get pods\n```\n"
        "```output\napi-7d9f  0/1  CrashLoopBackOff\n```\n"
        "exit code: 0"
    )
    for ui in ("stateful.runme", "fontFamily", "initialRows", "scrollback"):
        assert ui not in sent(prompt)


def test_stdout_stderr_and_exit_code_are_labelled_apart(cl100k: Tokenizer) -> None:
    cells = [
        code("make test", id="a"),
        code("htop", id="b"),
    ]
    events = [
        CellExecuted(
            known_id="a", interactive=False, stdout="ok 1\nok 2\n", stderr="FAIL 3\n", exit_code=2
        ).to_dict(),
        CellExecuted(known_id="b", interactive=True, stdout="load 0.42\n", exit_code=0).to_dict(),
    ]
    prompt = build_prompt(attach_executions(cells, events), 2, tokenizer=cl100k)
    assert prompt.notebook == (
        "```sh\nmake test\n```\n"
        "```stdout\nok 1\nok 2\n```\n"
        "```stderr\nFAIL 3\n```\n"
        "exit code: 2\n\n"
        "```sh\nhtop\n```\n"
        "```output\nload 0.42\n```\n"
        "exit code: 0"
    )


def test_markdown_session_outputs_are_included_with_their_exit_code(cl100k: Tokenizer) -> None:
    nb = parse(
        "```sh\nsystemctl status nginx\n\n"
        "# Ran on 2025-11-19 21:04:17Z for 4.765s exited with 3\n"
        "● nginx.service - failed\n```\n"
    )
    prompt = build_prompt(cells_from_notebook(nb), 1, tokenizer=cl100k)
    assert prompt.notebook == (
        "```sh\nsystemctl status nginx\n```\n```output\n● nginx.service - failed\n```\nexit code: 3"
    )


def test_a_cell_that_ran_without_printing_says_so(cl100k: Tokenizer) -> None:
    cells = attach_executions(
        [code("true", id="t")], [CellExecuted(known_id="t", exit_code=0).to_dict()]
    )
    prompt = build_prompt(cells, 1, tokenizer=cl100k)
    assert prompt.notebook == "```sh\ntrue\n```\nexit code: 0 (no output)"


def test_ansi_escapes_and_carriage_returns_are_rendered_away(cl100k: Tokenizer) -> None:
    stdout = (
        "\x1b]0;deploy\x07\x1b[1;31mERROR\x1b[0m disk full\r\n"
        "pulling  10%\rpulling  50%\rpulling 100%\n"
        "a\x00b\x1b[K\n"
    )
    cells = attach_executions(
        [code("./deploy.sh", id="d")],
        [CellExecuted(known_id="d", interactive=True, stdout=stdout, exit_code=1).to_dict()],
    )
    prompt = build_prompt(cells, 1, tokenizer=cl100k)
    assert "```output\nERROR disk full\npulling 100%\nab\n```" in prompt.notebook
    assert "\x1b" not in sent(prompt)
    assert "10%" not in prompt.notebook


def test_hand_built_cells_are_rendered_too(cl100k: Tokenizer) -> None:
    cell = code("ls", OutputPart("stdout", "\x1b[34mdir\x1b[0m\n"), exit_code=0)
    prompt = build_prompt([cell], 1, tokenizer=cl100k)
    assert "```stdout\ndir\n```" in prompt.notebook


@pytest.mark.parametrize(
    ("mime", "kept"),
    [
        (STDOUT, True),
        (STDERR, True),
        ("text/plain", True),
        ("text/plain; charset=utf-8", True),
        ("Text/Markdown", True),
        ("text/x-log", True),
        ("text/x-shellscript", True),
        ("application/json", True),
        ("stateful.runme/terminal", False),
        ("stateful.runme/output-items", False),
        ("text/html", False),
        ("image/png", False),
        ("application/vnd.jupyter.widget-view+json", False),
        ("", False),
    ],
)
def test_only_textual_output_items_reach_the_prompt(
    mime: str, kept: bool, cl100k: Tokenizer
) -> None:
    doc = {"cells": [vscode_code("run", {"items": [{"mime": mime, "data": "the-payload\n"}]})]}
    prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=cl100k)
    assert ("the-payload" in prompt.notebook) is kept


def test_vscode_error_items_show_on_stderr(cl100k: Tokenizer) -> None:
    error = {"name": "Error", "message": "spawn kubectl ENOENT", "stack": ""}
    doc = {
        "cells": [
            vscode_code(
                "kubectl get pods",
                {"items": [{"mime": "application/vnd.code.notebook.error", "data": error}]},
            )
        ]
    }
    prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=cl100k)
    assert "```stderr\nError: spawn kubectl ENOENT\n```" in prompt.notebook


def test_vscode_cells_read_runme_metadata() -> None:
    doc = {
        "cells": [
            {"kind": "markdown", "value": ["# Title\n", "\n", "Some prose."]},
            vscode_code(
                "make",
                {"items": [], "metadata": {"runme.dev/exitCode": "3"}},
                interactive=False,
                metadata={"runme.dev/id": "01ABC", "name": "build"},
            ),
            vscode_code("false", executionSummary={"success": False}),
            vscode_code("exit 300", metadata={"exitCode": "9" * 5000}),
            {"kind": 2, "language": "bash", "source": "echo hi", "metadata": {"exitCode": 4}},
        ]
    }
    title, build, failed, absurd, other = cells_from_vscode(doc)
    assert (title.kind, title.source) == ("markup", "# Title\n\nSome prose.")
    assert (build.id, build.name, build.interactive, build.exit_code) == (
        "01ABC",
        "build",
        False,
        3,
    )
    assert (failed.interactive, failed.exit_code) == (True, 1)
    assert absurd.exit_code is None  # not a number worth reading
    assert (other.language, other.source, other.interactive, other.exit_code) == (
        "bash",
        "echo hi",
        True,  # Runme's default
        4,
    )


# -- Markdown + events and a Runme client's notebook give the same prompt --------------------

IDS = ("01J00000000000000000000DF1", "01J00000000000000000000DU2", "01J00000000000000000000JC3")
RUNBOOK = f"""# Disk full on web-1

The alert fired at 03:12.

```sh {{"id":"{IDS[0]}","name":"df"}}
df -h /var
```

Look for the biggest directories.

```sh {{"id":"{IDS[1]}","interactive":"false","name":"du"}}
du -sh /var/* | sort -h | tail -3
```

```sh {{"id":"{IDS[2]}","name":"journal"}}
journalctl --disk-usage
```
"""
DF_OUT = "\x1b[1mFilesystem\x1b[0m      Size  Used\r\n/dev/sda1        50G   49G\r\n"
DU_OUT = "1.2G\t/var/cache\n31G\t/var/log\n"
DU_ERR = "du: cannot read directory '/var/lib/private': Permission denied\n"
EXPECTED_NOTEBOOK = """# Disk full on web-1

The alert fired at 03:12.

```sh
df -h /var
```
```output
Filesystem      Size  Used
/dev/sda1        50G   49G
```
exit code: 0

Look for the biggest directories.

```sh
du -sh /var/* | sort -h | tail -3
```
```stdout
1.2G\t/var/cache
31G\t/var/log
```
```stderr
du: cannot read directory '/var/lib/private': Permission denied
```
exit code: 1

```sh
journalctl --disk-usage
```"""


def _from_markdown_and_events() -> list[ContextCell]:
    events = [
        CellExecuted(
            known_id=IDS[0], known_name="df", interactive=True, stdout=DF_OUT, exit_code=0
        ).to_dict(),
        CellExecuted(
            known_id=IDS[1],
            known_name="du",
            interactive=False,
            stdout=DU_OUT,
            stderr=DU_ERR,
            exit_code=1,
        ).to_dict(),
    ]
    return attach_executions(cells_from_notebook(parse(RUNBOOK)), events)


def _from_runme_client() -> list[ContextCell]:
    doc = {
        "metadata": {"runme": {"version": "v3"}},
        "cells": [
            {
                "kind": 1,
                "value": "# Disk full on web-1\n\nThe alert fired at 03:12.",
                "metadata": {},
            },
            vscode_code(
                "df -h /var",
                {
                    "items": [
                        {"mime": "stateful.runme/terminal", "data": buffer(b"{}")},
                        {"mime": STDOUT, "data": buffer(DF_OUT.encode())},
                    ]
                },
                {"items": [{"mime": "stateful.runme/output-items", "data": TERMINAL_STATE}]},
                metadata={"id": IDS[0], "name": "df"},
                executionSummary={"success": True, "timing": {"startTime": 1, "endTime": 2}},
            ),
            {"kind": 1, "value": "Look for the biggest directories.", "metadata": {}},
            vscode_code(
                "du -sh /var/* | sort -h | tail -3",
                {
                    "items": [
                        {"mime": STDOUT, "dataBase64": base64.b64encode(DU_OUT.encode()).decode()},
                        {"mime": STDERR, "data": DU_ERR},
                    ],
                    "metadata": {"runme.dev/exitCode": 1},
                },
                interactive=False,
                metadata={"id": IDS[1], "name": "du"},
            ),
            vscode_code("journalctl --disk-usage", metadata={"id": IDS[2], "name": "journal"}),
        ],
    }
    return cells_from_vscode(json.loads(json.dumps(doc)))


@pytest.mark.parametrize("style", ["chat", "completion"])
def test_runme_notebook_gives_the_same_prompt_as_markdown_and_events(
    style: Style, cl100k: Tokenizer
) -> None:
    markdown = build_prompt(_from_markdown_and_events(), 5, tokenizer=cl100k, style=style)
    runme = build_prompt(_from_runme_client(), 5, tokenizer=cl100k, style=style)
    assert markdown.notebook == EXPECTED_NOTEBOOK
    assert runme.notebook == markdown.notebook
    assert runme.request.messages == markdown.request.messages
    assert runme.tokens == markdown.tokens


# -- matching executions to cells -------------------------------------------------------------


def test_the_latest_execution_wins_and_replaces_session_outputs(cl100k: Tokenizer) -> None:
    nb = parse(
        '```sh {"id":"01J0000000000000000000000A"}\nuptime\n\n'
        "# Ran on 2025-01-01 00:00:00Z for 1s exited with 0\nold session output\n```\n"
    )
    events = [
        {
            **CellExecuted(known_id="01J0000000000000000000000A", stdout="newest\n").to_dict(),
            "time": "2025-06-01T00:00:02.000Z",
        },
        {
            **CellExecuted(known_id="01J0000000000000000000000A", stdout="older\n").to_dict(),
            "time": "2025-06-01T00:00:01.000Z",
        },
        {"type": "cell.started", "known_id": "01J0000000000000000000000A", "stdout": "started"},
    ]
    cells = attach_executions(cells_from_notebook(nb), events)
    prompt = build_prompt(cells, 1, tokenizer=cl100k)
    assert "newest" in prompt.notebook
    for stale in ("older", "old session output", "started"):
        assert stale not in prompt.notebook


def test_executions_match_by_id_then_by_name_but_never_another_cells() -> None:
    cells = [
        code("echo a", id="id-a"),
        ContextCell("code", "echo b", "sh", name="bee"),
        ContextCell("code", "echo c", "sh", id="id-c", name="sea"),
        markup("prose named nothing"),
    ]
    events = [
        CellExecuted(known_id="id-a", known_name="bee", stdout="A\n").to_dict(),
        CellExecuted(known_id="", known_name="bee", stdout="B\n").to_dict(),
        # Named like cell c but run as cell a: cell c did not run.
        CellExecuted(known_id="id-a", known_name="sea", stdout="not C\n", exit_code=9).to_dict(),
    ]
    a, b, c, prose = attach_executions(cells, events)
    assert [p.text for p in a.outputs] == ["not C\n"]  # the latest event of id-a
    assert [p.text for p in b.outputs] == ["B\n"]
    assert (c.outputs, c.exit_code) == ((), None)
    assert prose == cells[3]


def test_cells_after_the_cursor_are_not_shown(cl100k: Tokenizer) -> None:
    cells = [code("echo one"), code("echo two"), code("echo three")]
    prompt = build_prompt(cells, 2, tokenizer=cl100k)
    assert "echo two" in prompt.notebook
    assert "echo three" not in sent(prompt)
    assert (prompt.cells_included, prompt.cells_dropped) == (2, 0)


# -- budgets -----------------------------------------------------------------------------------

TOKENIZERS = [("openai", "gpt-4"), ("local", GEMMA), ("anthropic", "claude-sonnet-4-5")]
SHELL_WORDS = "kubectl get pods -n prod error: OK 200 ``` ---- /var/log Ünïcode 日本語 🙂"
ODD_WORDS = ["\x1b[31m", "\t", "   ", "\n", "\n\n", '{"a": 1}', "\udc80"]  # a lone surrogate too
WORDS = st.sampled_from([*SHELL_WORDS.split(" "), *ODD_WORDS])
PHRASES = st.lists(WORDS, max_size=60).map(" ".join)
LOGS = st.tuples(
    st.sampled_from([0, 1, 5, 40, 200, 600]), st.sampled_from(["line", "ERROR pod", "x" * 90])
).map(lambda n_word: "\n".join(f"{n_word[1]} {i}" for i in range(n_word[0])))
OUTPUT_TEXT = st.one_of(PHRASES, LOGS, st.text(max_size=300))
OUTPUTS = st.lists(
    st.builds(OutputPart, st.sampled_from(["stdout", "stderr", "output"]), OUTPUT_TEXT),
    max_size=3,
).map(tuple)
CELL = st.one_of(
    st.builds(
        ContextCell,
        st.just("code"),
        PHRASES,
        st.sampled_from(["sh", "bash", ""]),
        outputs=OUTPUTS,
        exit_code=st.one_of(st.none(), st.integers(-1, 255)),
    ),
    st.builds(ContextCell, st.just("markup"), st.one_of(PHRASES, st.just("# Runbook"))),
)
CELLS = st.integers(0, 24).flatmap(lambda n: st.lists(CELL, min_size=n, max_size=n))
EXAMPLES = st.lists(st.builds(Example, st.just("e"), PHRASES, PHRASES), max_size=5)
BUDGETS = st.builds(
    lambda total, reply, examples, per_output: Budget(total + reply, examples, per_output, reply),
    st.integers(180, 1500),
    st.integers(1, 300),
    st.integers(0, 600),
    st.integers(16, 400),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=CELLS,
    data=st.data(),
    examples=EXAMPLES,
    budget=BUDGETS,
    style=st.sampled_from(["chat", "completion"]),
    model=st.sampled_from(TOKENIZERS),
)
def test_prompt_fits_its_budget_and_counts_what_it_sends(
    cells: list[ContextCell],
    data: st.DataObject,
    examples: list[Example],
    budget: Budget,
    style: Style,
    model: tuple[str, str],
) -> None:
    tokenizer = tokenizer_for(*model)
    cursor = data.draw(st.integers(0, len(cells)), label="cursor")
    try:
        prompt = build_prompt(
            cells, cursor, examples=examples, tokenizer=tokenizer, budget=budget, style=style
        )
    except ContextError as exc:  # only when not even the instructions fit
        assert "cannot hold the instructions" in str(exc)
        event("instructions do not fit")
        return
    event(f"cells dropped: {bool(prompt.cells_dropped)}")
    event(f"outputs cut: {bool(prompt.outputs_truncated)}")
    event(f"examples shown: {bool(prompt.examples_included)}")
    assert prompt.tokens <= budget.prompt
    assert prompt.tokens == counted(prompt, tokenizer)
    assert prompt.cells_included + prompt.cells_dropped == cursor
    marker = re.search(r"… \[(\d+) earlier cells? omitted\] …", prompt.notebook)
    if prompt.cells_dropped:
        assert marker is not None and int(marker.group(1)) == prompt.cells_dropped
    assert prompt.examples_included <= min(len(examples), budget.examples)
    assert prompt.request.options.max_tokens == budget.reply
    assert not re.search("[\ud800-\udfff]", sent(prompt))


def test_the_cells_nearest_the_cursor_win(cl100k: Tokenizer) -> None:
    cells = [markup("# Restart the queue workers")] + [
        code(f"echo step {i:02d}", OutputPart("stdout", f"done {i:02d}\n" * 5), exit_code=0)
        for i in range(1, 40)
    ]
    budget = Budget(total=900, reply=100, examples=0)
    prompt = build_prompt(cells, len(cells), tokenizer=cl100k, budget=budget)

    shown = [i for i in range(1, 40) if f"echo step {i:02d}" in prompt.notebook]
    assert shown == list(range(40 - len(shown), 40))  # a contiguous run ending at the cursor
    assert 3 <= len(shown) < 39
    assert prompt.notebook.startswith("# Restart the queue workers\n\n… [")  # the cheap title
    dropped = 39 - len(shown)
    assert f"… [{dropped} earlier cells omitted] …" in prompt.notebook
    assert (prompt.cells_included, prompt.cells_dropped) == (len(shown) + 1, dropped)
    assert prompt.tokens <= budget.prompt


def test_a_long_output_keeps_its_head_and_tail_around_a_marker(cl100k: Tokenizer) -> None:
    lines = [f"2025-06-01T12:00:{i % 60:02d} worker[{i}] processed job {i}" for i in range(1000)]
    cells = [code("journalctl -u worker", OutputPart("stdout", "\n".join(lines)), exit_code=0)]
    budget = Budget(total=4096, per_output=200)
    prompt = build_prompt(cells, 1, tokenizer=cl100k, budget=budget)

    block = re.search(r"```stdout\n(.*?)\n```", prompt.notebook, re.S)
    assert block is not None
    kept = block.group(1).split("\n")
    marker = next(line for line in kept if line.startswith("… ["))
    at = kept.index(marker)
    assert kept[:at] == lines[:at]  # the head…
    assert kept[at + 1 :] == lines[len(lines) - (len(kept) - at - 1) :]  # …and the tail
    assert at >= 3 and len(kept) - at - 1 >= 3
    assert marker == f"… [{len(lines) - len(kept) + 1} lines omitted] …"
    assert cl100k.count(block.group(1)) <= budget.per_output
    assert prompt.outputs_truncated == 1


def test_one_long_line_keeps_its_head_and_tail_characters(cl100k: Tokenizer) -> None:
    text = "BEGIN " + "abc123 " * 20_000 + "THE END"
    short, cut = shorten(text, 100, cl100k)
    assert cut
    assert short.startswith("BEGIN ") and short.endswith("THE END")
    marker = re.search(r"… \[(\d+) characters omitted\] …", short)
    assert marker is not None
    assert int(marker.group(1)) == len(text) - (len(short) - len(marker.group(0)))
    assert cl100k.count(short) <= 100


def test_text_that_fits_is_left_whole(cl100k: Tokenizer) -> None:
    assert shorten("short text\n", 16, cl100k) == ("short text\n", False)
    dense = "a\n" + " " * 3000 + "\nb"  # few tokens, many characters
    assert shorten(dense, 256, cl100k) == (dense, False)


def test_dense_text_is_cut_with_an_honest_count(cl100k: Tokenizer) -> None:
    text = " " * 3000 + "x"  # ~30 tokens of spaces: a sample suggests 100 chars per token
    short, cut = shorten(text, 256, cl100k)
    assert cut
    marker = re.search(r"… \[(\d+) characters? omitted\] …", short)
    assert marker is not None
    assert int(marker.group(1)) == len(text) - (len(short) - len(marker.group(0))) > 0
    assert cl100k.count(short) <= 256


@settings(max_examples=100, deadline=None)
@given(
    text=st.one_of(OUTPUT_TEXT, LOGS.map(lambda s: s.replace("\n", " "))),
    cap=st.integers(16, 300),
    model=st.sampled_from(TOKENIZERS),
)
def test_shorten_keeps_within_its_cap(text: str, cap: int, model: tuple[str, str]) -> None:
    tokenizer = tokenizer_for(*model)
    short, cut = shorten(text, cap, tokenizer)
    assert tokenizer.count(short) <= cap
    assert cut == (short != text)
    if tokenizer.count(text) <= cap and len(text) <= 8 * cap:
        assert not cut


@pytest.mark.parametrize("style", ["chat", "completion"])
def test_examples_never_take_more_than_their_budget(style: Style, cl100k: Tokenizer) -> None:
    cells = [markup("# Disk full"), code("df -h", OutputPart("stdout", "98% /\n"), exit_code=0)]
    examples = [
        Example(str(i), f"df -h showed {90 + i}% on /var\n" * (1 + i % 3), f"du -sh /var/{i}/*")
        for i in range(8)
    ]
    without = build_prompt(cells, 2, tokenizer=cl100k, style=style)
    included = []
    for limit in (0, 30, 60, 120, 250, 400, 10_000):
        budget = Budget(total=16_384, examples=limit)
        prompt = build_prompt(
            cells, 2, examples=examples, tokenizer=cl100k, budget=budget, style=style
        )
        assert prompt.notebook == without.notebook
        assert prompt.tokens - without.tokens <= limit
        included.append(prompt.examples_included)
    assert included == sorted(included)
    assert included[0] == 0 and 0 < included[3] < len(examples) == included[-1]


@settings(max_examples=60, deadline=None)
@given(
    examples=EXAMPLES,
    limit=st.integers(0, 400),
    style=st.sampled_from(["chat", "completion"]),
    model=st.sampled_from(TOKENIZERS),
)
def test_examples_stay_within_their_budget_whatever_they_hold(
    examples: list[Example], limit: int, style: Style, model: tuple[str, str]
) -> None:
    tokenizer = tokenizer_for(*model)
    cells = [markup("# Title"), code("uptime", OutputPart("stdout", "up 3 days\n"), exit_code=0)]
    budget = Budget(total=16_384, examples=limit)
    without = build_prompt(cells, 2, tokenizer=tokenizer, budget=budget, style=style)
    prompt = build_prompt(
        cells, 2, examples=examples, tokenizer=tokenizer, budget=budget, style=style
    )
    assert prompt.notebook == without.notebook
    assert prompt.tokens - without.tokens <= limit


def test_an_example_too_big_is_skipped_for_a_smaller_one(cl100k: Tokenizer) -> None:
    examples = [
        Example("big", "kubectl logs\n" * 400, "kubectl logs -p"),
        Example("small", "kubectl get pods", "kubectl describe pod api-0"),
    ]
    budget = Budget(total=4096, examples=200)
    prompt = build_prompt(
        [code("kubectl get pods")], 1, examples=examples, tokenizer=cl100k, budget=budget
    )
    assert prompt.examples_included == 1
    assert "kubectl describe pod api-0" in sent(prompt)
    assert "kubectl logs -p" not in sent(prompt)


def test_examples_do_not_push_out_all_the_cells(cl100k: Tokenizer) -> None:
    cells = [code(f"echo {i}", exit_code=0) for i in range(30)]
    examples = [Example(str(i), "query text " * 40, "echo next") for i in range(20)]
    budget = Budget(total=700, reply=100, examples=10_000)
    prompt = build_prompt(cells, 30, examples=examples, tokenizer=cl100k, budget=budget)
    assert prompt.cells_included >= 5  # examples get at most half of what the notebook could
    assert prompt.examples_included >= 1
    assert prompt.tokens <= budget.prompt


def test_outputs_go_before_the_cell_itself(cl100k: Tokenizer) -> None:
    noisy = OutputPart("stdout", "\n".join(f"row {i} " + "data " * 12 for i in range(400)))
    cells = [
        code("echo earlier", exit_code=0),
        code("psql -c 'select * from jobs'", noisy, exit_code=0),
    ]
    budget = Budget(total=400, reply=50, per_output=2048)
    prompt = build_prompt(cells, 2, tokenizer=cl100k, budget=budget)
    assert "psql -c 'select * from jobs'\n```\nexit code: 0 (output omitted)" in prompt.notebook
    assert "row 0" not in prompt.notebook
    assert prompt.outputs_truncated == 1


def test_the_cell_at_the_cursor_is_cut_rather_than_dropped(cl100k: Tokenizer) -> None:
    script = "\n".join(f"ssh web-{i} 'sudo systemctl restart nginx'" for i in range(3000))
    budget = Budget(total=800, reply=100)
    prompt = build_prompt([code(script)], 1, tokenizer=cl100k, budget=budget)
    assert prompt.cells_included == 1
    assert "ssh web-0 " in prompt.notebook and "ssh web-2999 " in prompt.notebook
    assert "lines omitted] …" in prompt.notebook
    assert prompt.tokens <= budget.prompt


def test_completion_prompts_open_a_fence_for_the_reply(cl100k: Tokenizer) -> None:
    cells = [markup("# Title"), code("ls", language="bash"), markup("Then:")]
    prompt = build_prompt(cells, 3, tokenizer=cl100k, style="completion")
    assert prompt.prefill == "```bash\n"
    assert [m.role for m in prompt.request.messages] == ["user", "assistant"]
    assert prompt.request.messages[-1].content == "```bash\n"
    assert prompt.request.options.stop == ("```",)
    chat = build_prompt(cells, 3, tokenizer=cl100k)
    assert (chat.prefill, chat.request.options.stop) == ("", ())
    assert [m.role for m in chat.request.messages] == ["system", "user"]


def test_a_completion_puts_the_examples_commands_after_the_runbook(cl100k: Tokenizer) -> None:
    cells = [markup("# Disk full"), code("df -h", language="sh"), markup("Find what is big.")]
    examples = [Example("e1", "what is big in /var", "du -xsh /var/* | sort -h")]
    prompt = build_prompt(cells, 3, examples=examples, tokenizer=cl100k, style="completion")
    user = prompt.request.messages[0].content
    assert user.startswith("# Disk full")  # the runbook first: the same start every step
    runbook_end = user.index("Find what is big.")
    command = user.index("du -xsh /var/* | sort -h")
    assert runbook_end < command  # the learned command right before the reply
    assert "what is big in /var" not in user  # the example's own context is left out
    bare = build_prompt(cells, 3, tokenizer=cl100k, style="completion")
    assert user.startswith(bare.request.messages[0].content)


def test_a_completion_window_moves_in_steps_so_its_start_stays_put(cl100k: Tokenizer) -> None:
    """Consecutive suggestions in a long runbook begin with the same text (a local model
    then re-reads only the end), except every few cells."""
    cells = [markup("# Restart the queue workers")] + [
        code(f"echo step {i:02d}", OutputPart("stdout", f"done {i:02d}\n" * 5), exit_code=0)
        for i in range(1, 60)
    ]
    budget = Budget(total=900, reply=100, examples=0)
    starts, prompts = [], []
    for cursor in range(30, 60):
        prompt = build_prompt(cells, cursor, tokenizer=cl100k, budget=budget, style="completion")
        first = re.search(r"echo step (\d\d)", prompt.notebook)
        assert first is not None and prompt.cells_dropped > 0
        starts.append(int(first.group(1)))
        prompts.append(prompt.request.messages[0].content)
        assert prompt.tokens <= budget.prompt
    assert all(start % 4 == 0 for start in starts)
    changes = sum(a != b for a, b in itertools.pairwise(starts))
    assert changes <= len(starts) // 4 + 1
    # Between two changes, each prompt extends the one before.
    for a, b, before, after in zip(starts, starts[1:], prompts, prompts[1:], strict=False):
        if a == b:
            assert after.startswith(before.rsplit("\n\n", 1)[0])


def test_an_empty_notebook_still_asks_for_a_first_cell(cl100k: Tokenizer) -> None:
    for cells, cursor in (([], 0), ([code("echo later")], 0)):
        prompt = build_prompt(cells, cursor, tokenizer=cl100k)
        assert EMPTY in prompt.request.messages[1].content
        assert (prompt.notebook, prompt.cells_included, prompt.cells_dropped) == ("", 0, 0)
        completion = build_prompt(cells, cursor, tokenizer=cl100k, style="completion")
        assert completion.prefill == "```sh\n"
        assert completion.tokens == counted(completion, cl100k)


def test_a_budget_that_holds_the_instructions_is_never_short_of_room(
    cl100k: Tokenizer,
) -> None:
    """Between "the instructions fit" and "a cell fits" lies a range of budgets where only
    the omission line fits: those must give a prompt, not an error."""
    cells = [code(f"echo {i}", OutputPart("stdout", f"{i}\n" * 20), exit_code=0) for i in range(5)]
    styles: tuple[Style, ...] = ("chat", "completion")
    for style in styles:
        outcomes: list[bool] = []
        for total in range(2, 700, 3):
            budget = Budget(total=total, reply=1, examples=0)
            try:
                prompt = build_prompt(cells, 5, tokenizer=cl100k, budget=budget, style=style)
            except ContextError as exc:
                assert "cannot hold the instructions" in str(exc)
                outcomes.append(False)
                continue
            assert prompt.tokens <= budget.prompt
            outcomes.append(True)
        first = outcomes.index(True)
        assert all(outcomes[first:])  # more budget never breaks a prompt
        lean_budget = Budget(total=2 + 3 * first, reply=1, examples=0)
        lean = build_prompt(cells, 5, tokenizer=cl100k, budget=lean_budget, style=style)
        assert lean.cells_included == 0 and "… [5 earlier cells omitted] …" in lean.notebook


def test_too_small_a_budget_is_a_context_error(cl100k: Tokenizer) -> None:
    with pytest.raises(ContextError, match=r"cannot hold the instructions \(\d+ tokens\)"):
        build_prompt([code("ls")], 1, tokenizer=cl100k, budget=Budget(total=60, reply=10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reply": 0}, "reply must be ≥ 1"),
        ({"examples": -1}, "examples ≥ 0"),
        ({"per_output": 15}, "per_output ≥ 16"),
        ({"total": 256, "reply": 256}, r"total \(256\) must exceed reply \(256\)"),
    ],
)
def test_impossible_budgets_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        Budget(**kwargs)


@pytest.mark.parametrize("cursor", [-1, 3, 100])
def test_a_cursor_outside_the_notebook_is_a_context_error(cursor: int) -> None:
    cells = [code("a"), code("b")]
    with pytest.raises(ContextError, match=rf"cursor {cursor} is outside the notebook \(0..2\)"):
        build_prompt(cells, cursor, tokenizer=EstimateTokenizer())


def test_an_unknown_style_is_a_context_error() -> None:
    with pytest.raises(ContextError, match="unknown prompt style 'fim'"):
        build_prompt([], 0, tokenizer=EstimateTokenizer(), style="fim")  # type: ignore[arg-type]


# -- bad input ---------------------------------------------------------------------------------


def test_a_100_mb_output_is_shortened_without_tokenizing_it(cl100k: Tokenizer) -> None:
    line = "2025-06-01T12:00:00Z worker processed a job in 12 ms\n"
    n = 100_000_000 // len(line)
    stdout = "FIRST LINE\n" + line * n + "LAST LINE\n"
    cells = attach_executions(
        [code("tail -f /var/log/worker.log", id="w")],
        [{"type": "cell.executed", "known_id": "w", "stdout": stdout, "exit_code": 130}],
    )
    del stdout
    spy = Spy(cl100k)
    prompt = build_prompt(cells, 1, tokenizer=spy)
    assert spy.longest < 20_000  # ~ per_output × 8 characters, never the whole output
    assert "FIRST LINE" in prompt.notebook and "LAST LINE" in prompt.notebook
    omitted = re.search(r"… \[(\d+) lines omitted\] …", prompt.notebook)
    assert omitted is not None
    shown = prompt.notebook.count("worker processed a job")
    assert int(omitted.group(1)) == n - shown
    assert prompt.notebook.endswith("exit code: 130")
    assert prompt.tokens <= Budget().prompt


@pytest.mark.parametrize(
    "shape",
    [
        "one line",
        "a long line between short ones",
        "only newlines",
        "dense spaces",
        "long lines",
    ],
)
def test_huge_outputs_of_any_shape_are_never_tokenized_whole(shape: str, gemma: Tokenizer) -> None:
    size = 5_000_000
    text = {
        "one line": "x" * size,
        "a long line between short ones": "head\n" + "y" * size + "\ntail",
        "only newlines": "\n" * size,
        "dense spaces": "start" + " " * size + "end",
        "long lines": ("z" * 10_000 + "\n") * (size // 10_000),
    }[shape]
    doc = {"cells": [vscode_code("produce", {"items": [{"mime": STDOUT, "data": text}]})]}
    spy = Spy(gemma)
    budget = Budget()
    prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=spy, budget=budget)
    assert spy.longest < 20_000
    assert prompt.tokens <= budget.prompt
    assert prompt.tokens == counted(prompt, gemma)


def test_huge_sources_and_prose_are_never_tokenized_whole(gemma: Tokenizer) -> None:
    cells = [
        markup("# Title\n" + "prose " * 1_000_000),
        code("cat <<'EOF'\n" + "data " * 1_000_000 + "\nEOF"),
        markup("Note: " + "more prose " * 500_000),
        code("echo done", exit_code=0),
    ]
    examples = [Example("huge", "query " * 1_000_000, "ls")]
    spy = Spy(gemma)
    prompt = build_prompt(cells, 3, examples=examples, tokenizer=spy)
    assert spy.longest < 20_000
    assert prompt.notebook.startswith("# Title")  # its heading stands for the first cell
    assert "characters omitted] …" in prompt.notebook  # the prose at the cursor, cut
    prompt = build_prompt(cells, 4, tokenizer=spy)
    assert "echo done" in prompt.notebook
    assert spy.longest < 20_000


BINARY = b"ok\xff\xfe\x00 \x1b[31mred\x1b[0m\x80end\n"


@pytest.mark.parametrize(
    "item",
    [
        {"mime": STDOUT, "dataBase64": base64.b64encode(BINARY).decode()},
        {"mime": STDOUT, "data": buffer(BINARY)},
        {"mime": STDOUT, "data": list(BINARY)},
    ],
    ids=["base64", "node-buffer", "byte-list"],
)
def test_binary_output_becomes_readable_text(item: dict[str, Any], gemma: Tokenizer) -> None:
    doc = {"cells": [vscode_code("cat blob", {"items": [item]})]}
    prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=gemma)
    assert "```output\nok\ufffd\ufffd red\ufffdend\n```" in prompt.notebook
    assert "\x00" not in sent(prompt) and "\x1b" not in sent(prompt)


def test_unpaired_surrogates_from_json_become_replacement_characters(gemma: Tokenizer) -> None:
    doc = json.loads(
        '{"cells": [{"kind": 2, "languageId": "sh", "value": "echo \\ud800",'
        ' "outputs": [{"items": [{"mime": "text/plain", "data": "half \\udfff pair"}]}]}]}'
    )
    styles: tuple[Style, ...] = ("chat", "completion")
    for style in styles:
        prompt = build_prompt(cells_from_vscode(doc), 1, tokenizer=gemma, style=style)
        assert "echo \ufffd" in prompt.notebook and "half \ufffd pair" in prompt.notebook
        for message in prompt.request.messages:
            message.content.encode("utf-8")  # what a model's API and llama.cpp need


def _cell(**fields: Any) -> dict[str, Any]:
    return {"kind": 2, "languageId": "sh", "value": "ls", **fields}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "a notebook is an object with a `cells` list"),
        ({}, "a notebook is an object with a `cells` list"),
        ({"cells": {"0": {}}}, "a notebook is an object with a `cells` list"),
        ({"cells": ["ls"]}, "cell 0: a cell must be an object"),
        ({"cells": [{"kind": 3, "value": "x"}]}, "cell 0: unknown kind 3"),
        ({"cells": [{"value": "x"}]}, "cell 0: unknown kind None"),
        ({"cells": [{"kind": [2], "value": "x"}]}, r"cell 0: unknown kind \[2\]"),
        ({"cells": [{"kind": True, "value": "x"}]}, "cell 0: unknown kind True"),
        ({"cells": [_cell(), _cell(value=42)]}, "cell 1: `value` must be text"),
        ({"cells": [_cell(metadata=["id"])]}, "cell 0: `metadata` must be an object"),
        ({"cells": [_cell(outputs={"items": []})]}, "cell 0: `outputs` must be a list"),
        ({"cells": [_cell(outputs=["x"])]}, "cell 0: an output must be an object"),
        (
            {"cells": [_cell(outputs=[{"items": "x"}])]},
            "cell 0: an output's `items` must be a list",
        ),
        (
            {"cells": [_cell(outputs=[{"items": [7]}])]},
            "cell 0: an output item must be an object",
        ),
        (
            {"cells": [_cell(outputs=[{"items": [{"mime": STDOUT, "dataBase64": "abc"}]}])]},
            "cell 0: an output item's base64 is bad",
        ),
        (
            {"cells": [_cell(outputs=[{"items": [{"mime": STDOUT, "dataBase64": None}]}])]},
            "cell 0: an output item's `dataBase64` must be text",
        ),
        (
            {"cells": [_cell(outputs=[{"items": [{"mime": STDOUT, "data": [104, 300]}]}])]},
            r"cell 0: an output item's byte values must be 0\.\.255",
        ),
    ],
)
def test_malformed_vscode_notebooks_are_refused_clearly(doc: Any, message: str) -> None:
    with pytest.raises(NotebookFormatError, match=message) as caught:
        cells_from_vscode(doc)
    assert isinstance(caught.value, ValueError)  # what the server turns into a 422


def test_unreadable_items_of_other_mime_types_are_not_even_decoded() -> None:
    doc = {"cells": [_cell(outputs=[{"items": [{"mime": "image/png", "dataBase64": "!!"}]}])]}
    (cell,) = cells_from_vscode(doc)
    assert cell.outputs == ()
