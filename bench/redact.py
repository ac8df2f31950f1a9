"""Redaction benchmark: what the one redaction choke point costs per 64 KiB of output
(the most a cell's output event carries), with no known secret values and with 20 of
them registered (each with its base64 copies), against a baseline measured in the same
run: lower-casing the same text once, the least a case-insensitive scan has to do.

Usage: .venv/bin/python bench/redact.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable

from cairn.privacy import Redactor

LINE = (
    "2024-04-25T18:40:13Z INFO request id=7f3a token=none user=dev path=/api/v1/items "
    "status=200 key=value secret=false took=12ms DB_HOST=db PASS=1\n"
)


def _text() -> str:
    text = (LINE * (65536 // len(LINE) + 1))[:65536]
    return text[:30000] + "Authorization: Bearer a8Kd93LmQz71XcVb0Pw4\n" + text[30000:]


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    text = _text()
    base_min, base_med = _best(text.lower, args.repeat)
    plain = Redactor(environ={})
    many = Redactor([secrets.token_urlsafe(16) for _ in range(20)], environ={})
    rows = [
        ("baseline: str.lower() of 64 KiB", base_min, base_med),
        ("redact 64 KiB, no known values", *_best(lambda: plain.redact(text), args.repeat)),
        ("redact 64 KiB, 20 known values + base64", *_best(lambda: many.redact(text), args.repeat)),
    ]
    assert "a8Kd93LmQz71XcVb0Pw4" not in plain.redact(text)
    print(f"{'case':44} {'best ms':>9} {'median ms':>10} {'× baseline':>11}")
    for name, best, median in rows:
        print(f"{name:44} {best * 1e3:9.3f} {median * 1e3:10.3f} {median / base_med:11.1f}")


if __name__ == "__main__":
    main()
