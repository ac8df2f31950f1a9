"""`cairn suggest` end to end: real cells run by `cairn run` (PTY and pipes), the real
`openai` SDK against the fake server, the debug recorder capturing what the model got."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.copilot._rank import THRESHOLD
from cairn.learnlog import read_events

from ..llm.fake_openai import Behaviour, FakeOpenAI

CAIRN = str(Path(sys.executable).with_name("cairn"))

RUNBOOK = """# Disk triage

Find out which mount is full.

```sh {"name":"mounts","interactive":"true"}
printf 'Filesystem Use%%\\n/dev/sda1 97%%\\n'
```

Then what is big in /var, without stopping at errors.

```sh {"name":"big-dirs","interactive":"false"}
echo "4.0G /var/log" ; echo "du: cannot read /var/secret" >&2 ; exit 3
```

Now clean up.
"""


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def _cairn(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "CAIRN_RECORD"))
    }
    return subprocess.run(
        [CAIRN, *args, "--config-dir", str(tmp_path / "cfg")],
        capture_output=True,
        text=True,
        timeout=600,  # the local model, on a loaded 2-core machine,
        env=base | (env or {}),
        cwd=tmp_path,
    )


def _env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test-suggest-0123456789"}


@pytest.fixture
def ran(tmp_path: Path) -> Path:
    """The runbook, with both cells run (one in a PTY, one through pipes)."""
    book = tmp_path / "disk.md"
    book.write_text(RUNBOOK)
    first = _cairn(tmp_path, "run", "mounts", "--file", str(book))
    assert first.returncode == 0, first.stderr
    second = _cairn(tmp_path, "run", "big-dirs", "--file", str(book))
    assert second.returncode == 3
    return book


def test_the_model_sees_both_cells_outputs_and_exit_codes(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    fake.script.append(
        Behaviour(text="Rotate the logs.\n\n```sh\nsudo logrotate -f /etc/logrotate.conf\n```\n")
    )
    out = _cairn(
        tmp_path,
        "suggest",
        str(ran),
        "-m",
        "openai:gpt-4o-mini",
        "--debug",
        "--json",
        env=_env(fake),
    )
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    code = [c for c in result["cells"] if c["kind"] == "code"]
    assert code[0]["source"] == "sudo logrotate -f /etc/logrotate.conf\n"
    assert result["source"] == "model" and result["sources"] == ["model"]
    assert 0 < result["confidence"] < 1 and result["confident"] is False  # nothing learned

    # What the model actually received, as the debug recorder stored it.
    run_id = out.stderr.split("recorded run ")[1].split()[0]
    tree = json.loads(_cairn(tmp_path, "debug", "export", run_id).stdout)
    (step,) = tree["steps"]
    body = json.loads(step["attempt_records"][0]["request_body"])
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert "/dev/sda1 97%" in prompt  # the interactive (PTY) cell's output
    assert "4.0G /var/log" in prompt  # the piped cell's stdout…
    assert "du: cannot read /var/secret" in prompt  # …its stderr…
    assert "3" in prompt.split("du: cannot read /var/secret")[1]  # …and its exit code after it
    for ui in ("stateful.runme", "runme.dev/", "\x1b["):
        assert ui not in prompt
    assert "Now clean up." in prompt


def test_accept_refuses_a_suggestion_below_the_threshold_unless_forced(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    before = ran.read_text()
    args = ("suggest", str(ran), "-m", "openai:x", "--after", "big-dirs", "--accept")
    fake.script.append(Behaviour(text="```sh\nsudo journalctl --vacuum-size=200M\n```"))
    refused = _cairn(tmp_path, *args, env=_env(fake))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "suggestion 1 (from the model) has confidence 0." in refused.stderr
    assert f"below {THRESHOLD:.2f}: not inserted (--force inserts it anyway)" in refused.stderr
    assert ran.read_text() == before

    fake.script.append(Behaviour(text="```sh\nsudo journalctl --vacuum-size=200M\n```"))
    out = _cairn(tmp_path, *args, "--force", env=_env(fake))
    assert out.returncode == 0, out.stderr
    assert "inserted suggestion 1" in out.stderr
    after = ran.read_text()
    assert "sudo journalctl --vacuum-size=200M" in after
    head, tail = after.split("sudo journalctl --vacuum-size=200M")
    assert "big-dirs" in head and "Now clean up." in tail  # inserted after the cell
    assert before.split("Now clean up.")[0].rstrip() in head  # nothing else changed
    events = [e for _, e in read_events(tmp_path / "cfg" / "logs")]
    generated = [e for e in events if e["type"] == "suggestion.generated"]
    accepted = [e for e in events if e["type"] == "suggestion.accepted"]
    assert len(generated) == 2 and len(accepted) == 1  # both were generated, one accepted
    cell_id = accepted[0]["cell_id"]
    assert f'"id":"{cell_id}"' in after.replace(" ", "")
    assert generated[1]["trace_id"] == accepted[0]["trace_id"]
    assert generated[1]["model"] == "openai:x"
    assert generated[1]["cells"][-1]["id"] == cell_id
    assert generated[1]["source"] == "model" and generated[1]["confidence"] < 0.2


@pytest.mark.slow
def test_without_a_good_enough_suggestion_it_says_so_plainly(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    fake.script.append(Behaviour(text="```sh\nsudo journalctl --vacuum-size=200M\n```"))
    out = _cairn(tmp_path, "suggest", str(ran), "-m", "openai:x", env=_env(fake))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # no junk presented as a suggestion
    assert "cairn: no suggestion good enough: the best, from the model, has confidence 0." in (
        out.stderr
    )
    assert f"(a suggestion needs {THRESHOLD:.2f}); --force shows it" in out.stderr
    fake.script.append(Behaviour(text="```sh\nsudo journalctl --vacuum-size=200M\n```"))
    forced = _cairn(tmp_path, "suggest", str(ran), "-m", "openai:x", "--force", env=_env(fake))
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("--- suggestion 1 (from the model, confidence 0.")
    assert "below the threshold)\n```sh\nsudo journalctl --vacuum-size=200M\n```" in forced.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--after", "no-such-cell"), "no-such-cell"),
        (("--after", "9"), "has 2 code cells"),
    ],
)
def test_bad_positions_are_one_line_errors(
    tmp_path: Path, fake: FakeOpenAI, ran: Path, args: tuple[str, ...], message: str
) -> None:
    out = _cairn(tmp_path, "suggest", str(ran), "-m", "openai:x", *args, env=_env(fake))
    assert out.returncode == 2 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_a_model_that_answers_garbage_changes_nothing(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    fake.script.append(Behaviour(text="I cannot help with that."))
    before = ran.read_text()
    out = _cairn(tmp_path, "suggest", str(ran), "-m", "openai:x", "--accept", env=_env(fake))
    assert out.returncode == 2
    assert "the model proposed nothing: openai:x answered without a code cell" in out.stderr
    # What is left (the runbook's own cells) is not good enough to insert.
    assert "(from an earlier cell of this runbook)" in out.stderr
    assert "not inserted" in out.stderr and "Traceback" not in out.stderr
    assert ran.read_text() == before


def test_an_empty_notebook_and_a_missing_file(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "empty.md").write_text("")
    fake.script.append(Behaviour(text="```sh\nls\n```"))
    out = _cairn(tmp_path, "suggest", "empty.md", "-m", "openai:x", "--json", env=_env(fake))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["cells"][0]["source"] == "ls\n"
    missing = _cairn(tmp_path, "suggest", "nope.md", "-m", "openai:x", env=_env(fake))
    assert missing.returncode == 2 and "nope.md" in missing.stderr


@pytest.mark.slow
def test_the_local_model_is_the_offline_default(tmp_path: Path, ran: Path) -> None:
    """No provider configured, no network: the bundled GGUF model answers."""
    out = _cairn(tmp_path, "suggest", str(ran), "--json", "--debug")
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["model"] == "local:gemma-3-270m-q4_k_m"
    code = [c for c in result["cells"] if c["kind"] == "code"]
    assert len(code) == 1 and code[0]["source"].strip()
    # The base model continued the runbook from an opened fence, outputs included.
    run_id = out.stderr.split("recorded run ")[1].split()[0]
    tree = json.loads(_cairn(tmp_path, "debug", "export", run_id).stdout)
    (step,) = tree["steps"]
    request = json.dumps(step)
    assert "/dev/sda1 97%" in request and "du: cannot read /var/secret" in request


def test_an_accepted_suggestion_run_as_suggested_shows_in_stats(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    fake.script.append(Behaviour(text="```sh\necho rotated\n```"))
    fake.script.append(Behaviour(text="```sh\necho never-run\n```"))
    out = _cairn(
        tmp_path, "suggest", str(ran), "-m", "openai:x", "--accept", "--force", env=_env(fake)
    )
    assert out.returncode == 0, out.stderr
    cell_id = ran.read_text().split('"id":"')[1].split('"')[0]
    shown_only = _cairn(tmp_path, "suggest", str(ran), "-m", "openai:x", env=_env(fake))
    assert shown_only.returncode == 0, shown_only.stderr
    run = _cairn(tmp_path, "run", cell_id, "--file", str(ran))
    assert run.returncode == 0 and "rotated" in run.stdout, run.stderr
    stats = _cairn(tmp_path, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    (row,) = json.loads(stats.stdout)
    assert row["model"] == "openai:x"
    assert (row["shown"], row["accepted"], row["executed_as_suggested"]) == (2, 1, 1)
    assert row["not_executed"] == 1


def test_an_anthropic_model_gets_the_same_outputs(tmp_path: Path, ran: Path) -> None:
    """Another provider of the LLM layer, through its own SDK and wire format."""
    from ..llm.fake_anthropic import FakeAnthropic

    fake = FakeAnthropic()
    try:
        cfg = tmp_path / "cfg"
        (cfg / "cairn.toml").write_text(f'[llm.anthropic]\nbase_url = "{fake.base_url}"\n')
        fake.script.append(Behaviour(text="```sh\nsudo du -xsh /var/log/* | sort -h\n```"))
        env = {"ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef"}
        out = _cairn(tmp_path, "suggest", str(ran), "-m", "anthropic:claude-x", "--json", env=env)
        assert out.returncode == 0, out.stderr
        (result,) = json.loads(out.stdout)
        assert result["model"] == "anthropic:claude-x"
        assert result["cells"][-1]["source"] == "sudo du -xsh /var/log/* | sort -h\n"
        (request,) = [s for s in fake.seen if s.path.endswith("/v1/messages")]
        sent = json.dumps(request.body)
        assert "/dev/sda1 97%" in sent and "du: cannot read /var/secret" in sent
        assert "stateful.runme" not in sent
    finally:
        fake.close()


def test_a_model_that_does_not_answer_in_time_changes_nothing(
    tmp_path: Path, fake: FakeOpenAI, ran: Path
) -> None:
    fake.script.append(Behaviour(text="```sh\nls\n```", first_token_delay=5.0))
    before = ran.read_text()
    out = _cairn(
        tmp_path,
        "suggest",
        str(ran),
        "-m",
        "openai:x",
        "--timeout",
        "0.5",
        "--accept",
        env=_env(fake),
    )
    assert out.returncode == 2
    assert "the model proposed nothing: openai:x did not answer within 0.5s" in out.stderr
    assert "not inserted" in out.stderr and "Traceback" not in out.stderr
    assert ran.read_text() == before
    events = [e for _, e in read_events(tmp_path / "cfg" / "logs")]
    assert not [e for e in events if e["type"] == "suggestion.accepted"]
    generated = [e for e in events if e["type"] == "suggestion.generated"]
    assert [e["source"] for e in generated] == ["runbook"]  # what was left, not the model's


TRIAGE = """# Disk triage

