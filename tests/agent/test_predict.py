"""Predictors: rules as data (with clear errors for a malformed entry) and the history of
earlier turns."""

from __future__ import annotations

import pytest

from cairn.agent import AgentError, Guess, HistoryPredictor, RulePredictor


def test_rules_match_the_message_and_fill_arguments_from_groups() -> None:
    rules = RulePredictor.from_config(
        [
            {"match": r"disk (\w+)", "tool": "search_docs", "arguments": {"query": "disk $1"}},
            {"match": "recent", "tool": "recent_events"},
        ]
    )
    assert rules.predict("Is DISK full on db1?") == [
        Guess("search_docs", {"query": "disk full"}, "rules")
    ]
    assert rules.predict("what ran recently") == [Guess("recent_events", {}, "rules")]
    assert rules.predict("hello") == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"tool": "x"}, "entry 1: give `match`"),
        ({"match": "(", "tool": "x"}, "entry 1: bad regexp"),
        ({"match": "a", "tool": "x", "arguments": "no"}, "entry 1: give `match`"),
    ],
)
def test_a_malformed_rule_is_one_clear_error(entry: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(AgentError, match=message):
        RulePredictor.from_config([entry])


def test_history_predicts_what_followed_similar_messages_and_survives_a_round_trip() -> None:
    history = HistoryPredictor(threshold=0.4)
    history.learn("is the disk on db1 full", [("search_docs", '{"query": "disk full"}')])
    history.learn("restart the queue worker", [("run_cell", '{"cell": "restart"}')])
    assert history.predict("is the disk on db2 full") == [
        Guess("search_docs", '{"query": "disk full"}', "history")
    ]
    assert history.predict("what is the weather") == []
    copy = HistoryPredictor(threshold=0.4)
    copy.loads(history.dumps())
    assert copy.predict("restart the queue worker now") == history.predict(
        "restart the queue worker now"
    )
    copy.loads(b"not json")  # a damaged history costs only its guesses
    assert copy.predict("restart the queue worker") == []
