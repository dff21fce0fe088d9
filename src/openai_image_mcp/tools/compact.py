"""Tool definitions that cost the model little: the published ``tools/list`` leaves out what only a
validator needs (titles, string length bounds, the ``null`` branch of optional arguments) and folds
the docstrings' line breaks. The arguments are still validated in full by the server (the SDK's
argument models), so nothing the schema no longer says is accepted that was refused before.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.types import Tool

_DROP = frozenset({"title", "minLength", "maxLength"})
_SPACES = re.compile(r"\s+")


def compact_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [compact_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: compact_schema(v) for k, v in node.items() if k not in _DROP}
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(x for x in any_of if x != {"type": "null"})
        rest = {k: v for k, v in out.items() if k != "anyOf"}
        out = {**other, **rest}
    if "default" in out and out["default"] is None:
        del out["default"]
    if isinstance(out.get("description"), str):
        out["description"] = _SPACES.sub(" ", out["description"]).strip()
    return out


def compact_tool(tool: Tool) -> Tool:
    description = _SPACES.sub(" ", tool.description or "").strip()
    return tool.model_copy(update={"description": description, "input_schema": compact_schema(tool.input_schema)})
