"""`cairn index add/search/stats` end to end, as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ..llm.fake_openai import FakeOpenAI
from .conftest import API_KEY

CAIRN = str(Path(sys.executable).with_name("cairn"))


def cairn(
    *args: str, cwd: Path, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    env["CAIRN_CONFIG_DIR"] = str(cwd / "config")
    env.update(extra_env)
    return subprocess.run(
        [CAIRN, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(
        "# Database\n\nWhen the database is locked, restart postgres and check the disk.\n\n"
        "# Certificates\n\nRotate the TLS certificate before it expires.\n\n"
        "# Rebooting\n\nTo reboot the machine, drain it first, then power cycle it.\n",
        "utf-8",
    )
    (tmp_path / "docs" / "cooking.md").write_text(
        "# Bread\n\nBake the bread at 220 degrees for forty minutes.\n", "utf-8"
    )
    return tmp_path


def test_add_search_stats_with_the_hash_embedder(docs: Path) -> None:
    store = str(docs / "index.db")
    added = cairn("index", "add", "docs", "--store", store, "--embedder", "hash", cwd=docs)
    assert added.returncode == 0, added.stderr
    assert "4 sections: 4 new or changed" in added.stderr and "embedded 4" in added.stderr

    found = cairn(
        "index", "search", "database locked", "--store", store, "--json", "--k", "2", cwd=docs
    )
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert len(rows) == 2
    assert rows[0]["id"] == "docs/ops.md#database" and rows[0]["title"] == "Database"
    assert rows[0]["score"] > rows[1]["score"]
    assert "restart postgres" in rows[0]["snippet"]

    exact = cairn("index", "search", "bread", "--store", store, "--exact", cwd=docs)
    assert (
        exact.returncode == 0 and exact.stdout.splitlines()[1].split()[1] == "docs/cooking.md#bread"
    )

    stats = cairn("index", "stats", "--store", store, "--json", cwd=docs)
    numbers = json.loads(stats.stdout)
    assert numbers["docs"] == numbers["vectors"] == 4
    assert numbers["dims"] == 384 and numbers["embedder"] == "hash-384"
    assert numbers["vector_bytes"] == 4 * 384 * 4 and numbers["docs_to_embed"] == 0

    again = cairn("index", "add", "docs", "--store", store, cwd=docs)  # embedder from the index
    assert (
        again.returncode == 0
        and "0 new or changed" in again.stderr
        and "embedded 0" in again.stderr
    )


def test_default_store_is_in_the_config_dir(docs: Path) -> None:
    assert cairn("index", "add", "docs/cooking.md", "--embedder", "hash", cwd=docs).returncode == 0
    assert (docs / "config" / "cairn.db").exists()
    stats = cairn("index", "stats", cwd=docs)
    assert stats.returncode == 0 and "docs" in stats.stdout and "hash-384" in stats.stdout


def test_another_embedder_is_refused_until_rebuild(docs: Path) -> None:
    assert cairn("index", "add", "docs", "--embedder", "hash", cwd=docs).returncode == 0
    refused = cairn("index", "add", "docs", "--embedder", "openai", cwd=docs)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "cairn: error: the index holds vectors from 'hash-384',"
        " not 'openai:text-embedding-3-small': search with the same embedder,"
        " or re-embed everything with `cairn index add --rebuild`"
    ]


def test_rebuild_switches_to_an_openai_compatible_server(
    docs: Path, embeddings_server: FakeOpenAI
) -> None:
    assert cairn("index", "add", "docs", "--embedder", "hash", cwd=docs).returncode == 0
    url = embeddings_server.base_url
    rebuilt = cairn(
        "index", "add", "docs", "--embedder", "openai", "--base-url", url, "--model", "nomic",
        "--rebuild", cwd=docs, CAIRN_EMBEDDINGS_API_KEY=API_KEY,
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "0 new or changed" in rebuilt.stderr and "embedded 4 with openai:nomic" in rebuilt.stderr
    stats = json.loads(cairn("index", "stats", "--json", cwd=docs).stdout)
    assert (stats["vectors"], stats["dims"], stats["embedder"]) == (4, 64, "openai:nomic")
    found = cairn(
        "index", "search", "bread", "--json", "--base-url", url, cwd=docs,
        CAIRN_EMBEDDINGS_API_KEY=API_KEY,
    )  # fmt: skip
    assert json.loads(found.stdout)[0]["id"] == "docs/cooking.md#bread"
    assert embeddings_server.seen[-1].body["model"] == "nomic"


def test_search_of_an_empty_index_finds_nothing(docs: Path) -> None:
    found = cairn("index", "search", "anything", "--json", cwd=docs)
    assert found.returncode == 0 and json.loads(found.stdout) == []
    plain = cairn("index", "search", "anything", cwd=docs)
    assert plain.returncode == 0 and "no matches" in plain.stderr


@pytest.mark.parametrize(
    "command", [("search", "anything"), ("search", "anything", "--json"), ("stats",)]
)
def test_read_commands_refuse_a_store_that_does_not_exist(
    docs: Path, command: tuple[str, ...]
) -> None:
    result = cairn("index", *command, "--store", "typo/x.db", cwd=docs)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "cairn: error: typo/x.db: no such store; check the path (reading never creates one)"
    ]
    assert not (docs / "typo").exists() and not (docs / "config" / "cairn.db").exists()


def test_add_creates_the_store_it_is_given(docs: Path) -> None:
    added = cairn("index", "add", "docs", "--store", "new/x.db", "--embedder", "hash", cwd=docs)
    assert added.returncode == 0, added.stderr
    stats = cairn("index", "stats", "--store", "new/x.db", "--json", cwd=docs)
    assert stats.returncode == 0 and json.loads(stats.stdout)["docs"] == 4


@pytest.mark.slow
def test_unreachable_embeddings_server_is_one_line_and_writes_no_vectors(docs: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = cairn("index", "add", "docs", "--embedder", "openai", "--base-url", url, cwd=docs)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(
        f"cairn: error: cannot reach the embeddings server at {url}/embeddings"
    )
    stats = json.loads(cairn("index", "stats", "--json", cwd=docs).stdout)
    assert stats["vectors"] == 0 and stats["docs_to_embed"] == 4  # embedded on the next add


def test_missing_file_is_an_error_before_anything_is_written(docs: Path) -> None:
    result = cairn("index", "add", "docs", "nope.md", "--embedder", "hash", cwd=docs)
    assert result.returncode == 2
    assert result.stderr.strip() == "cairn: error: nope.md: no such file or directory"
    assert json.loads(cairn("index", "stats", "--json", cwd=docs).stdout)["docs"] == 0


def _bad_files(docs: Path) -> None:
    (docs / "docs" / "latin1.md").write_bytes(b"# Caf\xe9\n\nwritten in Latin-1\n")
    (docs / "docs" / "dangling.md").symlink_to(docs / "docs" / "moved-away.md")


def test_add_skips_a_bad_file_with_a_warning_and_adds_the_rest(docs: Path) -> None:
    _bad_files(docs)
    result = cairn("index", "add", "docs", "--embedder", "hash", cwd=docs)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[:2] == [
        "cairn: warning: docs/dangling.md: cannot read: No such file or directory; skipped",
        "cairn: warning: docs/latin1.md: not UTF-8 text (byte 5); skipped",
    ]
    assert lines[2].startswith("cairn: 2 files, 4 sections: 4 new or changed")
    assert lines[2].endswith("; 2 files skipped (see above)")
    assert json.loads(cairn("index", "stats", "--json", cwd=docs).stdout)["docs"] == 4


def test_add_strict_adds_nothing_and_fails_when_a_file_is_bad(docs: Path) -> None:
    _bad_files(docs)
    result = cairn("index", "add", "docs", "--embedder", "hash", "--strict", cwd=docs)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cairn: warning: docs/dangling.md: cannot read: No such file or directory",
        "cairn: warning: docs/latin1.md: not UTF-8 text (byte 5)",
        "cairn: error: 2 files cannot be indexed (first: docs/dangling.md: cannot read:"
        " No such file or directory); nothing was added",
    ]
    assert json.loads(cairn("index", "stats", "--json", cwd=docs).stdout)["docs"] == 0


@pytest.mark.slow
def test_local_model_end_to_end_finds_meaning_not_words(docs: Path) -> None:
    added = cairn("index", "add", "docs", cwd=docs)  # the local model is the default
    assert added.returncode == 0, added.stderr
    assert "with local:all-MiniLM-L6-v2" in added.stderr
    found = cairn("index", "search", "how do I restart a computer", "--json", "-k", "1", cwd=docs)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["id"] == "docs/ops.md#rebooting"


_HEAVY = ("numpy", "torch", "sentence_transformers", "usearch", "httpx", "cairn.index")


def test_help_and_run_import_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text('```sh {"name":"hi"}\necho hi\n```\n', "utf-8")
    probe = (
        "import sys\n"
        "from cairn.cli import main\n"
        "codes = [main(['--help']), main(['index', '--help']), main(['run', 'hi', '-I'])]\n"
        f"print(codes, [m for m in {_HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[0, 0, 0] []"
