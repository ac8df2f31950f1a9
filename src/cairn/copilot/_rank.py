"""Ranking the candidates: which one to suggest, and how sure to be of it.

Each candidate is described by a few numbers (`features`), and its score is their
weighted sum. The weights (`WEIGHTS`) and the calibration of the confidence
(`CALIBRATION`, a logistic curve from score to the chance of being exactly right) were
fitted on the bundled eval (`eval/runbooks`) with `eval/fit_ranker.py`, never on the
held-out dataset. The features:

- `from_<source>`: 1 when that source proposed it (`_candidates.SOURCES`);
- `similarity`: the best retrieval similarity among the examples that proposed it;
- `support`: how many proposals it merges (log scale) — sources that agree;
- `first`: 1 when it was a source's first proposal;
- `foreign`: names in it that this runbook never mentions (a name left over from the
  runbook it was learned in);
- `consensus`: its expected argument distance to the other candidates, weighted by
  their similarity (minimum-Bayes-risk: the candidate closest to all the others is the
  safest bet on the eval's argument distance);
- `model_distance`: its argument distance to the model's own cell (0 for that cell);
- `prose`: how many of its words the prose before the cursor uses (the step's intent:
  "the `NRestarts` property", "the PodDisruptionBudgets"), over the square root of its
  word count;
- `quoted`: how many of the prose's `quoted` words it contains;
- `likelihood`: its log-probability as the local model's reply, less the best
  candidate's (0 for the likeliest; 0 for all when the model cannot score);
- `likelihood_per_token`: the same per token of the candidate, roughly (per 4
  characters), so long candidates are not punished for their length alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._candidates import SOURCES, Candidate
from ._metrics import arg_distance

FEATURES = (
    *(f"from_{source}" for source in SOURCES),
    "similarity",
    "support",
    "first",
    "foreign",
    "consensus",
    "model_distance",
    "prose",
    "quoted",
    "likelihood",
    "likelihood_per_token",
)

# Fitted by eval/fit_ranker.py on eval/runbooks (see the module docstring).
WEIGHTS: Mapping[str, float] = {
    "from_example": 0.3,
    "from_sequence": 2.5,
    # Held below the model (fitted with it fixed): re-running an earlier cell scored
    # about as well as the model's cell on the eval, but a fresh cell is the suggestion.
    "from_runbook": -2.5,
    "from_model": -1.75,
    "similarity": 3.1,
    "support": 1.75,
    "first": -0.2,
    "foreign": -0.15,
    "consensus": -0.4,
    "model_distance": -0.05,
    "prose": 2.75,
    "quoted": 6.0,
    # Measured, and left out: with the local model's likelihoods of all candidates the
    # fitted ranker was no better on the bundled eval (5.8 % exact, 7.37 distance, with
    # or without) and a suggestion took 2.5 s instead of under 1 s.
    "likelihood": 0.0,
    "likelihood_per_token": 0.0,
}
CALIBRATION = (0.18, -3.119)  # confidence = 1 / (1 + exp(-(a * score + b)))
# Below this confidence a person is told there is no good suggestion. On the bundled eval
# the top candidate passes it in 178 of 496 cases, and those are 4.6 arguments from the
# cell that was run on average (7.4 over all cases); 20 of them exactly right.
THRESHOLD = 0.06


@dataclass(frozen=True)
class Ranked:
    """A candidate with its features, score and confidence."""

    candidate: Candidate
    features: dict[str, float]
    score: float
    confidence: float


_QUOTED = re.compile(r"`([^`\n]+)`")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")


def _prose_words(prose: str) -> tuple[frozenset[str], tuple[str, ...]]:
    quoted = tuple(q.strip() for q in _QUOTED.findall(prose) if q.strip())
    return frozenset(w.lower() for w in _WORD.findall(prose)), quoted


def features(
    candidates: Sequence[Candidate],
    model_text: str | None,
    prose: str = "",
    likelihoods: Sequence[float] | None = None,
) -> list[dict[str, float]]:
    """The features of each candidate (see the module docstring)."""
    prose_words, quoted = _prose_words(prose)
    best = max(likelihoods) if likelihoods else 0.0
    weights = [max(c.similarity, 0.05) for c in candidates]
    rows: list[dict[str, float]] = []
    distances = [[0] * len(candidates) for _ in candidates]
    for i, a in enumerate(candidates):
        for j in range(i + 1, len(candidates)):
            distances[i][j] = distances[j][i] = arg_distance(a.text, candidates[j].text)
    total = sum(weights) or 1.0
    for i, candidate in enumerate(candidates):
        row = {f"from_{source}": float(source in candidate.sources) for source in SOURCES}
        others = sum(w * distances[i][j] for j, w in enumerate(weights) if j != i)
        row.update(
            similarity=candidate.similarity,
            support=math.log1p(candidate.support),
            first=float(candidate.rank == 0),
            foreign=float(candidate.foreign),
            consensus=others / total,
            model_distance=(
                float(arg_distance(candidate.text, model_text)) if model_text is not None else 0.0
            ),
        )
        own = {w.lower() for w in _WORD.findall(candidate.text)}
        row["prose"] = len(own & prose_words) / math.sqrt(len(own) or 1)
        row["quoted"] = float(sum(q in candidate.text for q in quoted))
        if likelihoods:
            row["likelihood"] = likelihoods[i] - best
            row["likelihood_per_token"] = likelihoods[i] / max(1.0, len(candidate.text) / 4)
        else:
            row["likelihood"] = row["likelihood_per_token"] = 0.0
        rows.append(row)
    return rows


def score(row: Mapping[str, float], weights: Mapping[str, float] = WEIGHTS) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in row.items())


def confidence(value: float, calibration: tuple[float, float] = CALIBRATION) -> float:
    a, b = calibration
    return 1.0 / (1.0 + math.exp(-(a * value + b)))


def rank(
    candidates: Sequence[Candidate],
    model_text: str | None,
    prose: str = "",
    likelihoods: Sequence[float] | None = None,
    *,
    weights: Mapping[str, float] = WEIGHTS,
    calibration: tuple[float, float] = CALIBRATION,
) -> list[Ranked]:
    """The candidates, best first."""
    ranked = [
        Ranked(c, row, s, confidence(s, calibration))
        for c, row in zip(
            candidates, features(candidates, model_text, prose, likelihoods), strict=True
        )
        for s in (score(row, weights),)
    ]
    ranked.sort(key=lambda r: -r.score)
    return ranked
