"""The GitHub mirror against the fake GitHub: complete first sync, pagination, one 304 per
listing when idle, only changed records fetched again, rate limits and failures waited
out or reported in one line, and a sync killed at any point resumed exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from cairn.bot import COMMENTS, EVENTS, ISSUES, TrackerAuthError, TrackerError, mirror
from cairn.bot import parse_mirror_key as parse
from cairn.bot.github import FakeGitHub, GitHub, GitHubClient
from cairn.store import SQLiteKV

from .conftest import PROJECT


def tracker(fake: FakeGitHub, per_page: int = 100, **kw: object) -> GitHub:
    waits: list[tuple[str, float]] = []
    client = GitHubClient(
        fake.url,
        sleep=lambda s: None,
        on_wait=lambda why, s: waits.append((why, s)),
        **kw,  # type: ignore[arg-type]
    )
    gh = GitHub(client, per_page=per_page)
    gh.waits = waits  # type: ignore[attr-defined]
    return gh


def mirrored(kv: SQLiteKV) -> dict[tuple[str, int, str, int], dict]:  # type: ignore[type-arg]
    return {parse(e.key): orjson.loads(e.value) for e in mirror(kv).scan()}


def expected(fake: FakeGitHub) -> dict[tuple[str, int, str, int], dict]:  # type: ignore[type-arg]
    p = fake.projects[PROJECT]
    out = {(PROJECT, n, ISSUES, n): i for n, i in p.issues.items()}
    for cid, c in p.comments.items():
        out[(PROJECT, int(c["issue_url"].rsplit("/", 1)[1]), COMMENTS, cid)] = c
    for eid, e in p.events.items():
        out[(PROJECT, e["issue"]["number"], EVENTS, eid)] = e
    return out


@pytest.mark.parametrize("per_page", [1, 7, 100])
def test_a_first_sync_mirrors_everything_as_github_sent_it(
    fake: FakeGitHub, kv: SQLiteKV, per_page: int
) -> None:
    report = tracker(fake, per_page).sync(kv, PROJECT)
    assert mirrored(kv) == expected(fake)
    assert report.records == len(expected(fake)) and report.not_modified == 0


def test_an_idle_resync_is_one_304_per_listing_with_no_body(fake: FakeGitHub, kv: SQLiteKV) -> None:
    gh = tracker(fake, 10)
    gh.sync(kv, PROJECT)
    before = len(fake.requests)
    report = gh.sync(kv, PROJECT)
    idle = fake.requests[before:]
    assert [r.status for r in idle] == [304, 304, 304]
    assert sum(r.body_bytes for r in idle) == 0
    assert (report.requests, report.not_modified, report.records) == (3, 3, 0)
    assert all(r.headers.get("if-none-match") for r in idle)


def test_a_change_fetches_only_what_changed(fake: FakeGitHub, kv: SQLiteKV) -> None:
    gh = tracker(fake, 10)
    gh.sync(kv, PROJECT)
    seq = mirror(kv).latest()
    fake.clock = lambda: 1_800_000_000.0
    fake.edit_issue(PROJECT, 3, title="issue 3: renamed")
    fake.add_comment(PROJECT, 4, body="a new comment", created_at=1_800_000_000.0)
    report = gh.sync(kv, PROJECT)
    assert mirrored(kv) == expected(fake)
    changed = [parse(c.key) for c in mirror(kv).changes(seq)]
    # issue 3, and issue 4 with its new comment (a comment updates its issue)
    assert (
        sorted(changed) == sorted([(PROJECT, 3, ISSUES, 3), (PROJECT, 4, ISSUES, 4), changed[-1]])
        and changed[-1][2] == COMMENTS
    )
    assert report.records == 3


def test_rate_limits_and_server_errors_are_waited_out_visibly(
    fake: FakeGitHub, kv: SQLiteKV
) -> None:
    fake.fail(429, headers={"retry-after": "7"})
    fake.fail(502, times=2)
    fake.fail(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"})
    gh = tracker(fake, 50)
    gh.sync(kv, PROJECT)
    assert mirrored(kv) == expected(fake)
    reasons = [why for why, _ in gh.waits]  # type: ignore[attr-defined]
    assert reasons[0] == "GitHub asked to retry (429)" and gh.waits[0][1] == 7  # type: ignore[attr-defined]
    assert reasons[1:3] == ["GitHub error 502"] * 2 and reasons[3] == "GitHub's rate limit"


def test_a_server_that_keeps_failing_is_one_clear_error(fake: FakeGitHub, kv: SQLiteKV) -> None:
    fake.fail(503, times=100)
    with pytest.raises(TrackerError, match="kept failing"):
        tracker(fake, max_tries=3).sync(kv, PROJECT)
    assert mirrored(kv) == {}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda f: setattr(f, "token", "right"), "401"),
        (lambda f: f.fail(403, body=b'{"message": "Resource not accessible"}'), "403"),
    ],
)
def test_no_access_is_one_line_saying_what_to_check(
    fake: FakeGitHub, kv: SQLiteKV, setup, message
) -> None:  # type: ignore[no-untyped-def]
    setup(fake)
    with pytest.raises(TrackerAuthError, match=message):
        tracker(fake).sync(kv, PROJECT)
    assert mirrored(kv) == {}


def test_a_missing_repository_is_a_404_line(fake: FakeGitHub, kv: SQLiteKV) -> None:
    with pytest.raises(TrackerAuthError, match=r"not found \(404\)"):
        tracker(fake).sync(kv, "nobody/nothing")


def test_malformed_json_stores_nothing_of_that_page(fake: FakeGitHub, kv: SQLiteKV) -> None:
    fake.fail(200, body=b"[{not json")
    with pytest.raises(TrackerError, match="not JSON"):
        tracker(fake).sync(kv, PROJECT)
    assert mirrored(kv) == {}


def test_a_body_that_is_not_utf8_is_kept_readable(fake: FakeGitHub, kv: SQLiteKV) -> None:
    fake.fail(200, body=b'[{"id": 1, "number": 1, "title": "caf\xe9", "updated_at": "x"}]')
    tracker(fake).sync(kv, PROJECT)
    assert mirrored(kv)[(PROJECT, 1, ISSUES, 1)]["title"] == "caf\ufffd"


_SYNC = """
import sys
from cairn.bot.github import GitHub
from cairn.store import SQLiteKV
gh = GitHub.open(sys.argv[1], token="", per_page=1)
gh.sync(SQLiteKV(sys.argv[2]), sys.argv[3])
print("done", flush=True)
"""


def test_a_sync_killed_at_any_point_resumes_with_nothing_doubled_or_lost(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    rng = random.Random(20)
    kills = 0
    for trial in range(20):
        db = tmp_path / f"kill{trial}.db"
        finished = False
        for _ in range(50):
            proc = subprocess.Popen(
                [sys.executable, "-c", _SYNC, fake.url, str(db), PROJECT],
                stdout=subprocess.PIPE,
                env={**os.environ, "GITHUB_TOKEN": ""},
            )
            try:
                proc.wait(timeout=rng.uniform(0.05, 0.45))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
            if proc.returncode == 0:
                finished = True
                break
        assert finished
        kv = SQLiteKV(db)
        try:
            assert mirrored(kv) == expected(fake)
            # no record was doubled: one entry per key, one index entry per entry
            assert sum(1 for _ in mirror(kv).scan()) == len(expected(fake))
            assert sum(1 for _ in mirror(kv).changes(0)) == len(expected(fake))
        finally:
            kv.close()
    assert kills >= 10  # the kills did land, at random points of the syncs


def test_the_token_comes_from_the_environment_or_netrc_and_is_registered_as_secret(
    tmp_path: Path,
) -> None:
    from cairn.bot.github import github_token
    from cairn.privacy import redact

    assert github_token({"GITHUB_TOKEN": "from-env-123456789"}) == "from-env-123456789"
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.github.com login me password ghp_fromnetrc0123456789\n")
    netrc.chmod(0o600)
    token = github_token({}, str(netrc))
    assert token == "ghp_fromnetrc0123456789"
    assert token not in redact(f"the token is {token}")
    assert github_token({}, str(tmp_path / "none")) is None


def test_losing_the_network_is_one_line_and_keeps_what_was_synced(
    fake: FakeGitHub, kv: SQLiteKV
) -> None:
    gh = tracker(fake, 5, max_tries=2)
    gh.sync(kv, PROJECT)
    before = mirrored(kv)
    url = fake.url
    fake.stop()
    gh = GitHub(GitHubClient(url, sleep=lambda s: None, max_tries=2), per_page=5)
    with pytest.raises(TrackerError, match="cannot reach GitHub"):
        gh.sync(kv, PROJECT)
    assert mirrored(kv) == before


def test_a_one_megabyte_comment_is_mirrored_whole(fake: FakeGitHub, kv: SQLiteKV) -> None:
    big = "x" * (1 << 20)
    fake.add_comment(PROJECT, 1, body=big, created_at=1_900_000_000.0)
    tracker(fake).sync(kv, PROJECT)
    assert any(v.get("body") == big for v in mirrored(kv).values())


@pytest.mark.parametrize("per_page", [1, 3, 10])
def test_records_edited_while_a_sync_pages_are_neither_skipped_nor_lost(
    fake: FakeGitHub, kv: SQLiteKV, per_page: int
) -> None:
    # After each page is written, someone edits an issue and a comment that were already
    # read: they move to the listing's end. Paging by number would then skip the record
    # pushed back onto a page already read; the mirror must still end up complete.
    gh = tracker(fake, per_page)
    t = [1_800_000_000.0]
    fake.clock = lambda: t[0]
    pages = [0]
    numbers = sorted(fake.projects[PROJECT].issues)
    comment_ids = sorted(fake.projects[PROJECT].comments)

    def edit_behind(what: str, read: int, total: int) -> None:
        pages[0] += 1
        if pages[0] > 12:
            return
        t[0] += 1
        fake.edit_issue(PROJECT, numbers[pages[0] % 3], title=f"edited during page {pages[0]}")
        fake.edit_comment(PROJECT, comment_ids[pages[0] % 3], f"edited during page {pages[0]}")

    gh.progress = edit_behind  # type: ignore[assignment]
    gh.sync(kv, PROJECT)
    gh.progress = None
    assert set(mirrored(kv)) == set(expected(fake))
    gh.sync(kv, PROJECT)  # the edits made during the last pages are read on the next pass
    assert mirrored(kv) == expected(fake)


def test_progress_counts_records_read_against_an_estimate_from_the_last_page(
    fake: FakeGitHub, kv: SQLiteKV
) -> None:
    gh = tracker(fake, 7)
    seen: list[tuple[str, int, int]] = []
    gh.progress = lambda what, read, total: seen.append((what, read, total))
    gh.sync(kv, PROJECT)
    issues = [(r, t) for w, r, t in seen if w.endswith("(issues)")]
    # 25 issues, 7 a page: the first page knows from rel="last" that 3 more pages follow
    assert issues[0] == (7, 28)
    assert issues[-1] == (25, 25)
    assert all(read <= total for read, total in issues)
