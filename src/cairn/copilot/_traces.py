"""Traces and per-model totals as the store keeps them: what became of each suggested
code cell (`Trace`), a model's totals (`ModelStats`), their encoding, and reading them
back. The analyzer (`_analyze`) writes both in one batch; damaged state is counted,
never fatal: a trace that cannot be read is left out, and totals that cannot be read are
counted again from the traces.

Layout (keys encoded with `ordered`):
  ("copilot.trace", cell_id)     → JSON array: a `Trace`'s fields in order (compact: a
                                   big pass writes hundreds of thousands of them)
  ("copilot.stats", model)       → JSON totals (see `ModelStats`)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import orjson

from ..store import KV, Batch, ordered
from ._errors import AnalyzeError

log = logging.getLogger(__name__)

Outcome = Literal["as_suggested", "edited", "not_executed"]

TRACE = ordered.encode("copilot.trace")  # the prefix of every trace's key
_TRACE_END = TRACE + ordered.encode(ordered.Inf)
_STATS = ordered.encode("copilot.stats")
_STATS_END = _STATS + ordered.encode(ordered.Inf)


# In a pass a trace is a plain dict of strings, numbers and None (the JSON it is stored
# as): the cyclic GC does not track such dicts, and a big pass holds hundreds of thousands.
Record = dict[str, Any]


@dataclass(frozen=True)
class Trace:
    """What became of one suggested code cell (the latest execution decides the outcome)."""

    cell_id: str
    trace_id: str
    model: str
    suggested: str  # the suggested source
    suggested_at: str  # the suggestion event's time
    notebook_path: str | None = None
    accepted: bool = False
    outcome: Outcome = "not_executed"
    executions: int = 0
    edit_distance: int | None = None  # tokens changed in the latest execution (0: as suggested)
    executed_source: str | None = None  # the latest execution's source
    exit_code: int | None = None  # the latest execution's
    seconds_to_execution: float | None = None  # from the suggestion to the first execution


def new_record(cell_id: str, trace_id: str, model: str, source: str, at: str) -> Record:
    """The trace of a cell just suggested, its keys in `Trace`'s field order."""
    return {
        "cell_id": cell_id,
        "trace_id": trace_id,
        "model": model,
        "suggested": source,
        "suggested_at": at,
        "notebook_path": None,
        "accepted": False,
        "outcome": "not_executed",
        "executions": 0,
        "edit_distance": None,
        "executed_source": None,
        "exit_code": None,
        "seconds_to_execution": None,
    }


_FIELDS = tuple(f.name for f in fields(Trace))


_NONE = type(None)
# The JSON types of a stored trace's values, in `_FIELDS` order.
_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),
    (str,),
    (str,),
    (str,),
    (str,),
    (str, _NONE),
    (bool,),
    (str,),
    (int,),
    (int, _NONE),
    (str, _NONE),
    (int, _NONE),
    (int, float, _NONE),
)
_OUTCOMES = frozenset(("as_suggested", "edited", "not_executed"))


def load_record(raw: bytes) -> Record:
    """A stored trace as a record. Raises AnalyzeError when it is damaged."""
    try:
        values = orjson.loads(raw)
    except ValueError:
        values = None
    if (
        not isinstance(values, list)
        or not 5 <= len(values) <= len(_FIELDS)
        or not all(isinstance(v, t) for v, t in zip(values, _TYPES, strict=False))
    ):
        raise AnalyzeError(f"a stored trace is damaged: {raw[:80]!r}")
    record = new_record(*values[:5])
    record.update(zip(_FIELDS[5:], values[5:], strict=False))  # newer fields: defaults
    if record["outcome"] not in _OUTCOMES:
        raise AnalyzeError(f"a stored trace is damaged: {raw[:80]!r}")
    return record


def _to_trace(record: Record) -> Trace:
    return Trace(**record)


def contribution(record: Record) -> tuple[int, ...]:
    """A trace's share of its model's totals, in `ModelStats._COUNTERS` order."""
    outcome = record["outcome"]
    exit_code = record["exit_code"]
    edited = outcome == "edited"
    return (
        1,
        1 if record["accepted"] else 0,
        1 if outcome == "as_suggested" else 0,
        1 if edited else 0,
        1 if outcome == "not_executed" else 0,
        1 if exit_code is not None and exit_code != 0 else 0,
        (record["edit_distance"] or 0) if edited else 0,
    )


