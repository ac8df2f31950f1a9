"""Fit the suggestion ranker's weights (`cairn.copilot._rank.WEIGHTS`) on an eval report.

    cairn eval eval/runbooks --arms learning --candidates --json > report.json
    .venv/bin/python eval/fit_ranker.py report.json [--arm learning]

It reads every case's candidates with their features, and searches the weights that
maximise `exact match rate - DISTANCE_COST * mean argument distance` of the top-ranked
candidate (coordinate ascent from the current weights, a grid of steps per weight), then
fits the confidence calibration (a logistic curve from score to "exactly right"). It
prints both, to be copied into `_rank.py`, and what they give against the current ones
and against the best any ranking could do (the oracle).

Fit on `eval/runbooks` only: `eval/heldout` is never used to tune anything.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence

from cairn.copilot._rank import CALIBRATION, FEATURES, WEIGHTS

DISTANCE_COST = 0.02  # one point of mean distance is worth two points of exact match
STEPS = (-2.0, -1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0)

Case = list[dict[str, object]]


def _top(case: Case, weights: Mapping[str, float]) -> dict[str, object]:
    def score(candidate: dict[str, object]) -> float:
        features = candidate["features"]
        assert isinstance(features, dict)
        return sum(weights.get(k, 0.0) * float(v) for k, v in features.items())

    return max(case, key=score)


def objective(cases: Sequence[Case], weights: Mapping[str, float]) -> tuple[float, float, float]:
    exact = distance = 0.0
    for case in cases:
        top = _top(case, weights)
        exact += bool(top["exact"])
        distance += float(top["distance"])  # type: ignore[arg-type]
    n = len(cases)
    return exact / n - DISTANCE_COST * distance / n, exact / n, distance / n


def fit(cases: Sequence[Case], start: Mapping[str, float], rounds: int = 6) -> dict[str, float]:
    weights = dict(start)
    best = objective(cases, weights)[0]
    for _ in range(rounds):
        improved = False
        for name in FEATURES:
            for step in STEPS:
                trial = dict(weights)
                trial[name] = round(trial.get(name, 0.0) + step, 3)
                value = objective(cases, trial)[0]
                if value > best + 1e-9:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return weights


def calibrate(cases: Sequence[Case], weights: Mapping[str, float]) -> tuple[float, float]:
    """Logistic regression of "the top candidate is exact" on its score (gradient steps)."""
    points = []
    for case in cases:
        top = _top(case, weights)
        features = top["features"]
        assert isinstance(features, dict)
        s = sum(weights.get(k, 0.0) * float(v) for k, v in features.items())
        points.append((s, 1.0 if top["exact"] else 0.0))
    a, b = CALIBRATION
    for _ in range(3000):
        ga = gb = 0.0
        for s, y in points:
            p = 1.0 / (1.0 + math.exp(-(a * s + b)))
            ga += (p - y) * s
            gb += p - y
        a -= 0.5 * ga / len(points)
        b -= 0.5 * gb / len(points)
    return round(a, 3), round(b, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("--arm", default="learning")
    args = parser.parse_args()
    with open(args.report, encoding="utf-8") as f:
        report = json.load(f)
    cases = [
        list(r["candidates"])
        for r in report["results"]
        if r["arm"] == args.arm and r.get("candidates")
    ]
    if not cases:
        print(f"no candidates for arm {args.arm!r}: run cairn eval with --candidates", file=sys.stderr)
        return 2
    oracle_exact = sum(any(c["exact"] for c in case) for case in cases) / len(cases)
    oracle_distance = sum(min(float(c["distance"]) for c in case) for case in cases) / len(cases)
    current = objective(cases, WEIGHTS)
    weights = fit(cases, WEIGHTS)
    fitted = objective(cases, weights)
    print(f"cases with candidates: {len(cases)}")
    print(f"current weights: exact {current[1]:.1%}, mean distance {current[2]:.2f}")
    print(f"fitted weights:  exact {fitted[1]:.1%}, mean distance {fitted[2]:.2f}")
    print(f"oracle:          exact {oracle_exact:.1%}, mean distance {oracle_distance:.2f}")
    print("WEIGHTS = " + json.dumps(weights, indent=4))
    print(f"CALIBRATION = {calibrate(cases, weights)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
