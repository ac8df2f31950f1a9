"""The offline evaluation: replay order, no leakage, arms, scores, report, plot, CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from cairn.cli import main
from cairn.copilot import ContextCell, Example, query_text
from cairn.copilot._dataset import Runbook, load_dataset
from cairn.copilot._eval import (
    ARMS,
    WINDOW,
    CaseResult,
    EvalError,
    EvalReport,
    Memory,
    Prediction,
    format_table,
    learn,
    parse_arms,
    plot,
    run_eval,
    summarize,
)
from cairn.copilot._metrics import normalize

from ._runbooks import AGAIN, DB, PODS


class OverlapMemory:
    """A real in-memory example store: Jaccard overlap of words, ties by insertion order."""

    def __init__(self) -> None:
        self.examples: list[Example] = []

    def add(self, examples: Sequence[Example]) -> int:
        self.examples.extend(examples)
        return len(examples)

    def search(self, query: str, *, k: int) -> list[Example]:
        words = _words(query)
        scored = []
        for position, example in enumerate(self.examples):
            other = _words(example.query)
            score = len(words & other) / len(words | other) if words | other else 0.0
            if score > 0:
                scored.append((-score, position, example))
        return [example for _, _, example in sorted(scored, key=lambda t: t[:2])[:k]]

    def following(self, command: str, *, k: int = 8) -> list[Example]:
        return []


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w./=-]+", text.lower()))


def first_example(context: Sequence[ContextCell], memory: Memory | None) -> Prediction:
    """Predicts the first retrieved example's cell, else nothing."""
    found = memory.search(query_text(context, len(context)), k=3) if memory else []
    return Prediction(
        found[0].cell if found else "", source="example", examples=tuple(e.id for e in found)
    )


def repeat_last_code(context: Sequence[ContextCell], memory: Memory | None) -> str:
    """Predicts the last code cell again."""
    code = [c.source for c in context if c.kind == "code"]
    return code[-1] if code else ""


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    data = tmp_path / "runbooks"
    data.mkdir()
    for name, text in {"a-pods.md": PODS, "b-db.md": DB, "c-again.md": AGAIN}.items():
        (data / name).write_text(text, encoding="utf-8")
    return data


@pytest.fixture
def dataset(dataset_dir: Path) -> list[Runbook]:
    return load_dataset(dataset_dir)


def results(report: EvalReport, arm: str) -> list[CaseResult]:
    return [r for r in report.results if r.arm == arm]


# -- learning and replay -------------------------------------------------------------


def test_learn_makes_one_example_per_case_keyed_by_its_query(dataset: list[Runbook]) -> None:
    pods = dataset[0]
    examples = learn(pods)
    assert [e.cell.strip() for e in examples] == [
        "kubectl -n prod logs deploy/api --since=15m",
        "kubectl -n prod rollout restart deploy/worker",
    ]
    assert examples[0].query == query_text(pods.cells, 3)
    assert "Tail the api logs" in examples[0].query
    assert len({e.id for e in examples}) == 2


def test_learning_never_sees_the_runbook_it_is_predicting(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=OverlapMemory, arms=["learning"])
    order = [r.name for r in dataset]
    cells_by_runbook = {
        r.name: {normalize(c.source) for c in r.cells if c.kind == "code"} for r in dataset
    }
    checked = 0
    for result in results(report, "learning"):
        for example_id in result.examples:
            learned_from = example_id.split("#")[0]
            assert order.index(learned_from) < order.index(result.runbook)
        elsewhere = [
            name
            for name, cells in cells_by_runbook.items()
            if name != result.runbook and normalize(result.expected) in cells
        ]
        if not elsewhere:  # the command exists only in this runbook: nothing may leak it
            assert normalize(result.prediction) != normalize(result.expected)
            checked += 1
    assert checked == 3  # a-pods restart, b-db count, c-again scale


def test_learning_uses_what_earlier_runbooks_taught(dataset: list[Runbook]) -> None:
    report = run_eval(
        dataset,
        predict=first_example,
        make_memory=OverlapMemory,
        arms=["baseline", "learning"],
    )
    logs = "kubectl -n prod logs deploy/api --since=15m"
    learning = {(r.runbook, r.index): r for r in results(report, "learning")}
    assert learning[("c-again.md", 3)].exact_match
    assert learning[("c-again.md", 3)].examples[0] == "a-pods.md#3"
    assert normalize(learning[("c-again.md", 3)].prediction) == logs
    assert not learning[("a-pods.md", 3)].exact_match  # nothing learned yet
    assert not any(r.exact_match for r in results(report, "baseline"))
    assert report.arm("learning").exact_match_rate > report.arm("baseline").exact_match_rate


