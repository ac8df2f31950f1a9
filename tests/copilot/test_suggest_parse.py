"""Post-processing of a model's reply into suggested cells (after Foyle)."""

from __future__ import annotations

from cairn.copilot._suggest import parse_reply


def test_prose_then_the_first_code_cell_and_nothing_after() -> None:
    reply = (
        "Check the pods first.\n\n```sh\nkubectl -n lf-prod get pods\n```\n\n"
        "Then the logs:\n\n```sh\nkubectl logs deploy/x\n```\n"
    )
    cells = parse_reply(reply)
    assert [(c.kind, c.source) for c in cells] == [
        ("markup", "Check the pods first.\n"),
        ("code", "kubectl -n lf-prod get pods\n"),
    ]
    assert cells[1].language == "sh"
    assert len({c.id for c in cells}) == 2


def test_a_reply_that_continues_a_prefilled_fence() -> None:
    cells = parse_reply("df -h /var\n```\nmore text", prefill="```sh\n")
    assert [(c.kind, c.source) for c in cells] == [("code", "df -h /var\n")]


def test_a_reply_cut_off_inside_the_fence_still_counts() -> None:
    cells = parse_reply("```bash\nsystemctl status nginx", language="sh")
    assert [(c.kind, c.source, c.language) for c in cells] == [
        ("code", "systemctl status nginx\n", "bash")
    ]


def test_empty_cells_are_dropped_and_no_code_means_no_suggestion() -> None:
    assert parse_reply("```sh\n\n```\n\n```sh\nuptime\n```")[0].source == "uptime\n"
    assert parse_reply("I am not sure what to do next.") == []
    assert parse_reply("") == []
    assert parse_reply("\x00\x01garbage```") == []
