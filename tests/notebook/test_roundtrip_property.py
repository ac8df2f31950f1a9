"""Property: serialize(parse(text)) == text for any text, and edits stay local."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.notebook import apply_identity, is_ulid, parse, serialize, split_lines

NEWLINES = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])
WORDS = st.sampled_from(
    [
        "echo",
        "hello",
        "ls -la",
        "x=1",
        "# title",
        "- item",
        "1. step",
        "> quote",
        "`code`",
        "```",
        "~~~",
        "````",
        "{",
        "}",
        '{"name":"a"}',
        "{ name=b }",
        "<div>",
        "</div>",
        "---",
        "+++",
        "   ",
        "\t",
        "é",
        "🚀",
        "漢字",
        "$ kubectl get pods",
        "*",
        "|a|b|",
    ]
)
LINE = st.lists(WORDS, max_size=5).map(" ".join)
FENCE = st.sampled_from(["```", "~~~", "````", "~~~~", "`````"])
INFO = st.sampled_from(
    [
        "",
        "sh",
        "bash",
        "python",
        'sh {"name":"x","interactive":"false"}',
        "sh { name=y interactive=false }",
        "js title",
        "{name=z}",
        "sh {broken",
        'sh {"id":1}',
        "mermaid",
        "sh {name=echo first= second=2}",
        'sh { "name": "x", "ok": true }',
        'sh {"name":"a"} tail',
        'sh {"transform":"false"}',
    ]
)
INDENT = st.sampled_from(["", " ", "  ", "   ", "    ", "\t", "> ", ">> ", "- ", "1. ", "  - "])


@st.composite
def blocks(draw: st.DrawFn) -> list[str]:
    """One Markdown block as a list of lines (without line endings)."""
    kind = draw(st.sampled_from(["para", "fence", "fence", "heading", "blank", "html", "list"]))
    if kind == "fence":
        fence = draw(FENCE)
        indent = draw(INDENT)
        body = draw(st.lists(LINE, max_size=4))
        closing = draw(st.sampled_from([fence, fence, fence + fence[0], "", fence[:3]]))
        lines = [f"{indent}{fence}{draw(INFO)}", *(indent + b for b in body)]
        if closing:
            lines.append(indent + closing)
        return lines
    if kind == "heading":
        return [draw(st.sampled_from(["#", "##", "###"])) + " " + draw(LINE)]
    if kind == "blank":
        return [draw(st.sampled_from(["", " ", "\t"]))]
    if kind == "html":
        return ["<details>", draw(LINE), "```", draw(LINE), "</details>"]
    if kind == "list":
        return [draw(INDENT) + draw(LINE) for _ in range(draw(st.integers(1, 3)))]
    return draw(st.lists(LINE, min_size=1, max_size=3))


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    front = draw(st.sampled_from(["", "yaml", "toml", "json", "bad"]))
    if front == "yaml":
        lines += ["---", "shell: bash", "runme:", "  id: 01HF7B0KJH9FJZR3CM4C3VE08B", "---"]
    elif front == "toml":
        lines += ["+++", 'shell = "zsh"', "+++"]
    elif front == "json":
        lines += ['{"shell": "bash"}']
    elif front == "bad":
        lines += ["---", "key: [unclosed", "---"]
    for block in draw(st.lists(blocks(), max_size=8)):
        lines += block
    out = []
    for line in lines:
        out.append(line + draw(NEWLINES))
    text = "".join(out)
    ending = draw(st.sampled_from(["keep", "strip", "many"]))
    if ending == "strip":
        text = text.rstrip("\r\n")
    elif ending == "many":
        text += "\n" * draw(st.integers(1, 7))
    return text


@pytest.mark.slow
@settings(max_examples=10_000)
@given(documents())
def test_generated_markdown_round_trips_byte_for_byte(text: str) -> None:
    assert serialize(parse(text)) == text


@settings(max_examples=2_000)
@given(st.text(alphabet=st.sampled_from(list('`~ \t\n\r>-*#{}"=abc1.é\ufeff')), max_size=200))
def test_arbitrary_text_round_trips_byte_for_byte(text: str) -> None:
    assert serialize(parse(text)) == text


@settings(max_examples=1_000)
@given(documents(), LINE)
def test_editing_a_code_cell_changes_only_that_cells_bytes(text: str, new_line: str) -> None:
    nb = parse(text)
    code = [c for c in nb.code_cells() if c._closed]
    if not code:
        return
    cell = code[0]
    before_text = serialize(nb)
    index = nb.cells.index(cell)
    prefix = (nb.frontmatter.raw if nb.frontmatter else "") + nb.leading
    for c in nb.cells[:index]:
        prefix += (c._raw or "") + c.trailer
    suffix = cell.trailer + "".join((c._raw or "") + c.trailer for c in nb.cells[index + 1 :])
    cell.source = "echo edited " + new_line.replace("\r", "") + "\n"
    after = serialize(nb)
    assert before_text == text
    assert after.startswith(prefix)
    assert after.endswith(suffix)
    assert "echo edited" in after[len(prefix) : len(after) - len(suffix)]
    # The edited document parses back to the same edit.
    reparsed = [c for c in parse(after).code_cells() if "echo edited" in c.source]
    assert reparsed and reparsed[0].language == cell.language


@pytest.mark.slow
@settings(max_examples=1_000)
@given(documents())
def test_cell_identity_changes_only_the_opening_lines_that_get_an_id(text: str) -> None:
    nb = parse(text)
    targets = [c for c in nb.code_cells() if c.fenced and c.runnable and not c.attributes.get("id")]
    openings = {c.line for c in targets}
    out = serialize(apply_identity(nb, "cell"))
    bom = "\ufeff" if nb.bom else ""
    before, after = split_lines(text[len(bom) :]), split_lines(out[len(bom) :])
    assert len(before) == len(after)
    changed = {i for i, (a, b) in enumerate(zip(before, after, strict=True), 1) if a != b}
    assert changed == openings
    again = parse(out)
    assert [
        is_ulid(c.attributes.get("id", "")) for c in again.code_cells() if c.line in openings
    ] == [True] * len(openings)
