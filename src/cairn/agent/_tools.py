"""Tools the agent may call: a name, a description, a JSON Schema for the arguments (or a
pydantic model), an effect (`read`, `write`, `external`), keys ignored when matching a
guessed call, an optional guessed result, a timeout, and the resource scope whose epoch a
write bumps.

`Tool.parse(arguments)` validates the model's JSON text and returns the arguments with the
schema's defaults applied and the canonical key a speculative run is matched by: same
tool, equal arguments once parsed, defaults applied and ignored keys (and any `debug_`
key) dropped; key order and whitespace never matter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ..llm import ToolDef
from ._errors import ToolError

if TYPE_CHECKING:
    from ._barrier import ToolContext

Effect = Literal["read", "write", "external"]
Run = Callable[[dict[str, Any], "ToolContext"], Awaitable[str]]


@dataclass(frozen=True)
class Parsed:
    """A call's arguments, validated, with defaults; `key` is what matching compares."""

    args: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    run: Run
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    effect: Effect = "read"
    ignore: frozenset[str] = frozenset()
    speculative_result: Callable[[dict[str, Any]], str | None] | None = None
    timeout: float = 30.0
    scope: str = "default"
    model: Any = None  # a pydantic model class, when the schema came from one
    _validator: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_model(cls, name: str, description: str, model: Any, run: Run, **kw: Any) -> Tool:
        """A tool whose arguments are the pydantic `model` (its JSON Schema is sent)."""
        return cls(name, description, run, model.model_json_schema(), model=model, **kw)

    def definition(self) -> ToolDef:
        return ToolDef(self.name, self.description, dict(self.parameters))

    def parse(self, arguments: str | Mapping[str, Any]) -> Parsed:
        """Validated arguments and their matching key; ToolError saying what is wrong."""
        if isinstance(arguments, str):
            try:
                data = orjson.loads(arguments or "{}")
            except orjson.JSONDecodeError as exc:
                raise ToolError(f"the arguments of {self.name} are not JSON ({exc})") from None
        else:
            data = dict(arguments)
        if not isinstance(data, dict):
            raise ToolError(f"the arguments of {self.name} must be a JSON object")
        args = self._validated(data)
        kept = {
            k: v for k, v in args.items() if k not in self.ignore and not k.startswith("debug_")
        }
        return Parsed(args, orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode())

    def _validated(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.model is not None:
            from pydantic import ValidationError

            try:
                dumped: dict[str, Any] = self.model.model_validate(data).model_dump(mode="json")
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "arguments"
                raise ToolError(f"{self.name}: {where}: {first['msg']}") from None
            return dumped
        import jsonschema

        if self._validator is None:  # checked and built once: validation is per call
            try:
                cls = jsonschema.validators.validator_for(dict(self.parameters))
                cls.check_schema(dict(self.parameters))
            except jsonschema.SchemaError as exc:
                raise ToolError(f"{self.name} has an invalid schema: {exc.message}") from None
            object.__setattr__(self, "_validator", cls(dict(self.parameters)))
        with_defaults = _defaults(dict(self.parameters), data)
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(with_defaults))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "arguments"
            raise ToolError(f"{self.name}: {where}: {error.message}")
        return dict(with_defaults)


def _defaults(schema: dict[str, Any], data: Any) -> Any:
    """`data` with the `default`s of the schema's object properties filled in (jsonschema
    validates but never fills defaults)."""
    if not isinstance(data, dict) or not isinstance(schema.get("properties"), dict):
        return data
    out = dict(data)
    for name, sub in schema["properties"].items():
        if not isinstance(sub, dict):
            continue
        if name not in out and "default" in sub:
            out[name] = sub["default"]
        if name in out:
            out[name] = _defaults(sub, out[name])
    return out