Find out which mount is full.

```sh {"name":"mounts","interactive":"false"}
printf 'Filesystem Use%%\\n/dev/sda1 97%%\\n'
```

Then what is big in /var.

```sh {"name":"big-dirs","interactive":"false"}
echo "4.0G /var/log"
```

Rotate the logs that grew.

```sh {"name":"rotate","interactive":"false"}
echo "rotated /var/log/syslog"
```

Check the mount again.

```sh {"name":"check","interactive":"false"}
printf 'Filesystem Use%%\\n/dev/sda1 61%%\\n'
```
"""


@pytest.fixture
def learned(tmp_path: Path) -> Path:
    """TRIAGE run through and learned (the hash embedder: no model to load); a new
    runbook at its second step, where the learned next step applies."""
    done = tmp_path / "done.md"
    done.write_text(TRIAGE)
    ran = _cairn(tmp_path, "run", "--all", "--file", str(done))
    assert ran.returncode == 0, ran.stderr
    learn = _cairn(tmp_path, "learn", "--embedder", "hash")
    assert learn.returncode == 0 and "learned 3 examples" in learn.stdout, learn.stdout
    fresh = tmp_path / "fresh.md"
    fresh.write_text(TRIAGE.split("Then what is big")[0] + "Then what is big in /var.\n")
    return fresh


def test_a_learned_example_is_confident_and_accept_inserts_it(
    tmp_path: Path, fake: FakeOpenAI, learned: Path
) -> None:
    fake.script.append(Behaviour(text="```sh\ndf -h\n```"))
    out = _cairn(
        tmp_path, "suggest", str(learned), "-m", "openai:x", "--json", "--n", "3", env=_env(fake)
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    texts = [r["cells"][-1]["source"] for r in results]
    assert len(results) == 3 and len(set(texts)) == 3  # distinct
    best = results[0]
    assert texts[0] == 'echo "4.0G /var/log"\n'
    assert best["source"] == "example" and "example" in best["sources"]
    assert best["confident"] is True and best["confidence"] >= THRESHOLD
    assert [r["confidence"] for r in results] == sorted(
        (r["confidence"] for r in results), reverse=True
    )
    assert "df -h\n" in texts  # the model's own cell is among them, ranked

    fake.script.append(Behaviour(text="```sh\ndf -h\n```"))
    accepted = _cairn(
        tmp_path, "suggest", str(learned), "-m", "openai:x", "--accept", env=_env(fake)
    )
    assert accepted.returncode == 0, accepted.stderr  # good enough: no --force needed
    assert learned.read_text().rstrip().endswith('echo "4.0G /var/log"\n```')

    # Each suggestion.generated event names its source and confidence, as shown.
    events = [e for _, e in read_events(tmp_path / "cfg" / "logs")]
    generated = [e for e in events if e["type"] == "suggestion.generated"]
    assert [(e["source"], e["sources"], e["confidence"]) for e in generated[:3]] == [
        (r["source"], r["sources"], r["confidence"]) for r in results
    ]
    assert generated[-1]["source"] == "example" and generated[-1]["confidence"] >= THRESHOLD


def test_n_says_how_many_distinct_suggestions_it_found(
    tmp_path: Path, fake: FakeOpenAI, learned: Path
) -> None:
    fake.script.append(Behaviour(text="```sh\ndf -h\n```"))
    out = _cairn(tmp_path, "suggest", str(learned), "-m", "openai:x", "--n", "5", env=_env(fake))
    assert out.returncode == 0, out.stderr
    shown = out.stdout.count("--- suggestion ")
    assert 1 < shown < 5
    assert f"cairn: found {shown} distinct suggestions of the 5 asked for" in out.stderr
    assert out.stdout.startswith("--- suggestion 1 (from a learned example, confidence 0.")
    fences = [block.split("\n", 1)[1] for block in out.stdout.split("```sh\n")[1:]]
    assert len(set(fences)) == shown
