"""httprr v1 traces (as Gaby records them) seed the fake GitHub: the records they carry
are served to Cairn's sync however differently it asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.bot import mirror
from cairn.bot.github import (
    FakeGitHub,
    GitHub,
    GitHubClient,
    TraceError,
    projects_from_traces,
    read_trace,
)
from cairn.store import SQLiteKV

from ._traces import ISSUE, trace


def test_a_trace_is_read_record_by_record(tmp_path: Path) -> None:
    exchanges = read_trace(trace(tmp_path))
    assert [(e.method, e.path, e.status) for e in exchanges][:2] == [
        ("GET", "/repos/o/gabytest/issues", 200),
        ("GET", "/repos/o/gabytest/issues/comments", 200),
    ]
    assert json.loads(exchanges[0].body) == [ISSUE] and exchanges[-1].status == 404


def test_recorded_traffic_drives_cairns_sync(tmp_path: Path) -> None:
    projects = projects_from_traces([trace(tmp_path)])
    assert list(projects) == ["o/gabytest"]
    p = projects["o/gabytest"]
    assert list(p.issues) == [1] and list(p.comments) == [22] and list(p.events) == [33]
    assert p.events[33]["issue"] == {"number": 1}  # filed by the path it came from
    kv = SQLiteKV(tmp_path / "bot.db")
    with FakeGitHub(projects) as fake:
        GitHub(GitHubClient(fake.url), per_page=7).sync(kv, "o/gabytest")
    assert sum(1 for _ in mirror(kv).scan()) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a trace\n", "no 'httprr trace v1' header"),
        (b"httprr trace v1\n10 10\nGET", "truncated"),
        (b"httprr trace v1\nx y\n", "bad record header"),
    ],
)
def test_a_damaged_trace_is_one_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.httprr"
    path.write_bytes(data)
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_a_recorded_sync_replays_offline_and_holds_no_credentials(tmp_path: Path) -> None:
    """`cairn bot sync --record TRACE`, then `fake-github --from TRACE`: the same mirror,
    and the trace has no Authorization header and no token."""
    import os
    import subprocess
    import sys

    from cairn.bot.github import DEMO_PROJECT, demo_project

    token = "ghp_" + "Rr8Tt7Yy6Uu5Ii4Oo3Pp" * 2
    env = {**os.environ, "GITHUB_TOKEN": token, "HOME": str(tmp_path), "CAIRN_RECORD": "0"}
    rec = tmp_path / "sync.httprr"
    with FakeGitHub({DEMO_PROJECT: demo_project(8)}, token=token) as fake:
        cmd = [
            sys.executable,
            "-m",
            "cairn",
            "bot",
            "sync",
            DEMO_PROJECT,
            "--api",
            fake.url,
            "--record",
            str(rec),
            "--store",
            str(tmp_path / "live.db"),
            "--config-dir",
            str(tmp_path / "cfg"),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    data = rec.read_bytes()
    assert data.startswith(b"httprr trace v1\n")
    assert b"authorization:" not in data.lower() and token.encode() not in data
    replayed = projects_from_traces([rec])
    kv = SQLiteKV(tmp_path / "replayed.db")
    with FakeGitHub(replayed) as fake:
        GitHub(GitHubClient(fake.url)).sync(kv, DEMO_PROJECT)
    live = SQLiteKV(tmp_path / "live.db")
    keys = lambda store: sorted(e.key for e in mirror(store).scan())  # noqa: E731
    assert keys(kv) == keys(live) and len(keys(kv)) > 8
