"""Validate request and response bodies against the vendored OpenAI component schemas.

The schemas live in ``tests/data/openai-schemas.json`` (made by ``tests/data/trim_openai_schemas.py``). Validators are
built once per schema name and cached; each check takes about a millisecond.

>>> validate("CreateImageRequest", {"prompt": "a cat", "model": "gpt-image-2"})
[]
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS_PATH = Path(__file__).resolve().parent.parent / "data" / "openai-schemas.json"
_BASE_URI = "urn:openai-schemas"
_lock = threading.Lock()


@functools.cache
def _document() -> dict[str, Any]:
    with SCHEMAS_PATH.open(encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(_document())
    registry: Registry[Any] = Registry().with_resource(_BASE_URI, resource)
    return registry


def schema_names() -> list[str]:
    """The component schema names available for :func:`validate`."""
    return sorted(_document()["components"]["schemas"])


def source() -> str:
    """Provenance of the vendored schemas (the file's ``x-source``)."""
    return str(_document().get("x-source", ""))


@functools.cache
def _validator(schema_name: str) -> Draft202012Validator:
    if schema_name not in _document()["components"]["schemas"]:
        raise KeyError(f"unknown OpenAI schema {schema_name!r}")
    return Draft202012Validator({"$ref": f"{_BASE_URI}#/components/schemas/{schema_name}"}, registry=_registry())


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "<body>"
    message = str(error.message)
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{where}: {message}"


def validate(schema_name: str, body: Any) -> list[str]:
    """Error messages for ``body`` against ``#/components/schemas/<schema_name>``; empty when valid.

    Raises ``KeyError`` for an unknown schema name.
    """
    with _lock:  # building a validator is not thread-safe; after that the lock is uncontended and cheap
        validator = _validator(schema_name)
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(e) for e in errors]
