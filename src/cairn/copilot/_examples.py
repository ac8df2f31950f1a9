"""Learned examples and their retrieval: the examples in the store, their queries'
vectors in a `cairn.index.VectorIndex`, and a search that keeps the examples above a
similarity threshold and picks among them by maximal marginal relevance (MMR), so that
near-duplicates do not crowd out a different example. A stored example that cannot be
read is logged and left out of searches and iteration, never fatal.

Layout (keys encoded with `ordered`):
  ("copilot.example", name, id)  → JSON: id, query, cell, language, source
  the vectors: `VectorIndex(kv, name)` (its own layout), one per example id
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..privacy import default_redactor
from ..store import KV, ordered
from ._adapt import template
from ._errors import CopilotError
from ._types import Example

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from ..index import Embedder, VectorIndex

log = logging.getLogger(__name__)

NAME = "copilot-examples"
BATCH_SIZE = 64


class ExampleError(CopilotError):
    """The examples cannot be stored or searched as asked."""


def mmr(
    relevance: Sequence[float], similarity: NDArray[np.float32], k: int, mmr_lambda: float
) -> list[int]:
    """Indices of up to `k` candidates by maximal marginal relevance: each pick maximises
    `λ·relevance − (1−λ)·(its highest similarity to a pick so far)`. The first pick is
    the most relevant; λ = 1 is plain relevance order (ties: the earlier candidate)."""
    import numpy as np

    gain = np.asarray(relevance, dtype=np.float64)
    redundancy = np.zeros(len(gain))
    chosen: list[int] = []
    for _ in range(min(k, len(gain))):
        value = mmr_lambda * gain - (1.0 - mmr_lambda) * redundancy
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        redundancy = np.maximum(redundancy, similarity[:, best])
    return chosen


class ExampleIndex:
    """Examples stored in `kv` under `name`, found by the meaning of their query.

    `embedder` embeds the queries; the vector index records its name, and refuses
    vectors of another embedder (VectorIndexError). With `owns_store`, `close()` closes
    `kv` too.
    """

    def __init__(
        self,
        kv: KV,
        embedder: Embedder,
        name: str = NAME,
        *,
        batch_size: int = BATCH_SIZE,
        owns_store: bool = False,
    ) -> None:
        from ..index import VectorIndex

        self.kv = kv
        self.embedder = embedder
        self.name = name
        self.batch_size = max(1, batch_size)
        self.vectors: VectorIndex = VectorIndex(kv, name, model=embedder.name)
        self._prefix = ordered.encode("copilot.example", name)
        self._after = ordered.encode("copilot.example.after", name)
        self._owns_store = owns_store

    def _key(self, id_: str) -> bytes:
        return self._prefix + ordered.encode(id_)

    def __len__(self) -> int:
        return len(self.vectors)

    def __contains__(self, id_: object) -> bool:
        return id_ in self.vectors

    def get(self, id_: str) -> Example | None:
        """The example with this id, or None. Raises ExampleError when it is damaged."""
        raw = self.kv.get(self._key(id_))
        return None if raw is None else _load(raw)

    def __iter__(self) -> Iterator[Example]:
        """Every readable example, by id."""
        end = self._prefix + ordered.encode(ordered.Inf)
        for key, raw in self.kv.scan(self._prefix, end):
            try:
                yield _load(raw)
            except ExampleError as exc:
                log.warning("skipping %r: %s", key, exc)

    def add(self, examples: Iterable[Example]) -> int:
        """Store the examples not stored yet (by id; the first of equal ids wins) and embed
        their queries, `batch_size` at a time. Returns how many were new."""
        redactor = default_redactor()
        new: dict[str, Example] = {}
        for example in examples:
            if example.id not in new and example.id not in self.vectors:
                # Queries come from runbook files as they are on disk: secrets in them
                # must not reach the store, an embedding API or, retrieved, a prompt.
                new[example.id] = replace(
                    example,
                    query=redactor.redact(example.query),
                    cell=redactor.redact(example.cell),
                    title=redactor.redact(example.title),
                    prose=redactor.redact(example.prose),
                    commands=tuple(redactor.redact(c) for c in example.commands),
                )
        pending = list(new.values())
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start : start + self.batch_size]
            vectors = self.embedder.embed([e.query for e in chunk])
            # The example first, then its vector: a crash between the two leaves an
            # example without a vector, which the next `add` of it repairs.
            batch = self.kv.batch()
            for example in chunk:
                batch.set(self._key(example.id), _dump(example))
                if example.commands:  # what followed this kind of command (`following`)
                    after = template(example.commands[-1])
                    batch.set(self._after + ordered.encode(after, example.id), b"")
            batch.apply()
            self.vectors.set_many([e.id for e in chunk], vectors)
        return len(pending)

    def following(self, command: str, *, k: int = 8) -> list[Example]:
        """Up to `k` examples learned right after a command like `command` (the same
        `template`): what this team usually runs next."""
        if k <= 0 or not command.strip():
            return []
        start = self._after + ordered.encode(template(command))
        found: list[Example] = []
        for key, _ in self.kv.scan(start, start + ordered.encode(ordered.Inf)):
            id_ = ordered.decode(key[len(start) :])[0]
            try:
                example = self.get(str(id_))
            except ExampleError as exc:
                log.warning("leaving out example %s: %s", id_, exc)
                continue
            if example is not None:
                found.append(example)
        return found[-k:]

    def search(
        self,
        query: str,
        *,
        k: int = 3,
        threshold: float = 0.35,
        mmr_lambda: float = 0.7,
        fetch: int = 20,
    ) -> list[Example]:
        """Up to `k` examples whose query scores at least `threshold` (cosine) against
        `query`, chosen by MMR among the `fetch` most similar; `Example.score` is the
        cosine score. Nothing is embedded when the index is empty."""
        import numpy as np

        if k <= 0 or not query.strip() or len(self) == 0:
            return []
        vector = self.embedder.embed([query])[0]
        matches = [m for m in self.vectors.search(vector, max(k, fetch)) if m.score >= threshold]
        found: list[tuple[Example, NDArray[np.float32]]] = []
        for match in matches:
            try:
                example = self.get(match.id)
            except ExampleError as exc:
                log.warning("leaving out example %s: %s", match.id, exc)
                continue
            stored = self.vectors.get(match.id)
            if example is not None and stored is not None:
                found.append((_scored(example, match.score), stored))
        if not found:
            return []
        unit = np.stack([v for _, v in found]).astype(np.float32)
        norms = np.linalg.norm(unit, axis=1, keepdims=True)
        np.divide(unit, norms, out=unit, where=norms > 0)
        picks = mmr([e.score for e, _ in found], unit @ unit.T, k, mmr_lambda)
        return [found[i][0] for i in picks]

    def close(self) -> None:
        if self._owns_store:
            self.kv.close()


def _scored(example: Example, score: float) -> Example:
    return replace(example, score=score)


def _dump(example: Example) -> bytes:
    data = {
        "id": example.id,
        "query": example.query,
        "cell": example.cell,
        "language": example.language,
        "source": example.source,
        "title": example.title,
        "prose": example.prose,
        "commands": list(example.commands),
    }
    return json.dumps(data, ensure_ascii=False).encode()


def _load(raw: bytes) -> Example:
    try:
        data = json.loads(raw)
        return Example(
            str(data["id"]),
            str(data["query"]),
            str(data["cell"]),
            str(data.get("language", "sh")),
            str(data.get("source", "")),
            title=str(data.get("title", "")),
            prose=str(data.get("prose", "")),
            commands=tuple(str(c) for c in data.get("commands", ())),
        )
    except (ValueError, TypeError, KeyError):
        raise ExampleError(f"a stored example is damaged: {raw[:80]!r}") from None


def recorded_embedder(kv: KV, name: str = NAME) -> str | None:
    """The name of the embedder whose vectors the examples hold (None: none yet)."""
    from ..index import recorded_embedder as recorded

    return recorded(kv, name)


def choose_embedder(kv: KV, kind: str | None = None, name: str = NAME) -> Embedder:
    """The embedder for the examples in `kv`, by `cairn.index.choose_embedder`: `kind`
    ("local", "hash", "openai"), else the one that embedded them, else the local model.
    ExampleError when `kind` differs from the one that embedded them."""
    from ..index import choose_embedder as choose
    from ..llm import open_embedder

    choice = choose(recorded_embedder(kv, name), kind)
    if choice.recorded is not None and choice.kind != choice.recorded_kind:
        raise ExampleError(
            f"the learned examples were embedded with {choice.recorded!r}; use the same"
            f" embedder (--embedder {choice.recorded_kind}), or another store"
        )
    return open_embedder(choice.kind, model=choice.model, dims=choice.dims)


def default_store_path() -> str:
    from ..store import default_config_dir

    return os.fspath(default_config_dir() / "cairn.db")


def open_examples(
    store: str | None = None, *, create: bool = True, embedder: str | None = None
) -> ExampleIndex | None:
    """The examples in `store` (a URL or path; default: the config dir's cairn.db), with
    the embedder chosen by `choose_embedder`. With `create=False`, None when there are
    no examples yet (and then no store file is made and no model loaded)."""
    from ..store import open_store, store_location

    url = store or default_store_path()
    if not create and not store_location(url).exists():
        return None
    kv = open_store(url)
    try:
        if not create and recorded_embedder(kv) is None:
            kv.close()
            return None
        return ExampleIndex(kv, choose_embedder(kv, embedder), owns_store=True)
    except BaseException:
        kv.close()
        raise
