"""Identity modes: which ids `apply_identity` writes, and what it never touches."""

from __future__ import annotations

import pytest

from cairn.notebook import NotebookError, apply_identity, is_ulid, parse, serialize

ULID = "01HF7BT3HD84GWTQB8VY8ZJGJW"

BODY = '# Runbook\n\n```sh {"name":"a"}\necho a\n```\n\ntext\n\n```sh { name=b }\necho b\n```\n'


def test_mode_none_changes_nothing() -> None:
    nb = apply_identity(parse(BODY), "none")
    assert serialize(nb) == BODY


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(NotebookError, match="unknown identity mode 'cells'"):
        apply_identity(parse(BODY), "cells")


def test_cell_mode_gives_every_code_cell_a_distinct_ulid() -> None:
    nb = apply_identity(parse(BODY), "cell")
    ids = [c.attributes["id"] for c in nb.code_cells()]
    assert all(is_ulid(i) for i in ids)
    assert len(set(ids)) == 2
    assert nb.frontmatter is None


def test_cell_mode_changes_only_opening_lines_and_keeps_attribute_form() -> None:
    nb = apply_identity(parse(BODY), "cell")
    a, b = (c.attributes["id"] for c in nb.code_cells())
    expected = BODY.replace('{"name":"a"}', f'{{"name":"a","id":"{a}"}}').replace(
        "{ name=b }", f"{{ name=b id={b} }}"
    )
    assert serialize(nb) == expected
    assert [c.attributes["id"] for c in parse(expected).code_cells()] == [a, b]


def test_cell_mode_never_replaces_an_existing_id() -> None:
    text = f'```sh {{"id":"{ULID}"}}\necho\n```\n'
    nb = apply_identity(parse(text), "cell")
    assert nb.code_cells()[0].attributes["id"] == ULID
    assert serialize(nb) == text


def test_cell_mode_writes_the_ephemeral_id_already_handed_out() -> None:
    nb = parse(BODY)
    before = [c.id for c in nb.code_cells()]
    apply_identity(nb, "cell")
    assert [c.attributes["id"] for c in nb.code_cells()] == before


def test_cell_mode_is_idempotent() -> None:
    once = serialize(apply_identity(parse(BODY), "cell"))
    assert serialize(apply_identity(parse(once), "cell")) == once


def test_document_mode_without_frontmatter_creates_yaml_frontmatter() -> None:
    nb = apply_identity(parse(BODY), "document")
    out = serialize(nb)
    fm = parse(out).frontmatter
    assert fm is not None
    assert fm.format == "yaml"
    assert fm.document_id is not None
    assert is_ulid(fm.document_id)
    assert fm.runme["version"] == "v3"
    assert out.startswith("---\n")
    assert out.endswith("---\n\n" + BODY)
    assert all("id" not in c.attributes for c in nb.code_cells())


def test_document_mode_on_crlf_file_writes_crlf_frontmatter() -> None:
    text = BODY.replace("\n", "\r\n")
    out = serialize(apply_identity(parse(text), "document"))
    assert out.endswith(text)
    assert "\n" not in out.replace("\r\n", "")


def test_document_mode_keeps_bom_first() -> None:
    out = serialize(apply_identity(parse("\ufeff# T\n"), "document"))
    assert out.startswith("\ufeff---\n")
    assert out.endswith("---\n\n# T\n")


def test_document_mode_keeps_yaml_comments_and_layout() -> None:
    text = "---\n# keep this comment\ntitle: x  # and this one\nshell: bash\n---\n\n" + BODY
    out = serialize(apply_identity(parse(text), "document"))
    assert out.startswith("---\n# keep this comment\ntitle: x  # and this one\nshell: bash\n")
    assert out.endswith("---\n\n" + BODY)
    fm = parse(out).frontmatter
    assert fm is not None
    assert fm.data is not None
    assert fm.data["title"] == "x"
    assert is_ulid(fm.document_id or "")


