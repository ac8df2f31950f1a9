"""KV benchmarks: sets/s and scans/s on SQLite and PostgreSQL, batched and unbatched.

Each figure comes with a baseline measured in the same run: the raw driver (sqlite3,
psycopg) doing the same work on a bare table, so the ratio is the cost of the KV layer.

  sets, batched     N keys in batches of 10k (one transaction each)
  sets, unbatched   --unbatched-n keys, one durable transaction each (fsync-bound)
  full scan         all N keys in order through KV.scan
  short scans       100-key range scans from random start keys

Usage: .venv/bin/python bench/store.py [--n 1000000] [--unbatched-n 2000]
       [--postgres start|URL|none]   (start: a throwaway server from Debian's binaries)
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cairn.store import KV, SQLiteKV, open_store, ordered

BATCH = 10_000
SHORT_SCANS = 2_000
VALUE = b"v" * 16


def keys(n: int) -> list[bytes]:
    return [ordered.encode("bench", i) for i in range(n)]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = fn()
    return rate(count, time.perf_counter() - start)


# -- the KV layer -----------------------------------------------------------------------


def kv_batched(kv: KV, ks: list[bytes]) -> int:
    for i in range(0, len(ks), BATCH):
        batch = kv.batch()
        for k in ks[i : i + BATCH]:
            batch.set(k, VALUE)
        batch.apply()
    return len(ks)


def kv_unbatched(kv: KV, ks: list[bytes]) -> int:
    for k in ks:
        kv.set(k, VALUE)
    return len(ks)


def kv_full_scan(kv: KV) -> int:
    return sum(1 for _ in kv.scan(ordered.encode("bench"), ordered.encode("bench", ordered.Inf)))


def kv_short_scans(kv: KV, ks: list[bytes]) -> int:
    rng = random.Random(1)
    end = ordered.encode("bench", ordered.Inf)
    for _ in range(SHORT_SCANS):
        start = ks[rng.randrange(len(ks))]
        for n, _pair in enumerate(kv.scan(start, end)):
            if n == 99:
                break
    return SHORT_SCANS


# -- raw SQLite baseline ---------------------------------------------------------------


def sqlite_raw(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
    return db


def raw_sqlite_batched(db: sqlite3.Connection, ks: list[bytes]) -> int:
    for i in range(0, len(ks), BATCH):
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO kv VALUES (?, ?)", ((k, VALUE) for k in ks[i : i + BATCH])
        )
        db.execute("COMMIT")
    return len(ks)


def raw_sqlite_unbatched(db: sqlite3.Connection, ks: list[bytes]) -> int:
    for k in ks:
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (k, VALUE))
    return len(ks)


def raw_sqlite_full_scan(db: sqlite3.Connection) -> int:
    return sum(1 for _ in db.execute("SELECT k, v FROM kv ORDER BY k"))


def raw_sqlite_short_scans(db: sqlite3.Connection, ks: list[bytes]) -> int:
    rng = random.Random(1)
    for _ in range(SHORT_SCANS):
        db.execute(
            "SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT 100", (ks[rng.randrange(len(ks))],)
        ).fetchall()
    return SHORT_SCANS


# -- raw PostgreSQL baseline -----------------------------------------------------------


def pg_raw(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS bench_raw")
    conn.execute("CREATE TABLE bench_raw (k bytea PRIMARY KEY, v bytea NOT NULL)")
    return conn


def raw_pg_batched(conn, ks: list[bytes]) -> int:  # type: ignore[no-untyped-def]
    sql = "INSERT INTO bench_raw VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
    for i in range(0, len(ks), BATCH):
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(sql, [(k, VALUE) for k in ks[i : i + BATCH]])
    return len(ks)


def raw_pg_unbatched(conn, ks: list[bytes]) -> int:  # type: ignore[no-untyped-def]
    sql = "INSERT INTO bench_raw VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
    for k in ks:
        conn.execute(sql, (k, VALUE))
    return len(ks)


def raw_pg_full_scan(conn) -> int:  # type: ignore[no-untyped-def]
    with conn.cursor(name="scan") if not conn.autocommit else conn.cursor() as cur:
        cur.execute("SELECT k, v FROM bench_raw ORDER BY k")
        return sum(1 for _ in cur)


def raw_pg_short_scans(conn, ks: list[bytes]) -> int:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    for _ in range(SHORT_SCANS):
        conn.execute(
            "SELECT k, v FROM bench_raw WHERE k >= %s ORDER BY k LIMIT 100",
            (ks[rng.randrange(len(ks))],),
        ).fetchall()
    return SHORT_SCANS


# -- running ---------------------------------------------------------------------------


def measure(
    name: str,
    kv: KV,
    raw: object,
    ops: dict[str, Callable[..., int]],
    ks: list[bytes],
    uks: list[bytes],
) -> list[tuple[str, str, float, float]]:
    rows = []
    for label, ours, base in (
        ("sets, batched", lambda: kv_batched(kv, ks), lambda: ops["batched"](raw, ks)),
        ("sets, unbatched", lambda: kv_unbatched(kv, uks), lambda: ops["unbatched"](raw, uks)),
        ("full scan", lambda: kv_full_scan(kv), lambda: ops["full"](raw)),
        ("short scans (100 keys)", lambda: kv_short_scans(kv, ks), lambda: ops["short"](raw, ks)),
    ):
        base_rate = timed(base)
        our_rate = timed(ours)
        rows.append((name, label, our_rate, base_rate))
        print(
            f"  {name:<10} {label:<24} {our_rate:>12,.0f}/s   raw {base_rate:>12,.0f}/s",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--unbatched-n", type=int, default=2_000)
    parser.add_argument("--postgres", default="start", help="start | a postgresql:// URL | none")
    args = parser.parse_args()
    ks = keys(args.n)
    # Unbatched writes go to fresh keys, so they insert rather than overwrite.
    uks = [ordered.encode("bench-u", i) for i in range(args.unbatched_n)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kv = SQLiteKV(Path(tmp) / "kv.db")
        raw = sqlite_raw(Path(tmp) / "raw.db")
        rows += measure(
            "sqlite",
            kv,
            raw,
            {
                "batched": raw_sqlite_batched,
                "unbatched": raw_sqlite_unbatched,
                "full": raw_sqlite_full_scan,
                "short": raw_sqlite_short_scans,
            },
            ks,
            uks,
        )
        kv.close()
        raw.close()
        server = None
        url = None
        if args.postgres == "start":
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from pgserver import PostgresServer  # the test suite's throwaway server

            server = PostgresServer.launch(durable=True)
            url = server.create_database("bench")
        elif args.postgres != "none":
            url = args.postgres
        if url is not None:
            try:
                kv = open_store(url)
                praw = pg_raw(url)
                rows += measure(
                    "postgres",
                    kv,
                    praw,
                    {
                        "batched": raw_pg_batched,
                        "unbatched": raw_pg_unbatched,
                        "full": raw_pg_full_scan,
                        "short": raw_pg_short_scans,
                    },
                    ks,
                    uks,
                )
                kv.close()
                praw.close()
            finally:
                if server is not None:
                    server.teardown()
    header = ("backend", "operation", "KV ops/s", "raw driver ops/s", "KV / raw")
    table = [header] + [
        (b, op, f"{ours:,.0f}", f"{base:,.0f}", f"{ours / base:.2f}") for b, op, ours, base in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        f"\nN={args.n:,} keys (batches of {BATCH:,}); unbatched: {args.unbatched_n:,}"
        f" durable single-key writes; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
