"""Exact match and the argument-level edit distance (Foyle TN003)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cairn.copilot._analyze import Analyzer
from cairn.copilot._edits import normalize as edits_normalize
from cairn.copilot._metrics import arg_distance, commands, exact_match, normalize
from cairn.copilot._traces import get_trace
from cairn.store import open_store

from ._events import EventLog, ran, suggestion

# Text that exercises the tokenizer: quotes, escapes, separators, flags, newlines.
shellish = st.text(alphabet=" \t\n\r-=|&;'\"\\$()#<>abkn01/.", max_size=60)
words = st.sampled_from(
    ["kubectl", "get", "pods", "-n", "prod", "--context", "lf-prod", "-o=wide", "|", "&&", ";"]
)
commandish = st.lists(words, max_size=12).map(" ".join)
cells = st.one_of(shellish, commandish)


# -- normalize / exact_match -------------------------------------------------------


def test_normalize_collapses_spaces_and_tabs_and_strips() -> None:
    assert normalize("  kubectl\t get   pods  \n") == "kubectl get pods"


def test_normalize_unifies_line_endings_and_drops_trailing_spaces_per_line() -> None:
    assert normalize("a  \r\nb\t\rc") == "a\nb\nc"


def test_normalize_drops_a_leading_dollar_prompt_per_line() -> None:
    assert normalize("$ kubectl get pods\n$ kubectl get svc") == "kubectl get pods\nkubectl get svc"


def test_normalize_keeps_a_dollar_that_is_not_a_prompt() -> None:
    assert normalize("echo $HOME") == "echo $HOME"
    assert normalize("$HOME/bin/tool") == "$HOME/bin/tool"


def test_exact_match_ignores_whitespace_and_prompt_only() -> None:
    assert exact_match("kubectl get pods -n prod\n", "$ kubectl  get pods -n prod")
    assert not exact_match("kubectl get pods -n prod", "kubectl get pods -n dev")


@given(cells)
def test_normalize_is_idempotent(cell: str) -> None:
    assert normalize(normalize(cell)) == normalize(cell)


# -- arg_distance: properties --------------------------------------------------------


@given(cells)
def test_distance_to_itself_is_zero(cell: str) -> None:
    assert arg_distance(cell, cell) == 0


@given(cells, cells)
def test_distance_is_symmetric_and_non_negative(a: str, b: str) -> None:
    d = arg_distance(a, b)
    assert d >= 0
    assert d == arg_distance(b, a)


@given(cells, cells)
def test_exact_match_implies_zero_distance(a: str, b: str) -> None:
    if exact_match(a, b):
        assert arg_distance(a, b) == 0


@given(cells)
def test_distance_to_nothing_is_the_number_of_arguments(cell: str) -> None:
    assert arg_distance(cell, "") == sum(c.size for c in commands(cell))


# -- arg_distance: realistic commands --------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("kubectl -n a get pods", "kubectl get pods -n a"),
        ("kubectl get pods --namespace=a -o wide", "kubectl get pods -o wide --namespace a"),
        ("psql -h db.internal -U ops -c 'select 1'", "psql -c 'select 1' -U ops -h db.internal"),
        ("kubectl  get pods", "$ kubectl get pods"),
    ],
)
def test_flag_order_and_spelling_of_values_do_not_count(a: str, b: str) -> None:
    assert arg_distance(a, b) == 0


def test_a_different_flag_value_costs_one() -> None:
    assert arg_distance("kubectl get pods -n prod", "kubectl get pods -n staging") == 1


def test_a_missing_or_extra_flag_costs_one() -> None:
    assert arg_distance("kubectl get pods -n prod", "kubectl get pods") == 1
    assert arg_distance("kubectl get pods", "kubectl get pods -o wide") == 1
    assert arg_distance("kubectl get pods -A", "kubectl get pods") == 1


def test_positional_arguments_compare_by_token_levenshtein() -> None:
    assert arg_distance("kubectl get pods", "kubectl get svc") == 1  # substitute
    assert arg_distance("kubectl get pods", "kubectl get pods web-1") == 1  # insert
    assert arg_distance("kubectl rollout undo deploy/api", "kubectl undo deploy/api") == 1
    assert arg_distance("kubectl get pods", "kubectl pods get") == 2  # order matters


def test_long_and_short_spellings_are_different_flags() -> None:
    # As TN003 says: `-n` and `--namespace` are two flags, one missing, one extra.
    assert arg_distance("kubectl get pods -n a", "kubectl get pods --namespace a") == 2


def test_a_repeated_flag_keeps_all_its_values_in_any_order() -> None:
    a = "curl -H 'Accept: json' -H 'X-Trace: 1' https://api.internal/health"
    b = "curl -H 'X-Trace: 1' -H 'Accept: json' https://api.internal/health"
    assert arg_distance(a, b) == 0
    assert arg_distance(a, "curl -H 'Accept: json' https://api.internal/health") == 1


def test_quoted_arguments_are_one_token() -> None:
    a = """psql -h db -c "select count(*) from jobs where state = 'stuck'" """
    b = """psql -h db -c "select count(*) from jobs where state = 'done'" """
    assert arg_distance(a, b) == 1


def test_double_dash_ends_the_flags() -> None:
    a = "kubectl exec -it api-0 -- psql -c 'select 1'"
    # `-it` reads `api-0` as its value (a guess, the same on both sides); after `--`,
    # `-c` is an argument of psql, not a flag of kubectl.
    assert commands(a)[0].positional == ("kubectl", "exec", "psql", "-c", "select 1")
    assert commands(a)[0].flags == {"-it": "api-0"}
    assert arg_distance(a, "kubectl exec -it api-0 -- psql -c 'select 2'") == 1


def test_pipelines_compare_command_by_command() -> None:
    a = "kubectl logs deploy/api --since=15m | jq -r .msg | sort | uniq -c"
    b = "kubectl logs deploy/api --since=1h | jq -r .msg | sort | uniq -c"
    assert len(commands(a)) == 4
    assert arg_distance(a, b) == 1


def test_missing_or_extra_commands_cost_their_arguments() -> None:
    full = "kubectl rollout undo deploy/api && kubectl rollout status deploy/api --timeout=5m"
    first = "kubectl rollout undo deploy/api"
    # The second command has 4 arguments: kubectl, rollout, status, deploy/api + 1 flag.
    assert arg_distance(full, first) == 5
    assert arg_distance(first, full) == 5


def test_an_inserted_command_in_the_middle_costs_only_itself() -> None:
    a = "cd /srv/app; make build; make deploy"
    b = "cd /srv/app; git pull; make build; make deploy"
    assert arg_distance(a, b) == 2


def test_newlines_separate_commands_and_continuations_join_them() -> None:
    a = "kubectl get pods \\\n  -n prod\nkubectl get svc -n prod"
    b = "kubectl get pods -n prod; kubectl get svc -n prod"
    assert arg_distance(a, b) == 0


def test_comments_are_ignored() -> None:
    a = "# first, the pods\nkubectl get pods -n prod  # all of them"
    assert arg_distance(a, "kubectl get pods -n prod") == 0


def test_a_quote_spanning_lines_stays_one_argument() -> None:
    a = 'psql -c "select 1;\nselect 2"'
    assert commands(a)[0].flags == {"-c": "select 1;\nselect 2"}
    assert arg_distance(a, 'psql -c "select 1"') == 1


@pytest.mark.parametrize("broken", ['echo "unterminated', "echo 'half", "ls \\"])
def test_unparsable_input_falls_back_to_whitespace_tokens(broken: str) -> None:
    assert arg_distance(broken, broken) == 0
    assert arg_distance(broken, "echo") >= 1
    assert commands(broken)[0].positional[0] in {"echo", "ls"}


def test_an_empty_prediction_costs_every_argument_of_the_expected_cell() -> None:
    assert arg_distance("kubectl --context lf-prod -n lf-prod get pods -l app=api", "") == 6


# -- one meaning of "the same cell" ----------------------------------------------------


@pytest.mark.parametrize(
    ("suggested", "executed"),
    [
        ("kubectl get pods -n web", "$ kubectl get pods -n web"),  # a copied prompt
        ("cd /srv\nls", "  cd /srv\n\n  ls  "),  # indentation and a blank line
        ("echo a\tb", "echo a b\r\n"),
        ("kubectl get pods", "kubectl get pods -n web"),  # really different
    ],
)
def test_the_analyzer_and_the_eval_agree_on_what_the_same_cell_is(
    tmp_path: Path, suggested: str, executed: str
) -> None:
    """A cell the analyzer counts as "run as suggested" is an exact match in the eval,
    and the other way round (they once normalised differently)."""
    events = EventLog(tmp_path / "logs")
    events.write(suggestion("T1", ("C1", suggested), t=0), ran("C1", executed, t=1))
    kv = open_store(tmp_path / "cairn.db")
    try:
        Analyzer(kv, events.directory).run()
        trace = get_trace(kv, "C1")
    finally:
        kv.close()
    assert trace is not None
    assert (trace.outcome == "as_suggested") == exact_match(suggested, executed)
    assert exact_match(suggested, executed) is (suggested != "kubectl get pods")


@given(cells, cells)
def test_exact_match_is_equality_under_the_one_normalize(a: str, b: str) -> None:
    assert exact_match(a, b) == (edits_normalize(a) == edits_normalize(b))
    assert edits_normalize(edits_normalize(a)) == edits_normalize(a)