def test_the_baseline_gets_no_examples(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=None, arms=["baseline"])
    assert all(r.examples == () and r.prediction == "" for r in results(report, "baseline"))


def test_examples_seen_counts_the_examples_of_the_runbooks_before(
    dataset: list[Runbook],
) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=OverlapMemory)
    for arm in ARMS:
        seen = [(r.runbook, r.examples_seen) for r in results(report, arm)]
        assert seen == [
            ("a-pods.md", 0),
            ("a-pods.md", 0),
            ("b-db.md", 2),
            ("c-again.md", 3),
            ("c-again.md", 3),
        ]


def test_retrieval_predicts_the_nearest_example_or_nothing(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=None, make_memory=OverlapMemory, arms=["retrieval"])
    by_case = {(r.runbook, r.index): r for r in results(report, "retrieval")}
    assert by_case[("a-pods.md", 3)].prediction == ""  # empty memory
    assert by_case[("c-again.md", 3)].exact_match
    assert by_case[("c-again.md", 3)].distance == 0
    assert report.arm("retrieval").cases == 5


def test_each_memory_arm_gets_a_fresh_memory(dataset: list[Runbook]) -> None:
    made: list[OverlapMemory] = []

    def make_memory() -> OverlapMemory:
        made.append(OverlapMemory())
        return made[-1]

    run_eval(dataset, predict=repeat_last_code, make_memory=make_memory)
    assert len(made) == 2  # learning and retrieval; the baseline needs none
    assert [len(m.examples) for m in made] == [5, 5]


def test_every_arm_scores_every_case_in_replay_order(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=repeat_last_code, make_memory=OverlapMemory)
    assert [s.arm for s in report.arms] == list(ARMS)
    assert report.runbooks == 3
    for arm in ARMS:
        cases = [(r.runbook, r.index) for r in results(report, arm)]
        assert cases == [
            ("a-pods.md", 3),
            ("a-pods.md", 5),
            ("b-db.md", 3),
            ("c-again.md", 3),
            ("c-again.md", 5),
        ]


def test_scores_are_exact_match_and_argument_distance(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=repeat_last_code, make_memory=None, arms=["baseline"])
    db = next(r for r in report.results if r.runbook == "b-db.md")
    # The previous cell lacks the `-c` flag: one missing flag.
    assert db.prediction.strip() == "psql -h db.internal -U ops jobs"
    assert not db.exact_match
    assert db.distance == 1
    summary = report.arm("baseline")
    assert summary.cases == 5
    assert summary.mean_distance == pytest.approx(sum(r.distance for r in report.results) / 5)


# -- the judge -------------------------------------------------------------------------


def test_the_judge_decides_equivalence_of_inexact_predictions(dataset: list[Runbook]) -> None:
    asked: list[tuple[str, str]] = []

    def same_program(expected: str, actual: str, context: Sequence[ContextCell]) -> bool:
        asked.append((expected, actual))
        assert context  # the judge sees the cells before the case
        return expected.split()[0] == actual.split()[0]

    report = run_eval(
        dataset,
        predict=repeat_last_code,
        make_memory=None,
        arms=["baseline"],
        judge=same_program,
    )
    assert len(asked) == 5  # no exact match here, no empty prediction
    assert all(r.judge is True for r in report.results)  # same program every time
    assert report.arm("baseline").judge_rate == 1.0


def test_the_judge_is_not_asked_about_exact_or_empty_predictions(
    dataset: list[Runbook],
) -> None:
    asked: list[str] = []

    def never_equivalent(expected: str, actual: str, context: Sequence[ContextCell]) -> bool:
        asked.append(actual)
        return False

    report = run_eval(
        dataset,
        predict=None,
        make_memory=OverlapMemory,
        arms=["retrieval"],
        judge=never_equivalent,
    )
    exact = [r for r in report.results if r.exact_match]
    assert exact and all(r.judge is True for r in exact)
    assert "" not in asked
    assert all(r.judge is False for r in report.results if not r.prediction)


def test_without_a_judge_the_column_is_empty(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=repeat_last_code, make_memory=None, arms=["baseline"])
    assert report.arm("baseline").judge_rate is None
    assert all(r.judge is None for r in report.results)


# -- arms --------------------------------------------------------------------------------


def test_an_unknown_arm_is_rejected(dataset: list[Runbook]) -> None:
    with pytest.raises(EvalError, match="unknown arm 'magic'"):
        run_eval(dataset, predict=first_example, make_memory=OverlapMemory, arms=["magic"])


