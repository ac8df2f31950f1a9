"""Adapting a learned command to the runbook at hand: names by the roles they play,
values printed by earlier cells, time windows from the prose — and nothing else."""

from __future__ import annotations

from cairn.copilot import ContextCell, Example, OutputPart
from cairn.copilot._adapt import adapt, roles, template
from cairn.copilot._situation import situation


def _example(cell: str, commands: tuple[str, ...], title: str = "", prose: str = "") -> Example:
    return Example("e1", f"{title}\n{prose}", cell, title=title, prose=prose, commands=commands)


def _here(*cells: ContextCell) -> list[ContextCell]:
    return list(cells)


def md(text: str) -> ContextCell:
    return ContextCell("markup", text)


def sh(text: str, output: str = "") -> ContextCell:
    outputs = (OutputPart("output", output),) if output else ()
    return ContextCell("code", text, "sh", outputs=outputs, exit_code=0 if output else None)


def test_names_that_play_the_same_part_are_rewritten() -> None:
    example = _example(
        "kubectl --context lf-prod-eu1 -n payments rollout restart deploy/payments-api\n",
        ("kubectl --context lf-prod-eu1 -n payments get pods -l app=payments-api",),
    )
    cells = _here(
        md("# search-indexer is stuck"),
        sh("kubectl --context lf-staging-eu1 -n search get pods -l app=search-indexer"),
        md("Restart it."),
    )
    adapted = adapt(example, situation(cells, len(cells)))
    assert adapted.text == (
        "kubectl --context lf-staging-eu1 -n search rollout restart deploy/search-indexer\n"
    )
    assert adapted.foreign == 0


def test_a_name_inside_a_longer_name_follows_but_words_and_flags_do_not() -> None:
    example = _example(
        "kubectl -n web get configmap dispatch-api-config -o wide\n",
        ("kubectl -n web logs deploy/dispatch-api -o wide",),
    )
    cells = _here(sh("kubectl -n web logs deploy/ledger -o json"))
    adapted = adapt(example, situation(cells, len(cells)))
    # `dispatch-api` → `ledger` (a name), but `wide` is an output format, not a name.
    assert adapted.text == "kubectl -n web get configmap ledger-config -o wide\n"


def test_a_value_printed_earlier_replaces_the_one_of_the_example() -> None:
    example = _example(
        "kubectl -n prod logs billing-cron-29916120-abcde --previous\n",
        ("kubectl -n prod get pods -l job-name=billing-cron-29916120",),
    )
    printed = (
        "NAME                          READY   STATUS      RESTARTS   AGE\n"
        "billing-cron-29919000-7xq4m   0/1     Completed   0          5h\n"
        "billing-cron-29919000-kc9tz   0/1     Error       0          4h\n"
    )
    cells = _here(sh("kubectl -n prod get pods -l job-name=billing-cron-29919000", printed))
    adapted = adapt(example, situation(cells, len(cells)))
    # The pod on the line that reports a failure, not the first one printed.
    assert adapted.text == "kubectl -n prod logs billing-cron-29919000-kc9tz --previous\n"


def test_the_time_window_of_the_prose_sets_since() -> None:
    example = _example("kubectl -n prod logs deploy/api --since=15m\n", ())
    cells = _here(md("Errors from the consumers over the last 30 minutes."))
    assert adapt(example, situation(cells, len(cells))).text == (
        "kubectl -n prod logs deploy/api --since=30m\n"
    )


def test_an_unrelated_runbook_leaves_the_example_as_it_is_and_counts_its_foreign_names() -> None:
    example = _example("psql -h db-7.internal -c 'select 1'\n", ("ssh lf-edge-02 uptime",))
    cells = _here(md("# Weekly report"), sh("git log --oneline -5"))
    adapted = adapt(example, situation(cells, len(cells)))
    assert adapted.text == example.cell
    assert adapted.replaced == ()
    assert adapted.foreign == 1  # db-7.internal is mentioned nowhere here


def test_roles_read_flags_pairs_resources_and_positions() -> None:
    found = roles(
        [
            "kubectl --context=ctx-1 -n ns get pods -l app=api,tier=web deploy/api",
            "ssh host-3 'uptime'",
            """curl -G http://p/q --data-urlencode 'query=up{instance="db-1"}'""",
        ]
    )
    assert found["--context"] == "ctx-1"
    assert found["-n"] == "ns"
    assert found["app="] == "api" and found["tier="] == "web"
    assert found["deploy/"] == "api"
    assert found["ssh#1"] == "host-3"
    assert found["instance="] == "db-1"


def test_template_blanks_names_so_alike_commands_match() -> None:
    a = template("kubectl --context lf-prod-eu1 -n lf-prod rollout undo deploy/ledger")
    b = template("kubectl --context lf-staging-eu1 -n lf-staging rollout undo deploy/notify")
    assert a == b == "kubectl --context <> -n <> rollout undo deploy/<>"
    assert template("git status") != a
