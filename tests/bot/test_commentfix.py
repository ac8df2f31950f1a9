"""The comment fixer: Gaby's rule semantics (Markdown-aware, in order, nothing when no
rule fires), and every byte outside a rewritten span kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.bot import ConfigError, autolink, fix_text, load_rules, replace_text, replace_url

CL = autolink(r"\bCL (\d+)\b", "https://go.dev/cl/$1")


def test_autolink_links_plain_text_only() -> None:
    text = "See CL 123, not `CL 456`, and [CL 789](https://x/789).\n\n    CL 1 in code\n"
    result = fix_text(text, [CL])
    assert result is not None
    assert result.text == (
        "See [CL 123](https://go.dev/cl/123), not `CL 456`, and [CL 789](https://x/789).\n\n"
        "    CL 1 in code\n"
    )


def test_replace_text_never_touches_code_urls_or_html() -> None:
    rule = replace_text(r"cancelled", "canceled")
    text = (
        "It was cancelled.\n\n```\ncancelled in a fence\n```\n\n"
        "`cancelled` https://x.org/cancelled <b title=cancelled>x</b>\n"
    )
    result = fix_text(text, [rule])
    assert result is not None
    assert result.text == text.replace("It was cancelled.", "It was canceled.", 1)


def test_replace_url_rewrites_targets_autolinks_bare_urls_and_matching_link_text() -> None:
    rule = replace_url(r"^https://golang\.org/(.*)$", "https://go.dev/$1")
    text = (
        "[docs](https://golang.org/doc) <https://golang.org/x>"
        " [https://golang.org/y](https://golang.org/y) https://golang.org/z and golang.org/w\n"
    )
    result = fix_text(text, [rule])
    assert result is not None and result.text == (
        "[docs](https://go.dev/doc) <https://go.dev/x>"
        " [https://go.dev/y](https://go.dev/y) https://go.dev/z and golang.org/w\n"
    )


def test_rules_apply_in_order_and_report_what_fired() -> None:
    rules = [
        replace_text(r"issue (\d+)", "#$1"),
        autolink(r"#(\d+)", "https://github.com/o/r/issues/$1"),
    ]
    result = fix_text("see issue 12", rules)
    assert result is not None
    assert result.text == "see [#12](https://github.com/o/r/issues/12)" and result.fired == (1, 2)
    assert fix_text("nothing to do here", rules) is None


def test_rules_load_from_toml_tables_with_clear_errors() -> None:
    rules = load_rules(
        [
            {"autolink": r"CL (\d+)", "url": "https://go.dev/cl/$1"},
            {"replace_text": "colour", "with": "color"},
        ]
    )
    assert [r.kind for r in rules] == ["autolink", "replace_text"]
    with pytest.raises(ConfigError, match="entry 1"):
        load_rules([{"replace_text": "x"}])
    with pytest.raises(ConfigError, match=r"entry 2: .*not a regular expression"):
        load_rules([{"replace_text": "ok", "with": "x"}, {"replace_url": "(", "with": "y"}])


def test_a_megabyte_comment_is_fixed() -> None:
    text = "Line with CL 42 in it and `CL 7` code.\n" * 28_000
    assert len(text) > 1_000_000
    result = fix_text(text, [CL])
    assert result is not None and result.text.count("https://go.dev/cl/42") == 28_000
    assert result.text.count("`CL 7`") == 28_000


_MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            "word ",
            "CL 5 ",
            "`code CL 9` ",
            "**bold** ",
            "\n",
            "\n\n",
            "> quote ",
            "- item ",
            "[link](https://x/CL) ",
            "<https://y/z> ",
            "    indented CL 3\n",
            "```\nfenced CL 4\n```\n",
            "\t",
            "é ",
            "https://golang.org/p ",
            "[a [b] CL 8](https://x/(y)) ",
            "![CL 7](https://i/CL.png) ",
            "\r\n",
            "| t | CL 6 |\n|---|---|\n| CL 2 | x |\n",
            "\\*CL 1\\* ",
            "&amp; ",
            "<!-- CL 0 --> ",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(_MARKDOWNISH)
def test_every_byte_outside_the_rewritten_spans_is_kept(text: str) -> None:
    never = replace_text(r"ZZZ-never", "x")
    assert fix_text(text, [never]) is None
    result = fix_text(text, [CL])
    if result is None:
        return
    # undo the links the rule made: what is left is the original, byte for byte
    undone = result.text
    for n in ("5", "9", "3", "4", "8", "7", "6", "2", "1", "0"):
        undone = undone.replace(f"[CL {n}](https://go.dev/cl/{n})", f"CL {n}")
    assert undone == text


def test_the_job_edits_mirrored_comments_once_and_leaves_its_own_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cairn.bot import ActionLog, commentfix_job
    from cairn.bot.github import FakeGitHub, GitHub, GitHubClient
    from cairn.store import SQLiteKV

    with FakeGitHub() as fake:
        fake.add_issue("o/r", 1, title="t", body="b")
        target = fake.add_comment("o/r", 1, body="Fixed by CL 99, `CL 1` untouched.")
        fake.add_comment("o/r", 1, body="nothing to fix")
        kv = SQLiteKV(tmp_path / "bot.db")
        gh = GitHub(GitHubClient(fake.url))
        gh.sync(kv, "o/r")
        assert commentfix_job(kv, [CL]) == 1
        (action,) = ActionLog(kv)
        assert "+Fixed by [CL 99](https://go.dev/cl/99)" in action.diff
        ActionLog(kv).run(gh)
        body = fake.projects["o/r"].comments[target["id"]]["body"]
        assert body.startswith("Fixed by [CL 99](https://go.dev/cl/99), `CL 1` untouched.")
        gh.sync(kv, "o/r")  # the edited comment comes back with the bot's marker
        assert commentfix_job(kv, [CL]) == 0 and len(list(ActionLog(kv))) == 1
        kv.close()


def test_cairn_bot_fix_prints_what_the_rules_make_of_a_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    rules = tmp_path / "rules.toml"
    rules.write_text("[[commentfix]]\nautolink = 'CL (\\d+)'\nurl = \"https://go.dev/cl/$1\"\n")
    text = tmp_path / "c.md"
    text.write_text("See CL 7.\n")
    cmd = [
        sys.executable,
        "-m",
        "cairn",
        "bot",
        "fix",
        "--text",
        str(text),
        "--rules",
        str(rules),
        "--config-dir",
        str(tmp_path / "cfg"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "See [CL 7](https://go.dev/cl/7).\n"
    text.write_text("nothing\n")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.stdout == "nothing\n" and "no rule fired" in out.stderr
    rules.write_text('[[commentfix]]\nreplace_text = "("\nwith = "x"\n')
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a regular expression" in out.stderr


def test_links_are_found_by_the_parse_tree_not_by_pattern() -> None:
    # nested brackets in link text, parentheses in a target, a link over two lines,
    # a title, an image (its alt text is not prose), a reference definition
    text = (
        "[see [the] golang.org/x docs](https://golang.org/a_(b) 'T')\n"
        "[two\nlines](https://golang.org/c) ![golang](https://golang.org/i.png)\n\n"
        "[ref]: https://golang.org/d\n"
    )
    rule = replace_url(r"^https://golang\.org/(.*)$", "https://go.dev/$1")
    result = fix_text(text, [rule])
    assert result is not None
    assert result.text == text.replace("https://golang.org/", "https://go.dev/")
    words = replace_text(r"\bgolang\b", "Go")
    worded = fix_text(text, [words])
    assert worded is not None  # link text is text; alt text, targets and URLs are not
    assert worded.text == text.replace("[see [the] golang.org", "[see [the] Go.org", 1)


def test_the_source_is_kept_byte_for_byte_across_crlf_tabs_and_non_ascii() -> None:
    text = "Résumé:\r\n\tnot code CL 1 — ünïcode\r\n\r\n- item\r\n  cont https://x/CL\r\n"
    result = fix_text(text, [CL])
    assert result is not None
    assert result.text == text.replace("CL 1", "[CL 1](https://go.dev/cl/1)")


def test_a_rule_never_fires_inside_tables_code_or_html_it_cannot_place() -> None:
    text = "| a | b |\n|---|---|\n| CL 1 | `CL 2` |\n\n<div>\nCL 3\n</div>\n"
    result = fix_text(text, [CL])
    assert result is not None
    assert result.text == text.replace("| CL 1 |", "| [CL 1](https://go.dev/cl/1) |")
