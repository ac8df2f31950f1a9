"""PostgreSQL behaviour the KV contract cannot express: the server going away, coming
back, killing a batch mid-flight, and dropping a lock holder's connection."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import psycopg
import pytest

from cairn.store import LockLostError, StoreError, StoreUnavailableError
from cairn.store._postgres import PostgresKV

if TYPE_CHECKING:
    from tests.conftest import PostgresServer

SECRET = "hunter2-not-for-logs"


@pytest.fixture
def server(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The session's server; a test that stops it gets it started again afterwards."""
    yield postgres_server
    if not (postgres_server.data / "postmaster.pid").exists():
        postgres_server.start()


@pytest.fixture
def url(server: PostgresServer) -> str:
    """A fresh database, reached with a password in the URL (trust auth ignores it)."""
    plain = server.create_database(f"pgt_{uuid.uuid4().hex[:12]}")
    return plain.replace("postgres@", f"postgres:{SECRET}@")


@pytest.fixture
def open_kv(url: str) -> Iterator[Callable[[], PostgresKV]]:
    opened: list[PostgresKV] = []

    def open_() -> PostgresKV:
        kv = PostgresKV(url, connect_timeout=5)
        opened.append(kv)
        return kv

    yield open_
    for kv in opened:
        kv.close()


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def _wait_for(query: str, url: str, what: str) -> list[int]:
    """Poll `query` (returning pids) on a second connection until it returns a row."""
    deadline = time.monotonic() + 20
    with _admin(url) as conn:
        while True:
            pids = [int(str(row[0])) for row in conn.execute(query).fetchall()]
            if pids:
                return pids
            assert time.monotonic() < deadline, f"timed out waiting for {what}"


def _assert_translated(exc: BaseException, port: int) -> None:
    text = str(exc)
    assert SECRET not in text
    assert f"127.0.0.1:{port}" in text
    assert "\n" not in text
    assert exc.__cause__ is None and exc.__suppress_context__  # no psycopg traceback


def test_stopped_server_gives_one_clear_line_without_the_password(
    server: PostgresServer, open_kv: Callable[[], PostgresKV], url: str
) -> None:
    kv = open_kv()
    kv.set(b"k", b"v")
    kv.lock("held-before-stop")
    server.stop()
    calls: list[Callable[[], object]] = [
        lambda: kv.get(b"k"),
        lambda: kv.set(b"k", b"v2"),
        lambda: list(kv.scan(b"", b"\xff")),
        lambda: kv.lock("job", timeout=1),
        lambda: PostgresKV(url, connect_timeout=2),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailableError) as info:
            call()
        _assert_translated(info.value, server.port)
        assert "is the server running?" in str(info.value)
        assert "connection refused" in str(info.value)


def test_missing_database_is_a_store_error_not_unavailability(server: PostgresServer) -> None:
    with pytest.raises(StoreError) as info:
        PostgresKV(server.url_for("no_such_db").replace("postgres@", f"postgres:{SECRET}@"))
    assert not isinstance(info.value, StoreUnavailableError)
    assert 'database "no_such_db" does not exist' in str(info.value)
    _assert_translated(info.value, server.port)


def test_server_restart_between_calls_reconnects_transparently(
    server: PostgresServer, open_kv: Callable[[], PostgresKV]
) -> None:
    kv = open_kv()
    kv.set(b"before", b"1")
    held = kv.lock("held")
    kv.lock("warm")  # leaves an idle lock connection that the restart makes stale
    kv.unlock("warm")
    server.restart()
    assert kv.get(b"before") == b"1"
    kv.set(b"after", b"2")
    with kv.batch() as batch:
        batch.set(b"batched", b"3")
    assert dict(kv.scan(b"", b"\xff")) == {b"after": b"2", b"batched": b"3", b"before": b"1"}
    assert kv.lock("warm", timeout=5) >= 2
    # The held lock died with its connection; another store can take it at once.
    other = open_kv()
    assert other.lock("held", timeout=5) > held


_BLOCKED_WRITER = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
      AND query LIKE 'INSERT INTO cairn_kv%'
"""


@pytest.mark.parametrize("kill", ["terminate-backend", "stop-server-immediately"])
def test_batch_in_flight_when_its_connection_dies_is_not_applied(
    kill: str, server: PostgresServer, open_kv: Callable[[], PostgresKV], url: str
) -> None:
    kv = open_kv()
    kv.set(b"existing", b"kept")
    batch = kv.batch()
    keys = [b"batch%05d" % i for i in range(12_000)]  # several statements' worth
    for key in keys:
        batch.set(key, b"x" * 100)
    batch.delete(b"existing")
    batch.set(b"contended", b"from-batch")  # last: it waits for the blocker below
    plain = url.replace(f":{SECRET}", "")
    failure: list[BaseException] = []

    def apply() -> None:
        try:
            batch.apply()
        except BaseException as exc:
            failure.append(exc)

    blocker = _admin(plain)
    try:
        # An uncommitted insert of the same key holds the batch mid-transaction.
        blocker.execute("BEGIN")
        blocker.execute("INSERT INTO cairn_kv VALUES ('contended', 'blocker')")
        thread = threading.Thread(target=apply)
        thread.start()
        (pid,) = _wait_for(_BLOCKED_WRITER, plain, "the batch to block mid-transaction")
        if kill == "terminate-backend":
            with _admin(plain) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        else:
            with _admin(plain) as conn:
                # synchronous_commit is off on the test server: without this, a crash
                # also loses the commits made just before it (the schema, "existing").
                conn.execute("CHECKPOINT")
            server.stop("immediate")
            server.start()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        blocker.close()
    assert len(failure) == 1 and isinstance(failure[0], StoreUnavailableError), failure
    assert "the batch was not applied" in str(failure[0])
    _assert_translated(failure[0], server.port)
    # The next call reconnects; nothing of the batch is there.
    assert kv.get(b"existing") == b"kept"
    assert kv.get(b"contended") is None
    assert list(kv.scan(b"batch", b"batch\xff")) == []


_ADVISORY_HOLDERS = """
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def test_lock_whose_connection_is_terminated_moves_on_and_fences_out_the_old_holder(
    open_kv: Callable[[], PostgresKV], url: str
) -> None:
    first, second = open_kv(), open_kv()
    token = first.lock("leader")
    plain = url.replace(f":{SECRET}", "")
    (pid,) = _wait_for(_ADVISORY_HOLDERS, plain, "the advisory lock to show")
    with _admin(plain) as conn:
        row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        assert row is not None and row[0] is True
    new_token = second.lock("leader", timeout=10)
    assert new_token > token
    late = first.batch()
    late.set(b"written-by-old-holder", b"1")
    with pytest.raises(LockLostError):
        late.apply(fence=("leader", token))
    assert second.get(b"written-by-old-holder") is None
    fenced = second.batch()
    fenced.set(b"written-by-new-holder", b"1")
    fenced.apply(fence=("leader", new_token))
    assert first.get(b"written-by-new-holder") == b"1"
