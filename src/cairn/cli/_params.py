"""Numeric option types: every number a command takes has a finite, bounded range.

click's FloatRange lets NaN through (it fails no comparison) and accepts infinity when
a bound is open, and a range without a maximum takes 1e300; each ended in an internal
error somewhere downstream. These types reject them as usage errors (exit 2) that name
the option and the accepted range.
"""

from __future__ import annotations

import math
from typing import Any

import click


class Finite(click.FloatRange):
    """A float in [min, max] (both required); NaN and infinities are refused."""

    name = "number"

    def __init__(self, min: float, max: float, *, min_open: bool = False) -> None:
        super().__init__(min=min, max=max, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(
                f"{value} is not a finite number; accepted: {self._describe_range()}.", param, ctx
            )
        return super().convert(number, param, ctx)


class Count(click.IntRange):
    """An integer in [min, max] (both required)."""

    name = "integer"

    def __init__(self, min: int, max: int) -> None:
        super().__init__(min=min, max=max)


class Duration(click.ParamType[float, Any]):
    """A timeout such as 30, 30s, 2m, 500ms: more than 0, at most a week."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        from ..kernel import KernelError, parse_timeout

        try:
            return parse_timeout(str(value))
        except KernelError as exc:
            self.fail(str(exc), param, ctx)
