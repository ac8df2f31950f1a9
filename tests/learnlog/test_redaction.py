"""Redaction: secrets planted in commands, env values and outputs never reach any file of
the log; ordinary text passes untouched; and it is fast enough for every event."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cairn.learnlog import CellExecuted, LearningLog, SuggestedCell, SuggestionGenerated
from cairn.learnlog._redact import Redactor, is_secret_name

# (kind it is redacted as, the secret, a line that carries it)
SECRETS: list[tuple[str, str, str]] = [
    ("github", "ghp_R7tYb2Kq9LmN4pX8sV1wZ3cD5fG7hJ0kM2nQ", "git clone https://{}@github.com/o/r"),
    ("github", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "gh auth status shows {}"),
    (
        "github",
        "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvw",
        "token {} accepted",
    ),
    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id = {}"),
    ("aws_access_key_id", "ASIAY34FZKBOKMUTVV7A", "assumed role with key {}"),
    (
        "aws_secret_access_key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key={}",
    ),
    ("openai", "sk-proj-Xy7Qm2Lk9Pz4Rw8Tn1Vb6Hc3Jd5Fg0Sa7Ue2Io4", "export OPENAI_API_KEY={}"),
    (
        "anthropic",
        "sk-ant-api03-Zq8Wx1Ce5Rv9Tb3Ny7Um2Ki6Ol0Pj4Hg8Fd2Sa6Qw0Er4Ty8Ui2Op6As0Df4Gh8Jk",
        "curl -H 'x-api-key: {}' https://api.anthropic.com/v1/messages",
    ),
    ("slack", "xoxb-2048207398-4820173945102-Qw3Er5Ty7Ui9Op1As3Df5Gh7", "SLACK={} ./notify"),
    ("stripe", "sk_live_51HxYz2KqLmN4pX8sV1wZ3cD5fG7hJ0k", "stripe charges list --api-key {}"),
    ("google_api_key", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "maps?key={}&q=x"),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "session cookie {}",
    ),
    (
        "private_key",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw",
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n7FQ2bWmBHGk2S6Wd\n-----END RSA PRIVATE KEY-----",
    ),
    ("authorization", "a8Kd93LmQz71XcVb0Pw4", "curl -H 'Authorization: Bearer {}' https://x"),
    ("authorization", "YWRtaW46aHVudGVyMg==", "Authorization: Basic {}"),
    ("url_password", "Tr0ub4dor&3x", "psql postgres://admin:{}@db.internal:5432/app"),
    ("password", "hunter2hunter2", "mysql -u root --password={} -e 'select 1'"),
    ("password", "P@ssw0rd-Prod!", "connect server=db;user=sa;pwd={};"),
    ("secret", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "token: {}"),
    ("secret", "Zx9kLm2Qp8Rt5Vw3Yb7N", "SECRET={}"),
    ("secret", "q1W2e3R4t5Y6u7I8o9P0", "vault login --token {}"),
    ("secret", "AbC123dEf456GhI789jKl", "api_key={}"),
]
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


def test_redacting_64_kib_of_output_takes_well_under_10_ms() -> None:
    line = (
        "2024-04-25T18:40:13Z INFO request id=7f3a token=none user=dev path=/api/v1/items "
        "status=200 key=value secret=false took=12ms\n"
    )
    text = (line * (65536 // len(line) + 1))[:65536]
    text = text[:30000] + "Authorization: Bearer a8Kd93LmQz71XcVb0Pw4\n" + text[30000:]
    redactor = Redactor(["correct-horse-battery-staple"], environ={})
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        redacted = redactor.redact(text)
        best = min(best, time.perf_counter() - start)
    assert "a8Kd93LmQz71XcVb0Pw4" not in redacted
    assert best < 0.005, f"{best * 1000:.1f} ms"
