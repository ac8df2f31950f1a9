"""`cairn index`: add Markdown docs, search them, show what the index holds.

Everything heavy (numpy, torch, usearch, the store) is imported inside the commands, so
registering this group costs `cairn --help` and `cairn run` nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._params import Count
from ._progress import bar, spinner
from ._settings import opened_store, store_option

if TYPE_CHECKING:
    from ..index import Embedder, SkippedFile, VectorIndex
    from ..store import KV

INDEX_NAME = "docs"


embedder_option = click.option(
    "--embedder",
    type=click.Choice(["local", "openai", "hash"]),
    help="local (all-MiniLM-L6-v2), openai (any OpenAI-compatible server) or hash"
    " (no model; tests). Default: the one that filled the index, else local.",
)
base_url_option = click.option(
    "--base-url",
    metavar="URL",
    help="OpenAI-compatible API, e.g. http://localhost:11434/v1 (env CAIRN_EMBEDDINGS_URL).",
)
model_option = click.option(
    "--model", help="Embedding model on that server (env CAIRN_EMBEDDINGS_MODEL)."
)


def _embedder(
    kv: KV, kind: str | None, base_url: str | None, model: str | None, *, rebuild: bool = False
) -> tuple[Embedder, VectorIndex]:
    """The embedder to use and the index, checked against the embedder that filled it."""
    from ..llm import open_index_embedder

    return open_index_embedder(
        kv, INDEX_NAME, kind, model=model, base_url=base_url, rebuild=rebuild
    )


@app.group("index")
def index_app() -> None:
    """Embed Markdown docs into the store and search them by meaning."""


@index_app.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@embedder_option
@base_url_option
@model_option
@click.option("--batch-size", type=Count(1, 4096), default=32, show_default=True)
@click.option("--rebuild", is_flag=True, help="Drop all vectors and embed every doc again.")
@click.option(
    "--strict",
    is_flag=True,
    help="A file that cannot be read or parsed is an error, and nothing is added"
    " (default: warn, skip it, add the rest).",
)
def add(
    files: tuple[Path, ...],
    store_url: str | None,
    embedder: str | None,
    base_url: str | None,
    model: str | None,
    batch_size: int,
    rebuild: bool,
    strict: bool,
) -> None:
    """Add Markdown files (or the Markdown under directories), one doc per section, and
    embed the docs that are new or changed."""
    from ..index import MAX_CHARS, UnreadableFilesError, add_markdown, embed_docs, reset_embeddings

    with opened_store(store_url) as kv:
        chosen, index = _embedder(kv, embedder, base_url, model, rebuild=rebuild)
        try:
            with spinner("cairn: reading the docs…"):
                report = add_markdown(kv, index, files, strict=strict)
        except UnreadableFilesError as exc:
            _warn_skipped(exc.skipped, "")
            raise
        _warn_skipped(report.skipped, "; skipped")
        if rebuild:
            reset_embeddings(kv, index)
            index.model = chosen.name
        with bar("embedding") as progress:
            embedded = embed_docs(kv, chosen, index, batch_size=batch_size, progress=progress)
        index.maybe_save()
    skipped = len(report.skipped)
    print(
        f"cairn: {report.files} files, {report.docs} sections: {len(report.written)} new or"
        f" changed, {len(report.removed)} removed; embedded {embedded.embedded}"
        f" with {chosen.name}"
        + (f"; {skipped} file{'s' if skipped > 1 else ''} skipped (see above)" if skipped else ""),
        file=sys.stderr,
    )
    if embedded.truncated:
        print(
            f"cairn: {len(embedded.truncated)} docs were longer than {MAX_CHARS} characters;"
            f" only their start was embedded (first: {embedded.truncated[0]})",
            file=sys.stderr,
        )


def _warn_skipped(skipped: Iterable[SkippedFile], suffix: str) -> None:
    for item in skipped:
        print(f"cairn: warning: {item.path}: {item.reason}{suffix}", file=sys.stderr)


@index_app.command("search")
@click.argument("query")
@click.option("--k", "-k", "k", type=Count(1, 10_000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--exact", is_flag=True, help="Score every vector (no HNSW).")
@store_option
@embedder_option
@base_url_option
@model_option
def search(
    query: str,
    k: int,
    as_json: bool,
    exact: bool,
    store_url: str | None,
    embedder: str | None,
    base_url: str | None,
    model: str | None,
) -> None:
    """Search the docs by meaning: the k most similar sections, best first."""
    from ..index import VectorIndex, search_docs

    with opened_store(store_url, read_only=True) as kv:
        rows: list[dict[str, object]] = []
        if len(VectorIndex(kv, INDEX_NAME)):  # an empty index needs no model loaded
            chosen, index = _embedder(kv, embedder, base_url, model)
            with spinner(f"cairn: searching with {chosen.name}…"):
                rows = search_docs(kv, chosen, index, query, k, exact=True if exact else None)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        print("cairn: no matches (is the index empty? see `cairn index stats`)", file=sys.stderr)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Score", "Id", "Title", box=None, pad_edge=False)
    for row in rows:
        table.add_row(f"{row['score']:.3f}", str(row["id"]), str(row["title"]))
    Console(soft_wrap=True).print(table)


@index_app.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@store_option
def stats(as_json: bool, store_url: str | None) -> None:
    """What the index holds: docs, vectors, dimensions, sizes."""
    from ..index import index_stats

    with opened_store(store_url, read_only=True) as kv:
        numbers = index_stats(kv, INDEX_NAME)
    if as_json:
        print(json.dumps(numbers, indent=2))
        return
    width = max(len(key) for key in numbers)
    for key, value in numbers.items():
        print(f"{key:<{width}}  {'-' if value is None else value}")
