"""Redaction: secrets planted in commands, env values and outputs never reach any file of
the log; ordinary text passes untouched; and it is fast enough for every event."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.learnlog import CellExecuted, LearningLog, SuggestedCell, SuggestionGenerated
from cairn.privacy import Redactor, is_secret_name

from ..privacy.secrets import SECRETS

ENV_SECRET = "S3ss10n-Db-P4ss-Value"  # the value of a secret-named variable of this process
SESSION_SECRET = "correct-horse-battery-staple"  # a value a cell's session set


def _events(kind_index: int, secret: str, line: str) -> list[CellExecuted | SuggestionGenerated]:
    text = line.format(secret)
    return [
        CellExecuted(known_id=f"src{kind_index}", source=f"set -e\n{text}\necho done"),
        CellExecuted(known_id=f"out{kind_index}", stdout=f"starting\n{text}\nok\n"),
        CellExecuted(known_id=f"err{kind_index}", stderr=f"warning: {text}"),
        SuggestionGenerated(trace_id=f"t{kind_index}", cells=[SuggestedCell(id="s", source=text)]),
    ]


def test_no_planted_secret_reaches_any_file_of_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DB_PASSWORD", ENV_SECRET)
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=8192) as log:
        log.add_secret_values([SESSION_SECRET])
        for index, (_, secret, line) in enumerate(SECRETS):
            for event in _events(index, secret, line):
                log.emit(event)
        for value in (ENV_SECRET, SESSION_SECRET):  # env values in commands and outputs
            log.emit(CellExecuted(source=f"echo {value}", stdout=f"{value}\n", stderr=value))
    everything = b"".join(p.read_bytes() for p in logdir.rglob("*") if p.is_file())
    assert len(list(logdir.glob("events-*.jsonl"))) > 1  # rotated files are checked too
    planted = [secret for _, secret, _ in SECRETS] + [ENV_SECRET, SESSION_SECRET]
    assert len({kind for kind, _, _ in SECRETS}) + 1 >= 15
    assert len(planted) >= 20
    leaked = [secret for secret in planted if secret.encode() in everything]
    assert leaked == []
    for kind in {kind for kind, _, _ in SECRETS} | {"env"}:
        assert f"[REDACTED:{kind}]".encode() in everything, kind


@pytest.mark.parametrize(("kind", "secret", "line"), SECRETS, ids=[s[0] for s in SECRETS])
def test_each_secret_is_replaced_by_its_kind(kind: str, secret: str, line: str) -> None:
    redacted = Redactor(environ={}).redact(line.format(secret))
    assert secret not in redacted
    assert f"[REDACTED:{kind}]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "NAME              READY   STATUS    RESTARTS   AGE\napi-7d4b9c-x2k  1/1 Running 0 3d",
        "PWD=/home/dev/ops\nOLDPWD=/home/dev\nHOME=/home/dev\nSHELL=/bin/bash",
        "token: expired\nsecret: true\nkey: value\npassword: $DB_PASSWORD\n--token $GH_TOKEN",
        "commit 3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d\nAuthor: Dev <dev@example.com>",
        "https://example.com/path?q=1 and ssh://git@github.com:22/o/r.git",
        "the primary key is id; press any key to continue; monkey business",
        "Reading package lists... Done\n0 upgraded, 0 newly installed",
    ],
)
def test_ordinary_text_passes_untouched(text: str) -> None:
    assert Redactor(environ={}).redact(text) == text


def test_secret_env_names_are_recognised() -> None:
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "PGPASSWD", "API_KEY"):
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "PWD", "AWS_REGION", "LANG", "GOOGLE_CREDENTIALS_FILE"):
        assert not is_secret_name(name), name
    redactor = Redactor(environ={"MY_TOKEN": "abcdef123456", "HOME": "/home/dev", "X_KEY": "1"})
    assert redactor.secret_values == ("abcdef123456",)


def test_a_token_in_64_kib_of_log_lines_is_found_and_nothing_else_changes() -> None:
    # How long this takes is measured by bench/redact.py, against a same-run baseline.
    line = (
        "2024-04-25T18:40:13Z INFO request id=7f3a token=none user=dev path=/api/v1/items "
        "status=200 key=value secret=false took=12ms\n"
    )
    text = (line * (65536 // len(line) + 1))[:65536]
    planted = text[:30000] + "Authorization: Bearer a8Kd93LmQz71XcVb0Pw4\n" + text[30000:]
    redacted = Redactor(["correct-horse-battery-staple"], environ={}).redact(planted)
    assert (
        redacted == text[:30000] + "Authorization: Bearer [REDACTED:authorization]\n" + text[30000:]
    )
