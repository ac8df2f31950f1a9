"""The offline evaluation (`cairn eval`), after Foyle's TN003: replay a dataset of
runbooks in order and score each arm's prediction of every case.

Arms:
- `baseline`: the predictor with no memory — what the model (and the runbook itself)
  offer on their own.
- `learning`: the predictor with a memory that holds what was learned from the runbooks
  replayed *before* the current one.
- `retrieval`: no model; the best of what the memory offers (by default the nearest
  example's cell; `cairn eval` ranks the adapted candidates as the pipeline does).

Learning from a runbook adds one example per case (its place and its cell), and only once
all of the runbook's cases have been scored: a runbook never helps predict itself. Each
arm gets its own memory from `make_memory`. Scores per case are exact match and argument
distance (`_metrics`), plus an optional judge's verdict; per arm also the source of the
chosen candidates, the latency, whether the model replied with a cell, degenerate
repetition, and — against the baseline — how often it is no worse.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..notebook import NotebookError, write_atomic
from ._dataset import Case, Runbook
from ._errors import CopilotError
from ._metrics import arg_distance, exact_match
from ._pipeline import Memory as Recall
from ._query import query_text
from ._situation import example_at
from ._suggest import degenerate
from ._types import ContextCell, Example

ARMS = ("baseline", "learning", "retrieval")
K = 3  # examples retrieved per case
WINDOW = 20  # cases in the rolling exact-match rate
SCHEMA_VERSION = 3  # of EvalReport.to_json(); 2: rolling_mean_distance; 3: sources, latency,
# no-worse rate, model cells, degenerate replies, candidates

# predict(context, memory or None) -> the prediction (or just its text)
Predict = Callable[[Sequence[ContextCell], "Memory | None"], "Prediction | str"]
# judge(expected, predicted, context) -> whether the prediction does the same thing
Judge = Callable[[str, str, Sequence[ContextCell]], bool]
# progress(arm, cases done in this arm, cases per arm)
Progress = Callable[[str, int, int], None]


class EvalError(CopilotError):
    """The evaluation cannot run as asked (unknown arm, missing part, nothing to
    evaluate) or its report cannot be written."""


class Memory(Recall, Protocol):
    """Where learned examples go and come back from (`ExampleIndex` in production)."""

    def add(self, examples: Sequence[Example]) -> int:
        """Store examples; how many were stored."""
        ...


@dataclass(frozen=True)
class Prediction:
    """What a predictor made of one case."""

    text: str
    source: str = "model"  # the candidate source of `text` (`_candidates.SOURCES`)
    examples: tuple[str, ...] = ()  # ids of the examples it used
    latency_ms: int = 0
    model_cell: bool | None = None  # whether the model replied with a code cell (None: not asked)
    candidates: tuple[dict[str, Any], ...] = ()  # for fitting the ranker (`--candidates`)


@dataclass(frozen=True)
class CaseResult:
    """One arm's prediction for one case, and its scores."""

    arm: str
    runbook: str
    index: int  # the expected cell's position in the runbook
    cell: str  # the expected cell's id, else its name
    expected: str
    prediction: str
    exact_match: bool
    distance: int
    examples_seen: int  # examples in memory (learned so far) when the case was predicted
    examples: tuple[str, ...] = ()  # ids of the examples retrieved for the case
    judge: bool | None = None  # None: no judge
    source: str = "model"
    latency_ms: int = 0
    model_cell: bool | None = None
    degenerate: bool = False
    candidates: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy after the `case`-th case (1-based, replay order) of an arm."""

    case: int
    examples_seen: int
    exact_match_rate: float  # over all cases so far
    rolling_exact_match_rate: float  # over the last WINDOW cases
    rolling_mean_distance: float  # argument distance, over the last WINDOW cases


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    cases: int
    exact_match_rate: float
    mean_distance: float
    judge_rate: float | None  # None: no judge
    curve: tuple[CurvePoint, ...]
    # Against the baseline arm, case by case: the share no worse (argument distance not
    # higher) than the baseline's prediction. None: no baseline in this report.
    no_worse_rate: float | None = None
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    # The model's replies with a code cell, of those asked (None: the arm asks no model).
    model_cell_rate: float | None = None
    degenerate: int = 0  # predictions with degenerate repetition
    # source -> (cases where it was chosen, of those exactly right)
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalReport:
    runbooks: int
    arms: tuple[ArmSummary, ...]
    results: tuple[CaseResult, ...]  # arm by arm, each in replay order

    def arm(self, name: str) -> ArmSummary:
        """The summary of arm `name`; KeyError if it was not run."""
        for summary in self.arms:
            if summary.arm == name:
                return summary
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The report as plain data, with stable keys (schema `SCHEMA_VERSION`)."""
        return {
            "schema": SCHEMA_VERSION,
            "runbooks": self.runbooks,
            "arms": [
                {
                    "arm": s.arm,
                    "cases": s.cases,
                    "exact_match_rate": s.exact_match_rate,
                    "mean_distance": s.mean_distance,
                    "judge_rate": s.judge_rate,
                    "no_worse_rate": s.no_worse_rate,
                    "p50_ms": s.p50_ms,
                    "p95_ms": s.p95_ms,
                    "model_cell_rate": s.model_cell_rate,
                    "degenerate": s.degenerate,
                    "sources": {k: {"chosen": c, "exact": e} for k, (c, e) in s.sources.items()},
                    "curve": [p.__dict__.copy() for p in s.curve],
                }
                for s in self.arms
            ],
            "results": [
                {**r.__dict__, "examples": list(r.examples), "candidates": list(r.candidates)}
                for r in self.results
            ],
        }


