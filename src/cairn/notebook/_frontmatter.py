"""Runbook frontmatter: YAML (`---`), TOML (`+++`) or JSON (`{...}`), kept verbatim.

The raw text is the source of truth; `data` is its parsed view (None when it does
not parse, in which case `error` says why and the text is still written back as is).
Edits (`set_runme_fields`) change the text in place so users' comments and layout
survive; only where that is impossible is the block re-dumped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import NotebookError

FrontmatterFormat = Literal["yaml", "toml", "json"]

_DELIMS: dict[str, FrontmatterFormat] = {"---": "yaml", "+++": "toml"}


@dataclass
class Frontmatter:
    """The frontmatter block exactly as written, plus its parsed data."""

    raw: str
    format: FrontmatterFormat
    data: dict[str, Any] | None = None
    error: str | None = None
    newline: str = "\n"
    _body_start: int = field(default=0, repr=False)  # offset of the content in `raw`
    _body_end: int = field(default=0, repr=False)  # offset of the closing delimiter

    @property
    def body(self) -> str:
        return self.raw[self._body_start : self._body_end]

    def _get(self, key: str) -> Any:
        return (self.data or {}).get(key)

    @property
    def shell(self) -> str | None:
        value = self._get("shell")
        return str(value) if value else None

    @property
    def cwd(self) -> str | None:
        value = self._get("cwd")
        return str(value) if value else None

    @property
    def skip_prompts(self) -> bool:
        return str(self._get("skipPrompts")).lower() == "true"

    @property
    def runme(self) -> dict[str, Any]:
        value = self._get("runme")
        return value if isinstance(value, dict) else {}

    @property
    def document_id(self) -> str | None:
        value = self.runme.get("id")
        return str(value) if value else None


def _line_end(text: str, start: int) -> int:
    """Offset just past the line that starts at `start` (including its newline)."""
    m = re.compile(r"\r\n|\r|\n").search(text, start)
    return len(text) if m is None else m.end()


def _parse_data(fmt: FrontmatterFormat, body: str) -> tuple[dict[str, Any] | None, str | None]:
    # Imported here: most runbooks have no frontmatter, and yaml costs ~12 ms to import.
    import tomllib

    import yaml

    try:
        if fmt == "yaml":
            loaded = yaml.safe_load(body) if body.strip() else {}
        elif fmt == "toml":
            loaded = tomllib.loads(body)
        else:
            loaded = json.loads(body)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"invalid {fmt.upper()} frontmatter: {first}"
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        return None, f"{fmt.upper()} frontmatter is not a mapping"
    return loaded, None


def split_frontmatter(text: str) -> tuple[Frontmatter | None, str]:
    """Split `text` into its frontmatter (if any) and the Markdown body after it."""
    first_end = _line_end(text, 0)
    first = text[:first_end]
    newline = first[len(first.rstrip("\r\n")) :] or "\n"
    marker = first.rstrip("\r\n").rstrip(" \t")
    if marker in _DELIMS and first_end < len(text):
        fmt = _DELIMS[marker]
        pos = first_end
        while pos < len(text):
            end = _line_end(text, pos)
            if text[pos:end].rstrip("\r\n").rstrip(" \t") == marker:
                raw = text[:end]
                data, error = _parse_data(fmt, text[first_end:pos])
                fm = Frontmatter(raw, fmt, data, error, newline, first_end, pos)
                return fm, text[end:]
            pos = end
        return None, text  # no closing delimiter: not frontmatter, just Markdown
    if marker.startswith("{"):
        try:
            obj, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return None, text
        if isinstance(obj, dict):
            end = _line_end(text, end) if text[end : _line_end(text, end)].strip() == "" else -1
            if end > 0:
                fm = Frontmatter(text[:end], "json", obj, None, newline, 0, end)
                return fm, text[end:]
    return None, text


# --- editing -------------------------------------------------------------------------


def _yaml_scalar(value: str) -> str:
    import yaml

    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return dumped[: -len("...")].strip() if dumped.endswith("...") else dumped


def _set_yaml(fm: Frontmatter, fields: dict[str, Any]) -> str | None:
    """Insert missing `runme.*` keys textually; None when the layout is too unusual."""
    nl = fm.newline
    body = fm.body
    lines = body.splitlines(keepends=True)
    runme_at = next(
        (i for i, ln in enumerate(lines) if re.match(r"runme\s*:\s*(#.*)?$", ln.rstrip("\r\n"))),
        None,
    )

    def render(mapping: dict[str, Any], indent: str, step: str) -> list[str]:
        out = []
        for key, value in mapping.items():
            if isinstance(value, dict):
                out.append(f"{indent}{key}:{nl}")
                out.extend(render(value, indent + step, step))
            else:
                out.append(f"{indent}{key}: {_yaml_scalar(str(value))}{nl}")
        return out

    existing = fm.runme
    if runme_at is None:
        if "runme" in (fm.data or {}):
            return None  # `runme: {…}` in flow style or similar
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += nl
        lines.extend([f"runme:{nl}", *render(fields, "  ", "  ")])
    else:
        nxt = lines[runme_at + 1] if runme_at + 1 < len(lines) else ""
        indent = re.match(r"[ \t]*", nxt).group(0) if nxt.strip() else "  "  # type: ignore[union-attr]
        if not indent:
            indent = "  "
        missing = {k: v for k, v in fields.items() if k not in existing}
        if any(isinstance(existing.get(k), dict) for k in fields if k in existing):
            return None
        lines[runme_at + 1 : runme_at + 1] = render(missing, indent, indent)
    return "".join(lines)


def _set_toml(fm: Frontmatter, fields: dict[str, Any]) -> str:
    nl = fm.newline
    body = fm.body
    lines = body.splitlines(keepends=True)
    existing = fm.runme
    scalars = {k: v for k, v in fields.items() if not isinstance(v, dict) and k not in existing}
    tables = {k: v for k, v in fields.items() if isinstance(v, dict)}
    header = next((i for i, ln in enumerate(lines) if ln.strip() == "[runme]"), None)
    rendered = [f"{k} = {json.dumps(str(v), ensure_ascii=False)}{nl}" for k, v in scalars.items()]
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    if header is None and scalars:
        lines.extend([f"[runme]{nl}", *rendered])
    elif header is not None:
        lines[header + 1 : header + 1] = rendered
    for name, table in tables.items():
        lines.append(f"[runme.{name}]{nl}")
        lines.extend(
            f"{k} = {json.dumps(str(v), ensure_ascii=False)}{nl}" for k, v in table.items()
        )
    return "".join(lines)


def _merge(base: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif key not in out or isinstance(value, dict):
            out[key] = value
    return out


def set_runme_fields(
    fm: Frontmatter | None, fields: dict[str, Any], newline: str = "\n"
) -> Frontmatter:
    """Return frontmatter with `runme.<key>` set for every key not already present.

    Existing values are never replaced (an existing document id is kept), except
    nested tables such as `session`, which are merged.
    """
    if fm is None:
        created = "".join(_render_yaml_runme(fields, newline))
        raw = f"---{newline}{created}---{newline}{newline}"
        new, _ = split_frontmatter(raw)
        assert new is not None
        new.raw = raw
        return new
    if fm.data is None:
        raise NotebookError(f"cannot add runme fields: {fm.error}; fix the frontmatter first")
    body: str | None
    if fm.format == "yaml":
        body = _set_yaml(fm, fields)
        if body is None:
            import yaml

            data = dict(fm.data)
            data["runme"] = _merge(fm.runme, fields)
            body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).replace(
                "\n", fm.newline
            )
    elif fm.format == "toml":
        if any(isinstance(v, dict) and k in fm.runme for k, v in fields.items()):
            raise NotebookError(
                "cannot merge into an existing [runme] sub-table of TOML frontmatter"
            )
        body = _set_toml(fm, fields)
    else:
        data = dict(fm.data)
        data["runme"] = _merge(fm.runme, fields)
        dumped = json.dumps(data, ensure_ascii=False, indent=2).replace("\n", fm.newline)
        parsed, _ = split_frontmatter(dumped + fm.newline)
        assert parsed is not None
        return parsed
    raw = fm.raw[: fm._body_start] + body + fm.raw[fm._body_end :]
    parsed, rest = split_frontmatter(raw)
    if parsed is None or rest:
        raise NotebookError("editing the frontmatter produced an unparsable block")
    return parsed


def _render_yaml_runme(fields: dict[str, Any], nl: str) -> list[str]:
    out = [f"runme:{nl}"]

    def walk(mapping: dict[str, Any], indent: str) -> None:
        for key, value in mapping.items():
            if isinstance(value, dict):
                out.append(f"{indent}{key}:{nl}")
                walk(value, indent + "  ")
            else:
                out.append(f"{indent}{key}: {_yaml_scalar(str(value))}{nl}")

    walk(fields, "  ")
    return out
