"""Commands that write a user's file all write it the same way: atomically, through a
symlink to its target, keeping the mode, refusing a read-only file unless --force, and
breaking a hard link (documented in `fmt --help`)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cairn.notebook import parse

from ..llm.fake_openai import Behaviour, FakeOpenAI
from .conftest import CAIRN

BOOK = '```sh {"name":"a"}\necho a\n```\n'
Cairn = Callable[..., subprocess.CompletedProcess[str]]


def _ids(path: Path) -> int:
    return sum(1 for c in parse(path.read_text()).code_cells() if c.attributes.get("id"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_fmt_write_through_a_symlink_rewrites_the_target_and_keeps_the_link(
    cairn: Cairn, tmp_path: Path
) -> None:
    real = tmp_path / "books" / "deploy.md"
    real.parent.mkdir()
    real.write_text(BOOK)
    os.chmod(real, 0o640)
    link = tmp_path / "README.md"
    link.symlink_to(Path("books") / "deploy.md")
    result = cairn("fmt", str(link), "--write", "--identity", "cell")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("books") / "deploy.md")
    assert _ids(real) == 1
    assert _mode(real) == 0o640
    assert [p.name for p in real.parent.iterdir()] == ["deploy.md"]  # no temp file left


def test_fmt_write_refuses_a_read_only_file_unless_forced_and_keeps_its_mode(
    cairn: Cairn, runbook: Callable[[str], Path]
) -> None:
    path = runbook(BOOK)
    os.chmod(path, 0o444)
    refused = cairn("fmt", str(path), "--write", "--identity", "cell")
    message = _one_error_line(refused)
    assert "read-only" in message and "--force" in message and "0444" in message
    assert path.read_text() == BOOK
    forced = cairn("fmt", str(path), "--write", "--identity", "cell", "--force")
    assert forced.returncode == 0, forced.stderr
    assert _ids(path) == 1
    assert _mode(path) == 0o444


def test_fmt_write_breaks_a_hard_link_as_its_help_says(
    cairn: Cairn, runbook: Callable[[str], Path], tmp_path: Path
) -> None:
    path = runbook(BOOK)
    other = tmp_path / "other-name.md"
    os.link(path, other)
    result = cairn("fmt", str(path), "--write", "--identity", "cell")
    assert result.returncode == 0, result.stderr
    assert _ids(path) == 1
    assert other.read_text() == BOOK  # the other name keeps the old content
    assert path.stat().st_ino != other.stat().st_ino
    help_text = " ".join(cairn("fmt", "--help").stdout.split())
    assert "hard link is broken" in help_text and "symlink is followed" in help_text


@pytest.mark.parametrize("direction", ["from-ipynb", "to-ipynb"])
def test_notebook_output_follows_symlinks_and_refuses_read_only_files(
    cairn: Cairn, runbook: Callable[[str], Path], tmp_path: Path, direction: str
) -> None:
    source = runbook(BOOK)
    if direction == "from-ipynb":
        ipynb = tmp_path / "book.ipynb"
        ipynb.write_text(cairn("notebook", "to-ipynb", str(source)).stdout)
        source = ipynb
    target = tmp_path / "out" / "target"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    written = cairn("notebook", direction, str(source), "-o", str(link))
    assert written.returncode == 0, written.stderr
    assert link.is_symlink() and target.read_text() != "old\n"
    new = target.read_text()
    os.chmod(target, 0o444)
    refused = cairn("notebook", direction, str(source), "-o", str(target))
    assert "read-only" in _one_error_line(refused)
    assert target.read_text() == new
    forced = cairn("notebook", direction, str(source), "-o", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert _mode(target) == 0o444


def test_an_output_path_that_is_not_a_regular_file_is_refused(
    cairn: Cairn, runbook: Callable[[str], Path], tmp_path: Path
) -> None:
    source = runbook(BOOK)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused = cairn("notebook", "to-ipynb", str(source), "-o", str(fifo), "--force")
    assert "not a regular file" in _one_error_line(refused)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


# Learned first, so that the suggestion after `hello` is good enough to insert without
# --force (a model's cell alone is below the confidence threshold): --force then only
# overrides the read-only file.
GREET = (
    '# Greet\n\nSay hello.\n\n```sh {"name":"hello"}\necho hello\n```\n\n'
    'Say goodbye.\n\n```sh {"name":"bye"}\necho bye\n```\n\n'
    'Done.\n\n```sh {"name":"done"}\necho done\n```\n'
)
GREET_AGAIN = GREET.split('```sh {"name":"bye"}')[0]


def _cairn_env(fake: FakeOpenAI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CAIRN_"))}
    return env | {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-writes-0123456789"}


def _learn_greet(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "greet.md").write_text(GREET)
    for args in (("run", "--all", "--file", "greet.md"), ("learn", "--embedder", "hash")):
        done = subprocess.run(
            [CAIRN, *args, "--config-dir", str(tmp_path / "cfg")],
            capture_output=True,
            text=True,
            timeout=120,
            env=_cairn_env(fake),
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr


def _suggest(
    tmp_path: Path, fake: FakeOpenAI, book: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    fake.script.append(Behaviour(text="```sh\necho bye\n```"))
    return subprocess.run(
        [
            CAIRN,
            "suggest",
            str(book),
            "-m",
            "openai:x",
            "--accept",
            *extra,
            "--config-dir",
            str(tmp_path / "cfg"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_cairn_env(fake),
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_suggest_accept_writes_through_a_symlink_and_respects_read_only(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    _learn_greet(tmp_path, fake)
    real = tmp_path / "real.md"
    real.write_text(GREET_AGAIN)
    os.chmod(real, 0o600)
    link = tmp_path / "book.md"
    link.symlink_to(real)
    accepted = _suggest(tmp_path, fake, link)
    assert accepted.returncode == 0, accepted.stderr
    assert link.is_symlink() and real.read_text().count("echo bye") == 1
    assert _mode(real) == 0o600
    real.write_text(GREET_AGAIN)  # the same position again: the same suggestion
    os.chmod(real, 0o444)
    refused = _suggest(tmp_path, fake, link)
    assert refused.returncode == 2 and "read-only" in refused.stderr, refused.stderr
    assert real.read_text() == GREET_AGAIN
    forced = _suggest(tmp_path, fake, link, "--force")
    assert forced.returncode == 0, forced.stderr
    assert real.read_text().count("echo bye") == 1 and _mode(real) == 0o444


def test_eval_plot_refuses_a_read_only_file_unless_forced(cairn: Cairn, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for name in ("a.md", "b.md"):
        (dataset / name).write_text('```sh {"name":"x"}\necho one\n```\n\n```sh\necho two\n```\n')
    plot = tmp_path / "curve.png"
    plot.write_bytes(b"old")
    os.chmod(plot, 0o444)
    args = ("eval", str(dataset), "--arms", "retrieval", "--embedder", "hash", "--plot", str(plot))
    refused = cairn(*args, "--config-dir", str(tmp_path / "cfg"))
    assert refused.returncode == 2 and "read-only" in refused.stderr, refused.stderr
    assert plot.read_bytes() == b"old"
    forced = cairn(*args, "--force", "--config-dir", str(tmp_path / "cfg"))
    assert forced.returncode == 0, forced.stderr
    assert plot.read_bytes()[:4] == b"\x89PNG" and _mode(plot) == 0o444
    assert "retrieval" in forced.stdout  # the report came first