def learn(runbook: Runbook) -> list[Example]:
    """What replaying `runbook` teaches: one example per case, keyed by its query."""
    return [
        example_at(
            runbook.cells,
            case.index,
            id=f"{runbook.name}#{case.index}",
            source=f"{runbook.name}#{case.expected.id or case.expected.name or case.index}",
        )
        for case in runbook.cases()
    ]


def nearest_example(context: Sequence[ContextCell], memory: Memory | None) -> Prediction:
    """The retrieval arm's default: the nearest example's cell as it is ("" when none)."""
    found = memory.search(query_text(context, len(context)), k=1) if memory is not None else []
    if not found:
        return Prediction("", source="example")
    return Prediction(found[0].cell, source="example", examples=(found[0].id,))


def run_eval(
    runbooks: Sequence[Runbook],
    *,
    predict: Predict | None,
    make_memory: Callable[[], Memory] | None,
    arms: Iterable[str] = ARMS,
    judge: Judge | None = None,
    progress: Progress | None = None,
    retrieve: Predict = nearest_example,
) -> EvalReport:
    """Replay `runbooks` in order once per arm and score every case (module docstring).

    `predict` is needed by `baseline` and `learning`, `make_memory` by `learning` and
    `retrieval` (which predicts with `retrieve`); EvalError if one is missing, an arm is
    unknown, or there is no case.
    """
    chosen = _check_arms(tuple(arms), predict=predict, make_memory=make_memory)
    if not any(r.cases() for r in runbooks):
        raise EvalError("nothing to evaluate: no runbook has a case")
    results: list[CaseResult] = []
    summaries: list[ArmSummary] = []
    baseline: list[CaseResult] | None = None
    for arm in chosen:
        memory = None if arm == "baseline" or make_memory is None else make_memory()
        predictor = retrieve if arm == "retrieval" else predict
        replay = _Replay(arm, predictor, memory, judge, progress)
        arm_results = replay.run(runbooks)
        results.extend(arm_results)
        if arm == "baseline":
            baseline = arm_results
        summaries.append(summarize(arm, arm_results))
    if baseline is not None:
        summaries = [
            replace(s, no_worse_rate=_no_worse(s.arm, results, baseline)) for s in summaries
        ]
    return EvalReport(len(runbooks), tuple(summaries), tuple(results))


def _no_worse(arm: str, results: Sequence[CaseResult], baseline: Sequence[CaseResult]) -> float:
    theirs = {(r.runbook, r.index): r.distance for r in baseline}
    ours = [r for r in results if r.arm == arm]
    return _rate([r.distance <= theirs[(r.runbook, r.index)] for r in ours])


def parse_arms(text: str) -> tuple[str, ...]:
    """Arms from a comma-separated list ("baseline,retrieval"); EvalError if one is
    unknown or none is given."""
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    _check_names(arms)
    return tuple(dict.fromkeys(arms))


def _check_names(arms: tuple[str, ...]) -> None:
    if not arms:
        raise EvalError(f"no arm to run; choose from {', '.join(ARMS)}")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise EvalError(f"unknown arm {unknown[0]!r}; choose from {', '.join(ARMS)}")


