"""Where recorded runs live: runs, steps and attempts as JSON records in a `cairn.store` KV
(SQLite by default, PostgreSQL to share), with the status rule enforced at write time.

Keys (ordered encoding):

    ("llmdebug", "run", run_id)                    → run record
    ("llmdebug", "step", run_id, seq)              → step record
    ("llmdebug", "attempt", run_id, step, seq)     → attempt record
    ("llmdebug", "time", Rev(started_ns), run_id)  → b""  (newest first)
    ("llmdebug", "open", run_id)                   → b""  (runs still in progress)

Every write happens inside the store's named lock "llmdebug", as one batch: reading the
stored record and replacing it only when the new status supersedes the old (or both are
still in progress) is then atomic across threads, processes and machines sharing a
PostgreSQL store. Two finishers of one step: the first wins, the second changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...store import KV, Batch, ordered
from ._data import PRIORITY, Owner, now_ns, supersedes

_P = "llmdebug"
_LOCK = "llmdebug"


def _run_key(run_id: str) -> bytes:
    return ordered.encode(_P, "run", run_id)


def _step_key(run_id: str, seq: int) -> bytes:
    return ordered.encode(_P, "step", run_id, seq)


def _attempt_key(run_id: str, step: int, seq: int) -> bytes:
    return ordered.encode(_P, "attempt", run_id, step, seq)


def _time_key(started_ns: int, run_id: str) -> bytes:
    return ordered.encode(_P, "time", ordered.Rev(started_ns), run_id)


def _open_key(run_id: str) -> bytes:
    return ordered.encode(_P, "open", run_id)


def _prefix_range(*prefix: object) -> tuple[bytes, bytes]:
    return ordered.encode(_P, *prefix), ordered.encode(_P, *prefix, ordered.Inf)


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def _load(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    value = json.loads(data)
    return value if isinstance(value, dict) else None


def _merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    """The record to store, or None to keep `old`: statuses only move forward, the first
    of equal terminal statuses wins, and in-progress records take later updates."""
    if old is None:
        return new
    old_status, new_status = old.get("status", ""), new.get("status", "")
    if supersedes(new_status, old_status):
        return new
    if new_status == old_status == "in_progress":
        return new
    return None


@dataclass
class Write:
    """What the recorder hands the store: records to merge, in order."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.runs or self.steps or self.attempts)


