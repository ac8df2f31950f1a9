"""Tools for the agent's tests: reads that report the state they saw, writes that record
their side effect (after the write barrier) with the loop's time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.agent import Tool, ToolContext

SCHEMA = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "unit": {"type": "string", "default": "s"}},
    "required": ["x"],
}


@dataclass
class World:
    latency: Mapping[tuple[str, int], float] = field(default_factory=dict)
    fail: frozenset[tuple[str, int]] = frozenset()
    state: dict[str, int] = field(default_factory=dict)
    effects: list[tuple[float, str, int]] = field(default_factory=list)
    runs: list[tuple[float, str, int]] = field(default_factory=list)
    guess_right: frozenset[tuple[str, int]] = frozenset()

    def tools(self) -> list[Tool]:
        return [
            self._read("read_a", "a"),
            self._read("read_w", "w"),
            self._write("write_w", "w", "write"),
            self._write("send_x", "x", "external"),
        ]

    def _read(self, name: str, scope: str) -> Tool:
        async def run(args: dict[str, Any], ctx: ToolContext) -> str:
            loop = asyncio.get_running_loop()
            self.runs.append((loop.time(), name, args["x"]))
            seen = self.state.get(scope, 0)
            await asyncio.sleep(self.latency.get((name, args["x"]), 0.1))
            if (name, args["x"]) in self.fail:
                raise RuntimeError(f"{name} broke on {args['x']}")
            return f"{name}({args['x']},{args['unit']}) saw {seen}"

        def guess(args: dict[str, Any]) -> str | None:
            right = (name, args["x"]) in self.guess_right
            return (
                f"{name}({args['x']},{args['unit']}) saw {self.state.get(scope, 0)}"
                if right
                else "a wrong guess"
            )

        return Tool(
            name, f"read {scope}", run, SCHEMA, "read", frozenset({"unit_hint"}), guess, 30.0, scope
        )

    def _write(self, name: str, scope: str, effect: str) -> Tool:
        async def run(args: dict[str, Any], ctx: ToolContext) -> str:
            loop = asyncio.get_running_loop()
            self.runs.append((loop.time(), name, args["x"]))
            await asyncio.sleep(self.latency.get((name, args["x"]), 0.1) / 2)
            await ctx.barrier.wait()
            if (name, args["x"]) in self.fail:
                raise RuntimeError(f"{name} refused {args['x']}")
            self.state[scope] = self.state.get(scope, 0) + 1
            self.effects.append((loop.time(), name, args["x"]))
            await asyncio.sleep(self.latency.get((name, args["x"]), 0.1) / 2)
            return f"{name} did {args['x']}"

        return Tool(name, f"write {scope}", run, SCHEMA, effect, frozenset(), None, 30.0, scope)  # type: ignore[arg-type]
