"""ULID generation (Crockford base32, 48-bit milliseconds + 80 random bits).

Written here rather than imported from `python-ulid` because that package's import
costs ~45 ms (it reads its own version through importlib.metadata), and every
`cairn` invocation parses a notebook: the CLI's start-up budget is tighter than that.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def new_ulid(now_ms: int | None = None) -> str:
    """Return a new ULID string, sortable by creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_ulid(text: str) -> bool:
    """True when `text` is a canonical (upper-case) ULID."""
    return bool(_ULID_RE.match(text))
