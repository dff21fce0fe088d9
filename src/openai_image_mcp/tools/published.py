"""Output schemas published from a file generated from the output models, instead of derived at start.

The SDK derives each tool's ``outputSchema`` from its output model when the tool is registered; for
17 tools that took about 20 ms (tools are registered on the first call, see
:mod:`openai_image_mcp.catalogue`).
``output_schemas.json`` holds the same schemas, derived once by ``scripts/refresh-schemas``, with
nested models inlined (no ``$ref``, which some clients do not resolve), and
:class:`~openai_image_mcp.tools.schemas.ToolOutput` hands them to pydantic. A model missing from the
file is derived live as before; ``tests/test_published.py`` fails, naming the command to run, when
the file no longer matches the models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.resources import files
from typing import Any

FILE_NAME = "output_schemas.json"

_live: ContextVar[bool] = ContextVar("live_output_schemas", default=False)
_texts: dict[str, str] | None = None  # model name -> its schema as compact JSON


def _load() -> dict[str, str]:
    global _texts
    if _texts is None:
        try:
            loaded: dict[str, Any] = json.loads(files(__package__).joinpath(FILE_NAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            loaded = {}
        _texts = {name: json.dumps(schema) for name, schema in loaded.items()}
    return _texts


def schema_for(model_name: str) -> dict[str, Any] | None:
    """The published schema of an output model (a fresh copy each time: pydantic and the SDK may change
    it), or None to derive it live."""
    if _live.get():
        return None
    text = _load().get(model_name)
    if text is None:
        return None
    schema: dict[str, Any] = json.loads(text)
    return schema


@contextmanager
def live() -> Iterator[None]:
    """Derive output schemas from the models inside this block (to refresh or check the file)."""
    token = _live.set(True)
    try:
        yield
    finally:
        _live.reset(token)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``{"$ref": "#/$defs/X"}`` replaced by X itself and ``$defs`` dropped."""
    defs: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                raise ValueError(f"output model {name} is recursive; its schema cannot be inlined")
            siblings = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
            return {**resolve(defs[name], (*seen, name)), **siblings}
        return {key: resolve(value, seen) for key, value in node.items() if key != "$defs"}

    result: dict[str, Any] = resolve(schema, ())
    return result


def derive(models: list[type[Any]]) -> dict[str, dict[str, Any]]:
    """The file's content for these pydantic output models: their schemas as the SDK derives them, inlined."""
    derived: dict[str, dict[str, Any]] = {}
    with live():
        for model in sorted(models, key=lambda m: m.__name__):
            if model.__name__ in derived:
                raise ValueError(f"two output models are named {model.__name__}")
            derived[model.__name__] = inline_refs(model.model_json_schema())
    return derived