def test_document_mode_adds_id_inside_existing_yaml_runme_block() -> None:
    text = "---\nrunme:\n  version: v2\nshell: bash\n---\n\n# T\n"
    fm = parse(serialize(apply_identity(parse(text), "document"))).frontmatter
    assert fm is not None
    assert fm.error is None
    assert fm.runme["version"] == "v2"
    assert is_ulid(fm.runme["id"])
    assert fm.shell == "bash"


@pytest.mark.parametrize(
    "text",
    [
        f"---\nrunme:\n  id: {ULID}\n---\n\n# T\n",
        f'+++\n[runme]\nid = "{ULID}"\n+++\n\n# T\n',
        f'{{"runme": {{"id": "{ULID}"}}}}\n\n# T\n',
    ],
    ids=["yaml", "toml", "json"],
)
def test_document_mode_never_replaces_an_existing_document_id(text: str) -> None:
    nb = apply_identity(parse(text), "document")
    assert nb.frontmatter is not None
    assert nb.frontmatter.document_id == ULID
    assert serialize(nb) == text


def test_document_mode_on_toml_without_runme_table_appends_one() -> None:
    text = '+++\ntitle = "x"\n+++\n\n# T\n'
    out = serialize(apply_identity(parse(text), "document"))
    assert out.startswith('+++\ntitle = "x"\n[runme]\nid = "')
    fm = parse(out).frontmatter
    assert fm is not None
    assert fm.data is not None
    assert fm.data["title"] == "x"
    assert is_ulid(fm.document_id or "")
    assert fm.runme["version"] == "v3"


def test_document_mode_on_toml_inserts_into_existing_runme_table() -> None:
    text = '+++\ntitle = "x"\n\n[runme]\nowner = "ops"\n\n[other]\nk = 1\n+++\n\n# T\n'
    out = serialize(apply_identity(parse(text), "document"))
    fm = parse(out).frontmatter
    assert fm is not None
    assert fm.error is None
    assert fm.data is not None
    assert fm.runme["owner"] == "ops"
    assert is_ulid(fm.runme["id"])
    assert fm.data["other"] == {"k": 1}
    assert out.count("[runme]") == 1


def test_document_mode_on_toml_keeps_existing_runme_version() -> None:
    text = '+++\n[runme]\nversion = "v2"\n+++\n\n# T\n'
    nb = apply_identity(parse(text), "document")
    fm = parse(serialize(nb)).frontmatter
    assert fm is not None
    assert fm.error is None
    assert fm.runme.get("version") == "v2"
    assert is_ulid(fm.runme.get("id", ""))


def test_document_mode_on_json_frontmatter_adds_runme_id() -> None:
    text = '{"title": "x"}\n\n# T\n'
    out = serialize(apply_identity(parse(text), "document"))
    fm = parse(out).frontmatter
    assert fm is not None
    assert fm.format == "json"
    assert fm.data is not None
    assert fm.data["title"] == "x"
    assert is_ulid(fm.document_id or "")
    assert out.endswith("}\n\n# T\n")


def test_document_mode_refuses_invalid_frontmatter_and_leaves_it_alone() -> None:
    text = "---\ntitle: [\n---\n\n# T\n"
    nb = parse(text)
    with pytest.raises(NotebookError, match="fix the frontmatter"):
        apply_identity(nb, "document")
    assert serialize(nb) == text


def test_all_mode_writes_cell_and_document_ids() -> None:
    out = serialize(apply_identity(parse(BODY), "all"))
    again = parse(out)
    assert again.frontmatter is not None
    assert is_ulid(again.frontmatter.document_id or "")
    assert all(is_ulid(c.attributes.get("id", "")) for c in again.code_cells())


def test_is_ulid_rejects_lowercase_and_wrong_length() -> None:
    assert is_ulid(ULID)
    assert not is_ulid(ULID.lower())
    assert not is_ulid(ULID[:-1])
    assert not is_ulid("8" + ULID[1:])  # first character above 7 overflows 128 bits