def test_model_arms_need_a_predictor(dataset: list[Runbook]) -> None:
    with pytest.raises(EvalError, match="need a predictor"):
        run_eval(dataset, predict=None, make_memory=OverlapMemory, arms=["learning"])


def test_memory_arms_need_a_memory(dataset: list[Runbook]) -> None:
    with pytest.raises(EvalError, match="need a memory"):
        run_eval(dataset, predict=first_example, make_memory=None, arms=["retrieval"])


def test_no_case_is_nothing_to_evaluate() -> None:
    with pytest.raises(EvalError, match="nothing to evaluate"):
        run_eval([Runbook("x.md", ())], predict=first_example, make_memory=None, arms=["baseline"])


def test_parse_arms_reads_a_comma_separated_list() -> None:
    assert parse_arms("retrieval, baseline,retrieval") == ("retrieval", "baseline")
    with pytest.raises(EvalError, match="no arm"):
        parse_arms(" , ")
    with pytest.raises(EvalError, match="unknown arm 'foo'"):
        parse_arms("baseline,foo")


def test_progress_reports_each_case_of_each_arm(dataset: list[Runbook]) -> None:
    seen: list[tuple[str, int, int]] = []
    run_eval(
        dataset,
        predict=repeat_last_code,
        make_memory=OverlapMemory,
        arms=["baseline", "retrieval"],
        progress=lambda arm, done, total: seen.append((arm, done, total)),
    )
    assert seen == [("baseline", i, 5) for i in range(1, 6)] + [
        ("retrieval", i, 5) for i in range(1, 6)
    ]


# -- summaries and the curve ---------------------------------------------------------------


def _result(exact: bool, seen: int, distance: int = 0) -> CaseResult:
    return CaseResult(
        "learning", "r.md", 1, "c", "ls", "ls" if exact else "", exact, distance, seen
    )