@dataclass(frozen=True)
class ModelStats:
    """A model's suggestion totals: cells shown (suggested) and what became of them."""

    model: str
    shown: int = 0
    accepted: int = 0
    executed_as_suggested: int = 0
    edited: int = 0
    not_executed: int = 0
    failed: int = 0  # executed (latest run) with a non-zero exit code
    edit_distance_sum: int = 0  # over the edited ones

    # What a model's row shows, in order; the totals also keep the edit distance sum.
    COUNTS = ("shown", "accepted", "executed_as_suggested", "edited", "not_executed", "failed")
    _COUNTERS = (*COUNTS, "edit_distance_sum")

    @property
    def mean_edit_distance(self) -> float | None:
        return self.edit_distance_sum / self.edited if self.edited else None

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None

    def counters(self) -> list[int]:
        return [int(getattr(self, name)) for name in self._COUNTERS]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"model": self.model}
        data.update(zip(self._COUNTERS, self.counters(), strict=True))
        data["mean_edit_distance"] = self.mean_edit_distance
        data["acceptance_rate"] = self.acceptance_rate
        return data

    @classmethod
    def from_counters(cls, model: str, values: Sequence[int]) -> ModelStats:
        return cls(model, *values)


def stats_key(model: str) -> bytes:
    return _STATS + ordered.encode(model)


def trace_key(cell_id: str) -> bytes:
    return TRACE + ordered.encode_str(cell_id)


def load_stats(model: str, raw: bytes | None) -> ModelStats:
    """A model's stored totals (zero when none are stored). Raises AnalyzeError when they
    are damaged."""
    if raw is None:
        return ModelStats(model)
    try:
        data = json.loads(raw)
        return ModelStats.from_counters(model, [int(data[k]) for k in ModelStats._COUNTERS])
    except (ValueError, TypeError, KeyError):
        raise AnalyzeError(f"the stored totals of {model!r} are damaged") from None


def dump_stats(totals: Sequence[int]) -> bytes:
    """Totals in `ModelStats._COUNTERS` order as they are stored."""
    data = dict(zip(ModelStats._COUNTERS, totals, strict=True))
    return json.dumps(data, sort_keys=True).encode()


def recount(kv: KV, model: str) -> list[int]:
    """A model's totals counted from its stored traces (damaged ones left out), in
    `ModelStats._COUNTERS` order: what stands in for totals that cannot be read."""
    totals = [0] * len(ModelStats._COUNTERS)
    for record in _records(kv):
        if record["model"] == model:
            for i, share in enumerate(contribution(record)):
                totals[i] += share
    return totals


def stats(kv: KV) -> dict[str, ModelStats]:
    """Per-model totals, by model name (damaged totals are counted again from traces)."""
    out: dict[str, ModelStats] = {}
    for key, raw in kv.scan(_STATS, _STATS_END):
        model = ordered.decode(key, str, str)[1]
        try:
            out[model] = load_stats(model, raw)
        except AnalyzeError as exc:
            log.warning("%s: counting them again from the traces", exc)
            out[model] = ModelStats.from_counters(model, recount(kv, model))
    return out


def get_trace(kv: KV, cell_id: str) -> Trace | None:
    """The trace of a suggested cell, or None. Raises AnalyzeError when it is damaged."""
    raw = kv.get(trace_key(cell_id))
    return None if raw is None else _to_trace(load_record(raw))


def _records(kv: KV) -> Iterator[Record]:
    for key, raw in kv.scan(TRACE, _TRACE_END):
        try:
            yield load_record(raw)
        except AnalyzeError as exc:
            log.warning("skipping %r: %s", key, exc)


def traces(kv: KV) -> Iterator[Trace]:
    """Every trace, by cell id (damaged ones are logged and left out)."""
    for record in _records(kv):
        yield _to_trace(record)


def any_stored(kv: KV) -> bool:
    """Whether any trace is stored."""
    return next(kv.scan(TRACE, _TRACE_END), None) is not None


def delete_all(batch: Batch) -> None:
    """Add to `batch` the deletion of every trace and every model's totals."""
    batch.delete_range(TRACE, _TRACE_END)
    batch.delete_range(_STATS, _STATS_END)


__all__ = [
    "TRACE",
    "ModelStats",
    "Outcome",
    "Record",
    "Trace",
    "any_stored",
    "contribution",
    "delete_all",
    "dump_stats",
    "get_trace",
    "load_record",
    "load_stats",
    "new_record",
    "recount",
    "stats",
    "stats_key",
    "trace_key",
    "traces",
]