def _check_arms(
    arms: tuple[str, ...], *, predict: Predict | None, make_memory: Callable[[], Memory] | None
) -> tuple[str, ...]:
    _check_names(arms)
    if predict is None and ({"baseline", "learning"} & set(arms)):
        raise EvalError("the baseline and learning arms need a predictor (a model)")
    if make_memory is None and ({"learning", "retrieval"} & set(arms)):
        raise EvalError("the learning and retrieval arms need a memory for examples")
    return tuple(dict.fromkeys(arms))  # each arm once, in the order given


@dataclass
class _Replay:
    """One arm's pass over the dataset."""

    arm: str
    predict: Predict | None
    memory: Memory | None
    judge: Judge | None
    progress: Progress | None

    def run(self, runbooks: Sequence[Runbook]) -> list[CaseResult]:
        total = sum(len(r.cases()) for r in runbooks)
        results: list[CaseResult] = []
        seen = 0
        for runbook in runbooks:
            for case in runbook.cases():
                results.append(self._score(case, seen))
                if self.progress is not None:
                    self.progress(self.arm, len(results), total)
            seen += self._learn(runbook)  # only now: the runbook never sees itself
        return results

    def _learn(self, runbook: Runbook) -> int:
        examples = learn(runbook)
        if self.memory is None or not examples:
            return len(examples)  # baseline: counted all the same, to share the x axis
        return self.memory.add(examples)

    def _predict(self, case: Case, seen: int) -> Prediction:
        assert self.predict is not None  # checked by _check_arms
        start = time.perf_counter()
        memory = self.memory if seen else None
        made = self.predict(case.context, memory)
        if isinstance(made, str):
            made = Prediction(made, latency_ms=int((time.perf_counter() - start) * 1000))
        return made

    def _score(self, case: Case, seen: int) -> CaseResult:
        made = self._predict(case, seen)
        prediction = made.text
        expected = case.expected.source
        exact = exact_match(expected, prediction)
        return CaseResult(
            arm=self.arm,
            runbook=case.runbook,
            index=case.index,
            cell=case.expected.id or case.expected.name,
            expected=expected,
            prediction=prediction,
            exact_match=exact,
            distance=arg_distance(expected, prediction),
            examples_seen=seen,
            examples=made.examples,
            judge=self._judge(expected, prediction, case.context, exact),
            source=made.source,
            latency_ms=made.latency_ms,
            model_cell=made.model_cell,
            degenerate=degenerate(prediction),
            candidates=tuple(
                {
                    **c,
                    "exact": exact_match(expected, c["text"]),
                    "distance": arg_distance(expected, c["text"]),
                }
                for c in made.candidates
            ),
        )

    def _judge(
        self, expected: str, prediction: str, context: Sequence[ContextCell], exact: bool
    ) -> bool | None:
        if self.judge is None:
            return None
        if exact or not prediction.strip():
            return exact  # no need to ask: equal is equivalent, nothing is not
        return self.judge(expected, prediction, context)


def _scored(candidate: dict[str, Any], expected: str) -> dict[str, Any]:
    text = candidate["text"]
    return {
        **candidate,
        "exact": exact_match(expected, text),
        "distance": arg_distance(expected, text),
    }


def summarize(arm: str, results: Sequence[CaseResult]) -> ArmSummary:
    """An arm's totals and its accuracy curve, from its results in replay order."""
    n = len(results)
    hits = [r.exact_match for r in results]
    distances = [r.distance for r in results]
    judged = [r.judge for r in results if r.judge is not None]
    curve = tuple(
        CurvePoint(
            case=i + 1,
            examples_seen=r.examples_seen,
            exact_match_rate=sum(hits[: i + 1]) / (i + 1),
            rolling_exact_match_rate=_rate(hits[max(0, i + 1 - WINDOW) : i + 1]),
            rolling_mean_distance=_mean(distances[max(0, i + 1 - WINDOW) : i + 1]),
        )
        for i, r in enumerate(results)
    )
    latencies = sorted(r.latency_ms for r in results)
    asked = [r.model_cell for r in results if r.model_cell is not None]
    sources: dict[str, tuple[int, int]] = {}
    for r in results:
        chosen, right = sources.get(r.source, (0, 0))
        sources[r.source] = (chosen + 1, right + int(r.exact_match))
    return ArmSummary(
        arm=arm,
        cases=n,
        exact_match_rate=_rate(hits),
        mean_distance=sum(r.distance for r in results) / n if n else 0.0,
        judge_rate=_rate(judged) if judged else None,
        curve=curve,
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        model_cell_rate=_rate(asked) if asked else None,
        degenerate=sum(r.degenerate for r in results),
        sources=dict(sorted(sources.items())),
    )


