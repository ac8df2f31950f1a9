"""The redaction choke point: `name=value` pairs and secret-named assignments, base64
copies of known secrets, and secrets that sessions register once and every redactor of
the process then knows."""

from __future__ import annotations

import base64
import secrets

import pytest

from cairn.privacy import (
    Redactor,
    add_secret_values,
    base64_copies,
    default_redactor,
    redact,
    redact_data,
)

from .secrets import PAIRS


@pytest.mark.parametrize(("kind", "secret", "line"), PAIRS, ids=[p[2] for p in PAIRS])
def test_password_pairs_and_secret_assignments_are_redacted(
    kind: str, secret: str, line: str
) -> None:
    redacted = Redactor(environ={}).redact(line)
    assert secret not in redacted
    assert f"[REDACTED:{kind}]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "passthrough=true bypass=1 compass=north",
        "KEYBOARD=us LANG=C.UTF-8 SORT=KEY_ASC",
        'echo "$DB_PASS"; export DB_PASS="$(vault read -field=pw db)"',
        "export API_TOKEN=$API_TOKEN_FROM_VAULT PASS= DB_PASS=no",
        "the test did not pass: expected 3",
        "MyKEYRING=default",
        # Ordinary operations commands and outputs near a keyword (from the eval corpus).
        'curl -sS -H "Authorization: Bearer $LF_API_TOKEN" https://ledger.lumen.internal/healthz',
        "s3api head-object --bucket lf-prod-exports --key daily/dt=$(date -u +%F)/_SUCCESS",
        "kubectl -n lf-prod get secret notify-providers -o json | jq '.data | keys'",
        "aws secretsmanager list-secret-version-ids --secret-id lf-prod/ledger/db",
        "         Sort Key: p.booked_at DESC",
        '"ARN": "arn:aws:secretsmanager:eu-west-1:381492011733:secret:lf-prod/ledger/db-Qm3Xk9"',
    ],
)
def test_look_alikes_of_pairs_pass_untouched(text: str) -> None:
    assert Redactor(environ={}).redact(text) == text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_base64_copy_of_a_known_secret_is_redacted_at_any_offset() -> None:
    secret = "s3ssion-" + secrets.token_hex(8)
    redactor = Redactor([secret], environ={})
    for prefix in (b"", b"u", b"us", b"user:", b"Authorization data: "):
        for suffix in (b"", b"\n", b"@host"):
            blob = _b64(prefix + secret.encode() + suffix)
            redacted = redactor.redact(f"echo {blob}")
            # No stretch of the blob that encodes the secret's bytes alone survives.
            assert not any(copy in redacted for copy in base64_copies(secret)), (prefix, suffix)
            assert "[REDACTED:base64]" in redacted
    url_safe = base64.urlsafe_b64encode(b"\xfb\xff" + secret.encode()).decode()
    assert "[REDACTED:base64]" in redactor.redact(url_safe)


def test_base64_copies_are_long_enough_not_to_match_by_chance() -> None:
    assert all(len(copy) >= 8 for copy in base64_copies("abcdefgh"))
    assert base64_copies("abc") == set()


def test_a_secret_registered_once_is_known_to_every_redactor_of_the_process() -> None:
    secret = "exported-" + secrets.token_hex(6)
    earlier = Redactor(environ={})
    assert secret in earlier.redact(f"value {secret}")
    add_secret_values([secret])
    later = Redactor(environ={})
    for redactor in (earlier, later, default_redactor()):
        assert secret not in redactor.redact(f"value {secret}")
        assert "[REDACTED:env]" in redactor.redact(f"value {secret}")
    assert secret not in redact(f"x {secret} y")
    assert redact_data({"a": [f"{secret}"]}) == {"a": ["[REDACTED:env]"]}
    # A redactor lists its own values, not their base64 copies nor the process's.
    own = Redactor([secret + "-own"], environ={})
    assert own.secret_values == (secret + "-own",)
