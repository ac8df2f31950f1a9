"""Vector index benchmarks: exact vs approximate (HNSW) search through cairn.index.

Prints a table per data set; the speed-up and recall are measured in the same run.

  (a) N random-but-clustered 384-dim vectors (default 1,000,000): clusters of points
      spread along a few directions of their own plus noise, as embeddings are;
  (b) real all-MiniLM-L6-v2 embeddings of generated ops sentences (default 100,000);
  (c) local embedding throughput, docs/s for 100-word docs.

For (a) and (b): store write time, matrix load, HNSW build, snapshot save and load,
p50/p95 top-10 latency exact vs approximate, recall@10 of approximate vs exact, memory.
Target (issue 3): approximate ≥ 20× faster than exact at recall@10 ≥ 0.95.
Usage: .venv/bin/python bench/vectors.py [--n 1000000] [--real-n 100000] [--queries 200]
       [--connectivity 16] [--expansion-add 128] [--expansion-search 128] [--dtype f16]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cairn.index import HNSWParams, LocalEmbedder, VectorIndex
from cairn.store import SQLiteKV

K = 10
WRITE_BATCH = 20_000


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, MiB."""
    status = Path("/proc/self/status").read_text()
    kib = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024


class Clusters:
    """Random centres, each cluster spread along 16 directions of its own plus noise."""

    def __init__(self, n: int, dims: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        count = max(10, n // 1000)
        self.centres = self.rng.standard_normal((count, dims), dtype=np.float32)
        self.axes = self.rng.standard_normal((count, 16, dims), dtype=np.float32) * 0.3

    def sample(self, m: int) -> NDArray[np.float32]:
        which = self.rng.integers(0, len(self.centres), m)
        coeffs = self.rng.standard_normal((m, 16), dtype=np.float32)
        spread = np.einsum("nk,nkd->nd", coeffs, self.axes[which])
        noise = self.rng.standard_normal((m, self.centres.shape[1]), dtype=np.float32) * 0.05
        return (self.centres[which] + spread + noise).astype(np.float32)

    def chunks(self, n: int, size: int = 50_000) -> Iterator[NDArray[np.float32]]:
        for start in range(0, n, size):
            yield self.sample(min(size, n - start))


_SUBJECTS = (
    "the database",
    "the primary postgres",
    "the web server",
    "nginx",
    "the deploy pipeline",
    "the redis cache",
    "the load balancer",
    "a kubernetes pod",
    "the nightly backup job",
    "the DNS resolver",
    "the message queue",
    "the auth service",
    "the CI runner",
    "the payment API",
    "the search cluster",
    "the metrics agent",
    "the cron scheduler",
    "the object storage bucket",
    "the VPN gateway",
    "the log shipper",
)
_PROBLEMS = (
    "fails to start",
    "runs out of memory",
    "times out",
    "returns 502 errors",
    "is very slow",
    "drops connections",
    "crashes on boot",
    "fills the disk",
    "rejects the TLS certificate",
    "loses packets",
    "hangs on shutdown",
    "reports stale data",
    "restarts in a loop",
    "cannot resolve hostnames",
    "exceeds its CPU quota",
    "leaks file descriptors",
)
_WHEN = (
    "after the upgrade",
    "under heavy load",
    "every night at 2am",
    "when the disk is full",
    "on the staging cluster",
    "since the last deploy",
    "during failover",
    "after a config change",
    "when traffic spikes",
    "on Mondays",
    "after a reboot",
    "in the eu-west region",
)
_FIXES = (
    "restart the service",
    "roll back the release",
    "raise the timeout",
    "rotate the certificate",
    "flush the cache",
    "add two replicas",
    "read the logs first",
    "free disk space",
    "bump the memory limit",
    "pin the previous image",
    "re-run the migration",
    "check the firewall rules",
)


def sentences(n: int, seed: int) -> list[str]:
    """Generated ops sentences: a subject, a problem, when, a fix, a host."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_PROBLEMS)} {rng.choice(_WHEN)}"
        f" on host {rng.choice(('web', 'db', 'app', 'edge'))}-{rng.randrange(200)};"
        f" to fix it, {rng.choice(_FIXES)}."
        for _ in range(n)
    ]


def percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def latencies(
    index: VectorIndex, queries: NDArray[np.float32], exact: bool
) -> tuple[list[float], list[list[str]]]:
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        matches = index.search(q, K, exact=exact)
        times.append(time.perf_counter() - start)
        found.append([m.id for m in matches])
    return times, found


def recall(approx: list[list[str]], exact: list[list[str]]) -> float:
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx, exact, strict=True))
    return hits / max(1, sum(len(e) for e in exact))


def measure(
    label: str,
    chunks: Iterator[NDArray[np.float32]],
    queries: NDArray[np.float32],
    params: HNSWParams,
    oversample: int,
    workdir: Path,
) -> list[tuple[str, str]]:
    """Write, load, search both ways, save and reload; returns (figure, value) rows."""
    path = workdir / f"{label}.db"
    rows: list[tuple[str, str]] = []
    n = 0
    with SQLiteKV(path) as kv:
        index = VectorIndex(kv, "bench", params=params, oversample=oversample)
        start = time.perf_counter()
        for chunk in chunks:
            for i in range(0, len(chunk), WRITE_BATCH):
                part = chunk[i : i + WRITE_BATCH]
                index.set_many([f"v{n + j}" for j in range(len(part))], part)
                n += len(part)
        write = time.perf_counter() - start
    rows.append(("vectors", f"{n:,}"))
    rows.append(("store write (SQLite)", f"{write:.1f} s ({n / write:,.0f} vectors/s)"))
    with SQLiteKV(path) as kv:
        index = VectorIndex(kv, "bench", params=params, oversample=oversample)
        before = rss_mb()[0]
        load, _ = timed(lambda: index.load())
        matrix_rss = rss_mb()[0] - before
        rows.append(("load exact matrix", f"{load:.1f} s (+{matrix_rss:,.0f} MiB RSS)"))
        exact_times, exact_ids = latencies(index, queries, exact=True)
        before = rss_mb()[0]
        build, _ = timed(lambda: index.load(approximate=True))
        graph_rss = rss_mb()[0] - before
        rows.append(
            (
                f"HNSW build (M={params.connectivity}, ef_add={params.expansion_add},"
                f" {params.dtype})",
                f"{build:.1f} s ({n / build:,.0f} vectors/s, +{graph_rss:,.0f} MiB RSS)",
            )
        )
        approx_times, approx_ids = latencies(index, queries, exact=False)
        save, size = timed(index.save)
        rows.append(("HNSW snapshot save", f"{save:.1f} s ({size / 2**20:,.0f} MiB)"))
    with SQLiteKV(path) as kv:
        index = VectorIndex(kv, "bench", params=params, oversample=oversample)
        reload, _ = timed(lambda: index.load(approximate=True))
        rows.append(("reopen: matrix + snapshot load", f"{reload:.1f} s"))
        _, reload_ids = latencies(index, queries[: len(queries) // 4], exact=False)
    e50, e95 = percentiles(exact_times)
    a50, a95 = percentiles(approx_times)
    rows.append(("exact top-10 p50 / p95", f"{e50 * 1e3:.2f} / {e95 * 1e3:.2f} ms"))
    rows.append(
        (
            f"approximate top-10 p50 / p95 (ef={params.expansion_search}, ×{oversample})",
            f"{a50 * 1e3:.2f} / {a95 * 1e3:.2f} ms",
        )
    )
    rows.append(("speed-up (p50 exact / p50 approximate)", f"{e50 / a50:.1f}×"))
    rows.append(("recall@10 approximate vs exact", f"{recall(approx_ids, exact_ids):.4f}"))
    same = recall(reload_ids, approx_ids[: len(reload_ids)])
    rows.append(("after reopen: same results as before", f"{same:.4f}"))
    rows.append(("peak RSS so far", f"{rss_mb()[1]:,.0f} MiB"))
    path.unlink()
    return rows


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors")
    parser.add_argument("--real-n", type=int, default=100_000, help="MiniLM embeddings")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--connectivity", type=int, default=HNSWParams.connectivity)
    parser.add_argument("--expansion-add", type=int, default=HNSWParams.expansion_add)
    parser.add_argument("--expansion-search", type=int, default=HNSWParams.expansion_search)
    parser.add_argument("--dtype", default=HNSWParams.dtype, choices=("f32", "f16", "i8"))
    parser.add_argument("--oversample", type=int, default=4)
    parser.add_argument("--dir", type=Path, help="where the SQLite files go (default: tmp)")
    args = parser.parse_args()
    params = HNSWParams(
        connectivity=args.connectivity,
        expansion_add=args.expansion_add,
        expansion_search=args.expansion_search,
        dtype=args.dtype,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="cairn-bench-") as tmp:
        workdir = Path(tmp)
        if args.n:
            clusters = Clusters(args.n, args.dims, seed=1)
            queries = clusters.sample(args.queries)  # same clusters as the data, not in it
            rows = measure(
                "synthetic", clusters.chunks(args.n), queries, params, args.oversample, workdir
            )
            print_table(f"(a) {args.n:,} clustered random {args.dims}-dim vectors", rows)
        embedder = LocalEmbedder(batch_size=64)
        if args.real_n:
            texts = sentences(args.real_n, seed=1)
            embedder.embed(texts[:8])  # load the model outside the timing
            embed_time, vectors = timed(lambda: embedder.embed(texts))
            queries = embedder.embed(sentences(args.queries, seed=2))
            rows = [
                (
                    "embedding (all-MiniLM-L6-v2, CPU)",
                    f"{embed_time:.0f} s ({args.real_n / embed_time:,.0f} sentences/s)",
                )
            ]
            rows += measure("real", iter([vectors]), queries, params, args.oversample, workdir)
            print_table(f"(b) {args.real_n:,} MiniLM embeddings of generated sentences", rows)
        docs = [" ".join(" ".join(sentences(8, seed=i)).split()[:100]) for i in range(256)]
        words = statistics.mean(len(d.split()) for d in docs)
        embedder.embed(docs[:8])  # load the model first
        seconds, _ = timed(lambda: embedder.embed(docs))
        print_table(
            "(c) local embedding throughput",
            [(f"{len(docs)} docs of ~{words:.0f} words", f"{len(docs) / seconds:.1f} docs/s")],
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