class RecordStore:
    """Recorded runs in a KV store; safe to share between processes."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv

    # -- writing -------------------------------------------------------------------------

    def write(self, write: Write) -> None:
        """Merge the records atomically (see the module docstring for the rule)."""
        if not write:
            return
        self.kv.lock(_LOCK)
        try:
            batch = self.kv.batch()
            grown: dict[str, int] = {}  # run id -> bytes added to the store
            for step in write.steps:
                key = _step_key(step["run_id"], step["seq"])
                self._put(batch, key, step, grown, step["run_id"])
            for attempt in write.attempts:
                key = _attempt_key(attempt["run_id"], attempt["step"], attempt["seq"])
                old = self.kv.get(key)
                data = _dump(attempt)
                batch.set(key, data)
                run_id = attempt["run_id"]
                grown[run_id] = grown.get(run_id, 0) + len(data) - len(old or b"")
            runs = {run["id"]: run for run in write.runs}  # the latest snapshot of each
            for run_id in set(grown) - set(runs):
                stored = _load(self.kv.get(_run_key(run_id)))
                if stored is not None:
                    runs[run_id] = stored
            for run_id, run in runs.items():
                self._put_run(batch, run, grown.get(run_id, 0))
            batch.apply()
        finally:
            self.kv.unlock(_LOCK)

    def _put(
        self, batch: Batch, key: bytes, record: dict[str, Any], grown: dict[str, int], run: str
    ) -> None:
        old_data = self.kv.get(key)
        merged = _merge(_load(old_data), record)
        if merged is not None:
            data = _dump(merged)
            batch.set(key, data)
            grown[run] = grown.get(run, 0) + len(data) - len(old_data or b"")

    def _put_run(self, batch: Batch, run: dict[str, Any], grown: int) -> None:
        key = _run_key(run["id"])
        old = _load(self.kv.get(key))
        merged = _merge(old, run) if old is not None else run
        if merged is None:
            merged = old  # keep its status, but account for its records' growth
        assert merged is not None
        merged = dict(merged)
        if old is not None:
            # Stored facts the writer does not own: the pin and the running byte count.
            merged["pinned"] = bool(old.get("pinned")) or bool(merged.get("pinned"))
            merged["summary"] = dict(merged.get("summary") or {})
            merged["summary"]["bytes"] = int((old.get("summary") or {}).get("bytes", 0)) + grown
        else:
            merged["summary"] = dict(merged.get("summary") or {}) | {"bytes": grown}
        batch.set(key, _dump(merged))
        batch.set(_time_key(merged["started_ns"], merged["id"]), b"")
        if merged.get("status") == "in_progress":
            batch.set(_open_key(merged["id"]), b"")
        else:
            batch.delete(_open_key(merged["id"]))

    def set_pinned(self, run_id: str, pinned: bool) -> bool:
        """Pin (keep through retention) or unpin a run; False when there is no such run."""
        self.kv.lock(_LOCK)
        try:
            run = _load(self.kv.get(_run_key(run_id)))
            if run is None:
                return False
            run["pinned"] = pinned
            self.kv.set(_run_key(run_id), _dump(run))
            return True
        finally:
            self.kv.unlock(_LOCK)

    # -- reading -------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        return _load(self.kv.get(_run_key(run_id)))

    def runs(self) -> Iterator[dict[str, Any]]:
        """Every run, newest first."""
        start, end = _prefix_range("time")
        for key, _ in self.kv.scan(start, end):
            _, _, _, run_id = ordered.decode(key)
            run = self.run(run_id)
            if run is not None:
                yield run

    def resolve(self, prefix: str) -> list[str]:
        """Run ids that start with `prefix` (case-insensitive; ULIDs are upper-case)."""
        prefix = prefix.strip().upper()
        if not prefix:
            return []
        start = ordered.encode(_P, "run", prefix)
        end = ordered.encode(_P, "run", prefix + "\U0010ffff")
        return [ordered.decode(key)[2] for key, _ in self.kv.scan(start, end)]

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        start, end = _prefix_range("step", run_id)
        return [s for _, v in self.kv.scan(start, end) if (s := _load(v)) is not None]

    def attempts(self, run_id: str) -> list[dict[str, Any]]:
        start, end = _prefix_range("attempt", run_id)
        return [a for _, v in self.kv.scan(start, end) if (a := _load(v)) is not None]

    def tree(self, run_id: str) -> dict[str, Any] | None:
        """A run with its steps, each step with its `attempt_records`, and child runs."""
        run = self.run(run_id)
        if run is None:
            return None
        by_step: dict[int, list[dict[str, Any]]] = {}
        for attempt in self.attempts(run_id):
            by_step.setdefault(int(attempt["step"]), []).append(attempt)
        steps = [
            s | {"attempt_records": by_step.get(int(s["seq"]), [])} for s in self.steps(run_id)
        ]
        children = [r for r in self.runs() if r.get("parent_id") == run_id]
        children.sort(key=lambda r: int(r["started_ns"]))
        return {"run": run, "steps": steps, "children": children}

    # -- housekeeping ----------------------------------------------------------------------

    def sweep(self, *, stale_after_s: float = 3600.0, now: int | None = None) -> int:
        """Mark runs stuck in progress as interrupted (their steps too): the writing
        process is gone (same host), or they started more than `stale_after_s` ago.
        Returns how many runs were marked."""
        now = now_ns() if now is None else now
        start, end = _prefix_range("open")
        open_ids = [ordered.decode(key)[2] for key, _ in self.kv.scan(start, end)]
        marked = 0
        for run_id in open_ids:
            run = self.run(run_id)
            if run is None or run.get("status") != "in_progress":
                continue
            owner = Owner(**run["owner"]) if run.get("owner") else None
            dead = owner is not None and owner.is_alive() is False
            too_old = now - int(run["started_ns"]) > stale_after_s * 1e9
            if dead or too_old:
                marked += self._interrupt(run_id, now)
        return marked

    def _interrupt(self, run_id: str, now: int) -> int:
        interrupted = {"status": "interrupted", "ended_ns": now}
        write = Write()
        for step in self.steps(run_id):
            if step.get("status") == "in_progress":
                write.steps.append(step | interrupted)
        run = self.run(run_id)
        if run is None or run.get("status") != "in_progress":
            return 0
        write.runs.append(run | interrupted)
        self.write(write)
        return 1

    def delete(self, run_ids: Iterable[str]) -> int:
        """Delete runs with their steps and attempts; returns how many existed."""
        deleted = 0
        self.kv.lock(_LOCK)
        try:
            batch = self.kv.batch()
            for run_id in run_ids:
                run = self.run(run_id)
                if run is None:
                    continue
                deleted += 1
                for part in ("step", "attempt"):
                    batch.delete_range(*_prefix_range(part, run_id))
                batch.delete(_run_key(run_id))
                batch.delete(_time_key(int(run["started_ns"]), run_id))
                batch.delete(_open_key(run_id))
            batch.apply()
        finally:
            self.kv.unlock(_LOCK)
        return deleted

    def prune(
        self, *, max_age_s: float | None, max_bytes: int | None, now: int | None = None
    ) -> tuple[int, int]:
        """Retention: delete finished, unpinned runs older than `max_age_s`, then the oldest
        of them until the store holds at most `max_bytes` of records. Pinned runs and runs
        in progress are kept. Returns (runs deleted, bytes freed)."""
        now = now_ns() if now is None else now
        runs = list(self.runs())  # newest first
        total = sum(int((r.get("summary") or {}).get("bytes", 0)) for r in runs)
        doomed: list[str] = []
        freed = 0
        for run in reversed(runs):  # oldest first
            if run.get("pinned") or run.get("status") == "in_progress":
                continue
            size = int((run.get("summary") or {}).get("bytes", 0))
            old = max_age_s is not None and now - int(run["started_ns"]) > max_age_s * 1e9
            big = max_bytes is not None and total - freed > max_bytes
            if old or big:
                doomed.append(run["id"])
                freed += size
        return self.delete(doomed), freed


__all__ = ["PRIORITY", "RecordStore", "Write"]