def test_the_curve_has_cumulative_and_rolling_rates() -> None:
    hits = [False] * WINDOW + [True] * WINDOW
    summary = summarize("learning", [_result(h, i // 4) for i, h in enumerate(hits)])
    assert summary.cases == 2 * WINDOW
    assert summary.exact_match_rate == 0.5
    last = summary.curve[-1]
    assert last.case == 2 * WINDOW
    assert last.examples_seen == (2 * WINDOW - 1) // 4
    assert last.exact_match_rate == 0.5
    assert last.rolling_exact_match_rate == 1.0  # the last WINDOW cases all matched
    middle = summary.curve[WINDOW - 1]
    assert middle.exact_match_rate == 0.0
    assert middle.rolling_exact_match_rate == 0.0
    assert summary.curve[WINDOW].rolling_exact_match_rate == pytest.approx(1 / WINDOW)


def test_the_curve_has_a_rolling_mean_distance() -> None:
    distances = [10] * WINDOW + [2] * WINDOW
    summary = summarize("learning", [_result(False, i, d) for i, d in enumerate(distances)])
    assert summary.curve[0].rolling_mean_distance == 10.0
    assert summary.curve[WINDOW].rolling_mean_distance == pytest.approx(
        (10 * (WINDOW - 1) + 2) / WINDOW
    )
    assert summary.curve[-1].rolling_mean_distance == 2.0


def test_mean_distance_averages_over_cases() -> None:
    summary = summarize("learning", [_result(False, 0, 3), _result(True, 0, 0)])
    assert summary.mean_distance == 1.5


# -- outputs -------------------------------------------------------------------------------


def test_to_json_is_plain_data_with_stable_keys(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=OverlapMemory)
    data = report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data == report.to_json()
    assert data["schema"] == 3
    assert data["runbooks"] == 3
    assert [a["arm"] for a in data["arms"]] == list(ARMS)
    assert set(data["arms"][0]) == {
        "arm",
        "cases",
        "exact_match_rate",
        "mean_distance",
        "judge_rate",
        "no_worse_rate",
        "p50_ms",
        "p95_ms",
        "model_cell_rate",
        "degenerate",
        "sources",
        "curve",
    }
    assert set(data["arms"][0]["curve"][0]) == {
        "case",
        "examples_seen",
        "exact_match_rate",
        "rolling_exact_match_rate",
        "rolling_mean_distance",
    }
    assert len(data["results"]) == 15
    assert set(data["results"][0]) == {
        "arm",
        "runbook",
        "index",
        "cell",
        "expected",
        "prediction",
        "exact_match",
        "distance",
        "examples_seen",
        "examples",
        "judge",
        "source",
        "latency_ms",
        "model_cell",
        "degenerate",
        "candidates",
    }
    baseline = report.arm("baseline")
    assert baseline.no_worse_rate == 1.0  # every case is as good as itself
    assert data["arms"][1]["sources"] == {"example": {"chosen": 5, "exact": 1}}


def test_format_table_has_one_row_per_arm(dataset: list[Runbook]) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=OverlapMemory)
    lines = format_table(report).splitlines()
    assert lines[0].split() == [
        *("arm", "cases", "exact", "match", "mean", "distance", "no", "worse"),
        *("p50", "ms", "p95", "ms", "cell", "degen", "judge"),
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert set(rows) == set(ARMS)
    learning = report.arm("learning")
    assert rows["learning"][1] == "5"
    assert rows["learning"][2] == f"{100 * learning.exact_match_rate:.1f}"
    assert rows["learning"][4] == f"{learning.mean_distance:.2f}"
    assert learning.no_worse_rate is not None
    assert rows["learning"][5] == f"{100 * learning.no_worse_rate:.1f}"
    assert rows["learning"][-1] == "-"  # no judge
    assert "chosen from" in lines[5]
    assert lines[7].split()[:2] == ["learning", "example"]


def test_plot_writes_a_png_and_leaves_no_temp_file(dataset: list[Runbook], tmp_path: Path) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=OverlapMemory)
    out = tmp_path / "plots"
    out.mkdir()
    target = out / "curve.png"
    target.write_bytes(b"old")
    plot(report, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(target.read_bytes()) > 1000
    assert [p.name for p in out.iterdir()] == ["curve.png"]


def test_plot_into_a_missing_directory_is_a_clear_error(
    dataset: list[Runbook], tmp_path: Path
) -> None:
    report = run_eval(dataset, predict=first_example, make_memory=None, arms=["baseline"])
    with pytest.raises(EvalError, match="cannot write"):
        plot(report, tmp_path / "missing" / "curve.png")


# -- the CLI (paths that need neither a model nor an example index) -----------------------


def test_cli_reports_a_missing_dataset_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", str(tmp_path / "nope"), "--arms", "retrieval"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        f"cairn: error: {tmp_path / 'nope'}: no such dataset directory"
    ]


def test_cli_rejects_an_unknown_arm_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", str(tmp_path), "--arms", "baseline,magic"])
    assert code == 2
    assert "unknown arm 'magic'" in capsys.readouterr().err


# -- the CLI end to end: the retrieval arm (real ExampleIndex, hash embedder, no model) --


def test_cli_retrieval_arm_prints_the_table(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", str(dataset_dir), "--arms", "retrieval", "--embedder", "hash"])
    out = capsys.readouterr().out
    assert code == 0
    row = out.splitlines()[1].split()
    # Five cases; the repeated step of c-again.md is found in a-pods.md: 1 of 5 exact.
    assert row[:4] == ["retrieval", "5", "20.0", "%"]
    assert "retrieval" in out.splitlines()[-1]  # which sources its predictions came from


def test_cli_json_report_and_plot(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "curve.png"
    code = main(
        [
            "eval",
            str(dataset_dir),
            "--arms",
            "retrieval",
            "--embedder",
            "hash",
            "--json",
            "--plot",
            str(target),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    data = json.loads(captured.out)
    assert [a["arm"] for a in data["arms"]] == ["retrieval"]
    hits = [(r["runbook"], r["index"]) for r in data["results"] if r["exact_match"]]
    assert hits == [("c-again.md", 3)]
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert f"plot written to {target}" in captured.err


def test_cli_limit_replays_only_the_first_runbooks(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["eval", str(dataset_dir), "--arms", "retrieval", "--embedder", "hash", "--limit", "2"]
    )
    data_rows = capsys.readouterr().out.splitlines()[1:]
    assert code == 0
    assert data_rows[0].split()[:4] == ["retrieval", "3", "0.0", "%"]


def test_cli_two_datasets_are_reported_apart_and_plotted_side_by_side(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "heldout"
    other.mkdir()
    (other / "a.md").write_text(DB, encoding="utf-8")
    target = tmp_path / "both.png"
    args = ["--arms", "retrieval", "--embedder", "hash", "--plot", str(target)]
    assert main(["eval", str(dataset_dir), str(other), *args]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("== ")] == [
        "== runbooks",
        "== heldout",
    ]
    assert target.read_bytes().startswith(b"\x89PNG")
    assert (
        main(
            [
                "eval",
                str(dataset_dir),
                str(other),
                "--arms",
                "retrieval",
                "--json",
                "--embedder",
                "hash",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data["datasets"]] == ["runbooks", "heldout"]
    assert data["datasets"][1]["report"]["arms"][0]["cases"] == 1
