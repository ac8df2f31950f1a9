"""Ranking: the features a candidate is scored by, and how they order candidates."""

from __future__ import annotations

import math

from cairn.copilot._candidates import Candidates
from cairn.copilot._rank import FEATURES, confidence, features, rank


def _candidates() -> Candidates:
    found = Candidates()
    found.add("kubectl -n web get pods", "example", origin="e1", similarity=0.9, rank=0)
    found.add("kubectl  -n web get pods\n", "sequence", origin="e2", similarity=0.4, rank=1)
    found.add("helm list -A", "example", origin="e3", similarity=0.5, rank=1, foreign=2)
    found.add("df -h", "model")
    return found


def test_equal_commands_merge_with_their_sources_support_and_best_similarity() -> None:
    first = _candidates().all()[0]
    assert first.text == "kubectl -n web get pods\n"
    assert first.sources == {"example", "sequence"}
    assert (first.support, first.similarity, first.rank) == (2, 0.9, 0)
    assert first.origins == ["e1", "e2"]


def test_every_feature_is_computed_for_every_candidate() -> None:
    rows = features(_candidates().all(), "df -h\n", "Check the `pods` of web.", [-3.0, -9.0, -1.0])
    assert all(set(row) == set(FEATURES) for row in rows)
    pods, helm, df = rows
    assert pods["from_example"] == pods["from_sequence"] == 1.0 and pods["from_model"] == 0.0
    assert pods["support"] == math.log1p(2)
    assert helm["foreign"] == 2.0
    assert df["model_distance"] == 0.0 and pods["model_distance"] > 0
    assert pods["quoted"] == 1.0 and helm["quoted"] == 0.0
    assert pods["prose"] > helm["prose"]
    assert df["likelihood"] == 0.0 and pods["likelihood"] == -2.0  # against the likeliest
    # The candidate closest to the others has the lowest expected distance to them.
    assert pods["consensus"] < helm["consensus"]


def test_rank_orders_by_score_and_confidence_follows_the_score() -> None:
    weights = {name: 0.0 for name in FEATURES} | {"similarity": 1.0}
    ranked = rank(_candidates().all(), None, weights=weights, calibration=(4.0, -2.0))
    assert [r.candidate.text for r in ranked][:2] == ["kubectl -n web get pods\n", "helm list -A\n"]
    assert ranked[0].confidence > ranked[1].confidence > ranked[2].confidence
    assert confidence(0.5, (4.0, -2.0)) == 0.5