def _percentile(values: Sequence[int], q: float) -> float:
    if not values:
        return 0.0
    return float(values[min(len(values) - 1, int(q * len(values)))])


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def format_table(report: EvalReport) -> str:
    """The per-arm totals as a plain-text table, then each arm's sources."""
    header = (
        f"{'arm':<10} {'cases':>6} {'exact match':>12} {'mean distance':>14}"
        f" {'no worse':>9} {'p50 ms':>7} {'p95 ms':>7} {'cell':>7} {'degen':>6} {'judge':>8}"
    )
    lines = [header]
    for s in report.arms:
        judge = "-" if s.judge_rate is None else f"{100 * s.judge_rate:.1f} %"
        worse = "-" if s.no_worse_rate is None else f"{100 * s.no_worse_rate:.1f} %"
        cell = "-" if s.model_cell_rate is None else f"{100 * s.model_cell_rate:.1f} %"
        lines.append(
            f"{s.arm:<10} {s.cases:>6} {100 * s.exact_match_rate:>10.1f} %"
            f" {s.mean_distance:>14.2f} {worse:>9} {s.p50_ms:>7.0f} {s.p95_ms:>7.0f}"
            f" {cell:>7} {s.degenerate:>6} {judge:>8}"
        )
    lines.append("")
    lines.append("chosen from (cases, of them exact):")
    for s in report.arms:
        parts = [f"{src} {chosen} ({right})" for src, (chosen, right) in s.sources.items()]
        lines.append(f"  {s.arm:<10} " + ", ".join(parts))
    return "\n".join(lines) + "\n"


def plot(
    report: EvalReport | Sequence[tuple[str, EvalReport]],
    path: Path | str,
    *,
    force: bool = False,
) -> None:
    """Write a PNG of accuracy vs examples seen, one line per arm: the exact-match rate
    and the mean argument distance over the last WINDOW cases — one column per dataset
    when given `(name, report)` pairs. Written atomically (as every user's file is:
    `notebook.write_atomic`; a read-only file only with `force`). EvalError if it cannot
    be written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    named = [("", report)] if isinstance(report, EvalReport) else list(report)
    figure = Figure(figsize=(8 * len(named), 7), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas: PNG output, no display needed
    grid = figure.subplots(2, len(named), sharex="col", squeeze=False)
    for column, (name, one) in enumerate(named):
        exact, distance = grid[0][column], grid[1][column]
        for summary in one.arms:
            xs, rates, distances = _per_step(summary.curve)
            label = f"{summary.arm} ({100 * summary.exact_match_rate:.1f} % overall)"
            exact.plot(xs, rates, marker=".", label=label)
            label = f"{summary.arm} ({summary.mean_distance:.2f} overall)"
            distance.plot(xs, distances, marker=".", label=label)
        if name:
            exact.set_title(name)
        exact.set_ylabel(f"exact match, last {WINDOW} cases (%)")
        exact.set_ylim(0, 100)
        distance.set_ylabel(f"argument distance, last {WINDOW} cases")
        distance.set_ylim(bottom=0)
        distance.set_xlabel("examples learned (runbooks replayed in order)")
        for axes in (exact, distance):
            axes.grid(alpha=0.3)
            axes.legend()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=120)
    try:
        write_atomic(path, png.getvalue(), force=force)
    except NotebookError as exc:
        raise EvalError(str(exc)) from None


def _per_step(curve: Sequence[CurvePoint]) -> tuple[list[int], list[float], list[float]]:
    """One point per number of examples seen: the rates after the last case predicted
    with that many (every case of a runbook shares one x)."""
    last: dict[int, tuple[float, float]] = {}
    for point in curve:
        last[point.examples_seen] = (
            100 * point.rolling_exact_match_rate,
            point.rolling_mean_distance,
        )
    return list(last), [r for r, _ in last.values()], [d for _, d in last.values()]
