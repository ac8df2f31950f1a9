"""The optional LLM judge of `cairn eval`: does a predicted cell do what the expected one
does? Exact match misses equivalent commands (flags in another order, `-n` for
`--namespace`); the judge is asked only about predictions that are not exact (see
`_eval._Replay._judge`), with temperature 0 and a one-word answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..llm import Message, Model, Options, Request, run_sync
from ._errors import CopilotError
from ._query import query_text
from ._types import ContextCell

SYSTEM = (
    "You compare two shell cells of an operations runbook. Answer YES if the predicted "
    "cell would have the same effect as the expected cell in this situation (the same "
    "commands, resources, namespaces and options, in any spelling or order), otherwise "
    "NO. Answer with one word: YES or NO."
)


class JudgeError(CopilotError):
    """The judge's model failed or did not answer YES or NO."""


def verdict(text: str) -> bool:
    """YES → True, NO → False (the first word, any case); JudgeError otherwise."""
    words = text.strip().split()
    word = words[0].strip(".,:;!*`\"'").upper() if words else ""
    if word in ("YES", "NO"):
        return word == "YES"
    raise JudgeError(f"the judge answered {text.strip()[:80]!r}, not YES or NO")


def llm_judge(model: Model) -> _Judge:
    return _Judge(model)


class _Judge:
    """judge(expected, predicted, context) -> bool, asking `model`."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def __call__(self, expected: str, predicted: str, context: Sequence[ContextCell]) -> bool:
        from ..llm import LLMError

        situation = query_text(context, len(context))
        user = (
            f"Situation (the runbook just before the cell):\n{situation or '(start)'}\n\n"
            f"Expected cell:\n```sh\n{expected.strip()}\n```\n\n"
            f"Predicted cell:\n```sh\n{predicted.strip()}\n```\n\n"
            "Same effect? YES or NO."
        )
        request = Request(
            (Message("system", SYSTEM), Message("user", user)),
            options=Options(temperature=0.0, max_tokens=4),
        )
        try:
            answer = run_sync(self.model.generate(request))
        except LLMError as exc:
            raise JudgeError(f"the judge failed: {exc}") from None
        return verdict(answer.text)
