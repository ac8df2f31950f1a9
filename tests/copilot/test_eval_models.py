"""`cairn eval` with a model: the baseline arm's predictions come from the real `openai`
SDK against the fake server, and so do the judge's verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.cli import main
from cairn.copilot._judge import JudgeError, verdict
from cairn.llm.recorder import close_shared

from ..llm.fake_openai import Behaviour, FakeOpenAI
from ._runbooks import AGAIN, DB, PODS


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-eval-0123456789")
    monkeypatch.setenv("CAIRN_CONFIG_DIR", str(tmp_path / "cfg"))
    yield server
    server.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    directory = tmp_path / "runbooks"
    directory.mkdir()
    for name, text in {"a-pods.md": PODS, "b-db.md": DB, "c-again.md": AGAIN}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _cell(command: str) -> Behaviour:
    return Behaviour(text=f"```sh\n{command}\n```")


def test_the_baseline_arm_asks_the_model_and_the_judge_weighs_inexact_answers(
    fake: FakeOpenAI, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script.extend(
        [
            _cell("kubectl -n prod logs deploy/api --since=15m"),  # a: exact
            _cell("kubectl rollout restart deploy/worker -n prod"),  # a: inexact…
            Behaviour(text="YES"),  # …and equivalent
            Behaviour(text="I do not know."),  # b: no cell, so no judge
            _cell("kubectl -n prod get pods"),  # c: inexact…
            Behaviour(text="No."),  # …and not equivalent
            _cell("kubectl -n prod scale deploy/gateway --replicas=3"),  # c: exact
        ]
    )
    args = ["--arms", "baseline", "-m", "openai:gpt-4o-mini", "--judge", "openai:j", "--json"]
    code = main(["eval", str(data), *args])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (arm,) = report["arms"]
    assert arm["exact_match_rate"] == pytest.approx(2 / 5)
    assert arm["judge_rate"] == pytest.approx(3 / 5)
    assert [r["judge"] for r in report["results"]] == [True, True, False, False, True]
    assert not fake.script  # every scripted answer was asked for, in order

    models = [s.body["model"] for s in fake.seen]
    assert models.count("j") == 2 and models.count("gpt-4o-mini") == 5
    (first_judge, _) = [s.body for s in fake.seen if s.body["model"] == "j"]
    question = first_judge["messages"][-1]["content"]
    assert "kubectl -n prod rollout restart deploy/worker" in question  # expected
    assert "kubectl rollout restart deploy/worker -n prod" in question  # predicted
    # The predictor saw the runbook up to the case, and never the expected cell.
    second = [s.body for s in fake.seen if s.body["model"] == "gpt-4o-mini"][1]
    prompt = "\n".join(m["content"] for m in second["messages"])
    assert "kubectl -n prod logs deploy/api --since=15m" in prompt
    assert "rollout restart" not in prompt


def test_the_predictor_and_the_judge_calls_are_recorded_by_default(
    fake: FakeOpenAI,
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAIRN_RECORD", raising=False)
    fake.script.extend([_cell("kubectl get pods"), Behaviour(text="NO")] * 5)
    args = ["--arms", "baseline", "-m", "openai:p", "--judge", "openai:j", "--json"]
    assert main(["eval", str(data), *args]) == 0
    close_shared()  # writes what the process recorded
    capsys.readouterr()
    assert main(["debug", "runs", "--json"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(runs) == len(fake.seen) == 10  # five predictions, five verdicts
    assert {run["kind"] for run in runs} == {"eval"}


def test_a_judge_that_answers_neither_yes_nor_no_stops_the_eval_in_one_line(
    fake: FakeOpenAI, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script.extend([_cell("kubectl get pods"), Behaviour(text="Perhaps, it depends")])
    code = main(["eval", str(data), "--arms", "baseline", "-m", "openai:x", "--judge", "openai:j"])
    err = capsys.readouterr().err
    assert code == 2
    assert "not YES or NO" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("YES", True), ("yes.", True), ("**No**", False), (" no, they differ", False)],
)
def test_verdicts_read_the_first_word(text: str, expected: bool) -> None:
    assert verdict(text) is expected


def test_an_empty_verdict_is_an_error() -> None:
    with pytest.raises(JudgeError):
        verdict("")
