"""The store package's exception hierarchy."""

from __future__ import annotations

from ..errors import CairnError


class StoreError(CairnError):
    """Base class: the store cannot do what was asked."""


class StoreClosedError(StoreError):
    """The store was closed."""


class KeyTypeError(StoreError, TypeError):
    """A key or value is not bytes."""


class CorruptStoreError(StoreError):
    """The database file is not a store, or is damaged."""


class StoreUnavailableError(StoreError):
    """The database server cannot be reached, or went away mid-operation."""


class LockError(StoreError):
    """A lock operation is invalid (for example, unlocking a lock that is not held)."""


class LockTimeoutError(LockError):
    """The lock was not acquired within the timeout."""


class LockLostError(LockError):
    """A write was fenced off: the lock it relied on is no longer held by this writer."""
