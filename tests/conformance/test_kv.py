"""The KV contract. Every backend passes every test here; none has tests of its own
for behaviour the contract covers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from cairn.store import (
    KV,
    KeyTypeError,
    LockError,
    LockLostError,
    LockTimeoutError,
    StoreClosedError,
)

from .conftest import Backend


def _all(kv: KV) -> list[tuple[bytes, bytes]]:
    return list(kv.scan(b"", b"\xff" * 8))


def test_get_set_and_missing_keys(kv: KV) -> None:
    assert kv.get(b"missing") is None
    kv.set(b"k", b"v1")
    assert kv.get(b"k") == b"v1"
    kv.set(b"k", b"v2")
    assert kv.get(b"k") == b"v2"
    kv.set(b"empty", b"")
    assert kv.get(b"empty") == b""
    kv.set(b"\x00\xff", b"\x00binary\xff")
    assert kv.get(b"\x00\xff") == b"\x00binary\xff"


def test_scan_is_ordered_and_inclusive_at_both_ends(kv: KV) -> None:
    for key in [b"b", b"a", b"d", b"c", b"e", b"\x00", b"\xff"]:
        kv.set(key, key.upper())
    assert [k for k, _ in kv.scan(b"b", b"d")] == [b"b", b"c", b"d"]
    assert [k for k, _ in kv.scan(b"bb", b"cc")] == [b"c"]
    assert list(kv.scan(b"d", b"b")) == []
    assert list(kv.scan(b"x", b"y")) == []
    assert [k for k, _ in _all(kv)] == [b"\x00", b"a", b"b", b"c", b"d", b"e", b"\xff"]
    assert dict(kv.scan(b"a", b"a")) == {b"a": b"A"}


def test_scan_orders_bytes_unsigned(kv: KV) -> None:
    keys = [bytes([i]) for i in (0x7F, 0x80, 0x01, 0xFE)] + [b"\x80\x00", b"\x7f\xff"]
    for key in keys:
        kv.set(key, b"")
    assert [k for k, _ in _all(kv)] == sorted(keys)


def test_scan_is_lazy_across_pages_and_survives_early_break(kv: KV) -> None:
    with kv.batch() as batch:
        for i in range(1500):
            batch.set(b"key%05d" % i, b"%d" % i)
    seen = []
    for key, _ in kv.scan(b"key", b"key\xff"):
        seen.append(key)
        if len(seen) == 700:
            break
    assert seen == [b"key%05d" % i for i in range(700)]
    kv.set(b"after-break", b"ok")  # the store is usable after an abandoned scan
    assert kv.get(b"after-break") == b"ok"
    assert len(list(kv.scan(b"key", b"key\xff"))) == 1500


def test_delete_and_delete_range(kv: KV) -> None:
    for key in [b"a", b"b", b"c", b"d", b"e"]:
        kv.set(key, b"1")
    kv.delete(b"a")
    kv.delete(b"never-there")
    kv.delete_range(b"b", b"d")
    assert [k for k, _ in _all(kv)] == [b"e"]
    kv.delete_range(b"z", b"a")  # empty range: nothing happens
    assert kv.get(b"e") == b"1"


def test_batch_applies_ops_in_order(kv: KV) -> None:
    kv.set(b"a", b"old")
    kv.set(b"c", b"old")
    batch = kv.batch()
    batch.delete(b"a")
    batch.set(b"a", b"new")
    batch.set(b"b", b"new")
    batch.delete_range(b"b", b"c")
    batch.set(b"c", b"newest")
    assert kv.get(b"b") is None  # nothing is visible before apply
    batch.apply()
    assert _all(kv) == [(b"a", b"new"), (b"c", b"newest")]


def test_repeated_apply_is_a_no_op(kv: KV) -> None:
    batch = kv.batch()
    batch.set(b"x", b"1")
    batch.apply()
    kv.set(b"x", b"2")
    batch.apply()  # empty now: must not write x=1 again
    assert kv.get(b"x") == b"2"
    assert len(batch) == 0
    kv.batch().apply()


def test_batch_of_several_megabytes_is_atomic(kv: KV) -> None:
    batch = kv.batch()
    value = os.urandom(64 * 1024)
    for i in range(64):  # 4 MiB
        batch.set(b"big%03d" % i, value)
    assert batch.maybe_apply() is True
    assert len(list(kv.scan(b"big", b"big\xff"))) == 64


def test_keys_and_values_must_be_bytes(kv: KV) -> None:
    with pytest.raises(KeyTypeError, match="key must be bytes, not str"):
        kv.set("text", b"v")  # type: ignore[arg-type]
    with pytest.raises(KeyTypeError, match="value must be bytes"):
        kv.set(b"k", 12)  # type: ignore[arg-type]
    with pytest.raises(KeyTypeError):
        kv.batch().delete(None)  # type: ignore[arg-type]
    assert kv.get(b"k") is None


def test_data_survives_reopen(backend: Backend) -> None:
    first = backend()
    first.set(b"durable", b"yes")
    with first.batch() as batch:
        batch.set(b"also", b"yes")
    first.close()
    second = backend()
    assert second.get(b"durable") == b"yes"
    assert second.get(b"also") == b"yes"


def test_closed_store_refuses_use(backend: Backend) -> None:
    kv = backend()
    kv.close()
    kv.close()  # closing twice is fine
    with pytest.raises(StoreClosedError):
        kv.get(b"k")
    with pytest.raises(StoreClosedError):
        kv.set(b"k", b"v")


def test_unlock_of_a_lock_not_held_is_an_error(kv: KV) -> None:
    with pytest.raises(LockError, match="not held"):
        kv.unlock("never-locked")
    kv.lock("once")
    kv.unlock("once")
    with pytest.raises(LockError, match="not held"):
        kv.unlock("once")


def test_lock_blocks_a_second_holder(backend: Backend) -> None:
    a, b = backend(), backend()
    token = a.lock("job")
    with pytest.raises(LockTimeoutError):
        b.lock("job", timeout=0.2)
    assert b.lock("other", timeout=1) >= 1  # different names do not conflict
    acquired = threading.Event()

    def waiter() -> None:
        b.lock("job")
        acquired.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not acquired.wait(0.2)
    a.unlock("job")
    assert acquired.wait(10)
    thread.join()
    b.unlock("job")
    assert a.lock("job", timeout=5) > token  # fencing tokens only grow


def test_fenced_batch_fails_once_the_lock_moved_on(backend: Backend) -> None:
    a, b = backend(), backend()
    token = a.lock("leader")
    fenced = a.batch()
    fenced.set(b"written-by-a", b"1")
    fenced.apply(fence=("leader", token))
    assert b.get(b"written-by-a") == b"1"
    a.unlock("leader")
    b.lock("leader")
    late = a.batch()
    late.set(b"late-write", b"1")
    with pytest.raises(LockLostError):
        late.apply(fence=("leader", token))
    assert b.get(b"late-write") is None


def test_a_batch_with_several_fences_applies_only_while_every_lock_is_held(
    backend: Backend,
) -> None:
    a, b = backend(), backend()
    one, two = a.lock("one"), a.lock("two")
    both = a.batch()
    both.set(b"both", b"1")
    both.apply(fence=[("one", one), ("two", two)])
    assert b.get(b"both") == b"1"
    a.unlock("two")
    b.lock("two")  # the second lock moved on; the first is still a's
    late = a.batch()
    late.set(b"late", b"1")
    with pytest.raises(LockLostError):
        late.apply(fence=[("one", one), ("two", two)])
    assert b.get(b"late") is None


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from cairn.store import open_store
    kv = open_store(sys.argv[1])
    kv.lock("shared")
    print("locked", flush=True)
    time.sleep(600)
    """
)


def test_lock_blocks_a_holder_in_another_process_and_is_freed_when_it_dies(
    shared_backend: Backend,
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, shared_backend.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        kv = shared_backend()
        with pytest.raises(LockTimeoutError):
            kv.lock("shared", timeout=0.3)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert kv.lock("shared", timeout=15) >= 2
    finally:
        child.kill()
        child.wait()
