"""`cairn bot fix` end to end (the real CLI in a subprocess): stdin, --diff, the rules of
cairn.toml's `[bot]` table, malformed entries; and cases ported from Gaby's
internal/commentfix testdata, run in-process on the pure core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cairn.bot import ConfigError, autolink, fix_text, load_rules, replace_text, replace_url

_GABY = [
    # (rules, text, expected or None when nothing fires)
    (
        [autolink(r"\bCL (\d+)\b", "https://go.dev/cl/$1")],
        "Look at CL 12345 and cl 9.\n",
        "Look at [CL 12345](https://go.dev/cl/12345) and cl 9.\n",
    ),
    (
        [autolink(r"\bCL (\d+)\b", "https://go.dev/cl/$1")],
        "Already [CL 12345](https://go.dev/cl/12345), `CL 1`, and\n\n    CL 2\n",
        None,
    ),
    (
        [autolink(r"\bCL (\d+)\b", "https://go.dev/cl/$1")],
        "see [CL 5][r] and [CL 6][]\n\n[r]: https://x/\n[cl 6]: https://y/\n",
        None,
    ),
    # internal/commentfix/testdata/replacetext.txt (Gaby re-renders the list as
    # "\n  - canceled"; Cairn keeps the comment's own bytes)
    *(
        ([replace_text("cancelled", "canceled")], text, text.replace("cancelled", "canceled"))
        for text in (
            "The context is cancelled.\n",
            "The context **is cancelled.**\n",
            "The context *is cancelled.*\n",
            "The context ~~is cancelled.~~\n",
            "# Contexts that are cancelled\n",
            "Here is a list of misspelled words:\n - cancelled\n",
            "> The context is cancelled.\n",
        )
    ),
    ([replace_text("cancelled", "canceled")], '\tfmt.Printf("cancelled\\n")\n', None),
    (
        [replace_text(r"cancelled", "canceled")],
        "It was cancelled.\n\n```\ncancelled()\n```\n<!-- cancelled -->\n",
        "It was canceled.\n\n```\ncancelled()\n```\n<!-- cancelled -->\n",
    ),
    (
        [replace_url(r"^https://golang\.org/(.*)$", "https://go.dev/$1")],
        "See [https://golang.org/doc](https://golang.org/doc) and [docs](https://golang.org/x)"
        " and <https://golang.org/y>.\n",
        "See [https://go.dev/doc](https://go.dev/doc) and [docs](https://go.dev/x)"
        " and <https://go.dev/y>.\n",
    ),
    (
        [replace_text(r"\bgolang\b", "Go")],
        "golang is https://golang.org/ and <https://golang.org/x>.\n",
        "Go is https://golang.org/ and <https://golang.org/x>.\n",
    ),
    (
        [replace_text(r"(\w+)@(\w+)", "${2} at $1")],
        "mail rsc@golang now\n",
        "mail golang at rsc now\n",
    ),
]


@pytest.mark.parametrize(("rules", "text", "want"), _GABY)
def test_gaby_cases(rules: list, text: str, want: str | None) -> None:  # type: ignore[type-arg]
    result = fix_text(text, rules)
    assert (result.text if result else None) == want


def test_a_malformed_entry_is_named_by_index() -> None:
    with pytest.raises(ConfigError, match="entry 2"):
        load_rules([{"replace_text": "a", "with": "b"}, {"autolink": "x"}])
    with pytest.raises(ConfigError, match="entry 1"):
        load_rules([{"replace_url": "(", "with": "b"}])


def _cairn(args: list[str], cfg: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cairn", "bot", "fix", *args, "--config-dir", str(cfg)]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)


def test_fix_reads_stdin_uses_cairn_toml_and_prints_a_diff(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "cairn.toml").write_text(
        "[[bot.commentfix]]\nreplace_text = 'cancelled'\nwith = 'canceled'\n"
        "[[bot.commentfix]]\nreplace_url = 'https://golang.org/(.*)'\nwith = 'https://go.dev/$1'\n"
    )
    text = "keep this line\nwas cancelled, see https://golang.org/doc\n`cancelled`\n"
    out = _cairn(["--text", "-"], cfg, text)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "keep this line\nwas canceled, see https://go.dev/doc\n`cancelled`\n"
    out = _cairn(["--text", "-", "--diff"], cfg, text)
    assert out.returncode == 0, out.stderr
    assert "-was cancelled, see https://golang.org/doc" in out.stdout
    assert "+was canceled, see https://go.dev/doc" in out.stdout
    assert "+keep this line" not in out.stdout and "-`cancelled`" not in out.stdout
    out = _cairn(["--text", "-", "--diff"], cfg, "nothing here\n")
    assert out.returncode == 0 and out.stdout == "" and "no rule fired" in out.stderr
    (cfg / "cairn.toml").write_text("[[bot.commentfix]]\nautolink = 'x'\n")
    out = _cairn(["--text", "-"], cfg, "x\n")
    assert out.returncode == 2 and "entry 1" in out.stderr and "Traceback" not in out.stderr
