"""Build ``tests/data/openai-schemas.json`` from OpenAI's published OpenAPI spec.

Run by hand when the vendored spec is refreshed; tests only read the output file::

    .venv/bin/python tests/data/trim_openai_schemas.py /path/to/openapi.yaml tests/data/openai-schemas.json

Steps:

1. Load the spec (``.json``, or ``.yaml``/``.yml`` with PyYAML).
2. Take the transitive closure of ``#/components/schemas/...`` references starting at ``ROOTS`` (roots that the spec
   does not have are skipped with a note on stderr).
3. Drop annotation-only keywords (descriptions, titles, examples, ``x-*`` extensions, ``discriminator``) so the file
   stays small. Validation keywords (``type``, ``enum``, ``required``, ``pattern``, ``default`` ...) are kept.
4. Sanitize for JSON Schema 2020-12 (the recipe of the reference notes, §4.4): ``nullable`` without ``type`` becomes an
   ``anyOf``/``oneOf`` branch ``{"type": "null"}``; ``nullable`` with a ``type`` becomes a type list (and ``null`` joins
   its ``enum``); every ``oneOf`` becomes ``anyOf`` (union semantics: OpenAI's unions overlap, e.g. EasyInputMessage vs
   Message).
5. Overlay what the SDK (openai 3.5x) sends or receives and the spec (Aug 2026) lacks: quality ``xhigh``/``max``,
   output formats ``gif``/``svg``, custom ``WxH`` sizes, the newer tool options and tool-call fields such as
   ``revised_prompt``, and ``tool_usage`` when ``Response`` is part of the closure. Enums are relaxed, never tightened.

The output has the shape ``{"x-source": "...", "components": {"schemas": {...}}}``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOTS: tuple[str, ...] = (
    "CreateResponse",
    "CreateImageRequest",
    "CreateImageEditRequest",
    "EditImageBodyJsonParam",
    "ImagesResponse",
    "Error",
    "ErrorResponse",
)

# Provenance of the copy the project was built from (see the reference notes, §4.1).
DEFAULT_REPO = "openai/openai-openapi"
DEFAULT_COMMIT = "f85dbe22"
DEFAULT_SPEC_DATE = "2026-08-21"

REF_PREFIX = "#/components/schemas/"

# Keywords that only annotate; dropping them does not change what validates.
ANNOTATIONS = frozenset(
    {"description", "title", "example", "examples", "discriminator", "externalDocs", "xml", "$comment", "deprecated"}
)
# Keywords whose value maps names to subschemas.
SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
# Keywords whose value is one subschema.
SCHEMA_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "additionalItems",
    }
)
# Keywords whose value is a list of subschemas.
SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})

SIZE_PATTERN = "^[1-9][0-9]*x[1-9][0-9]*$"
NEW_QUALITIES = ("xhigh", "max")
NEW_FORMATS = ("gif", "svg")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

Json = Any


def load_spec(path: Path) -> dict[str, Json]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(text, Loader=loader)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not an OpenAPI document")
    return data


def iter_refs(node: Json) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


def closure(schemas: dict[str, Json], roots: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in schemas]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for ref in iter_refs(schemas[name]):
            if not ref.startswith(REF_PREFIX):
                raise SystemExit(f"unsupported reference {ref!r} in {name}")
            target = ref[len(REF_PREFIX) :]
            if target not in schemas:
                raise SystemExit(f"dangling reference {ref!r} in {name}")
            todo.append(target)
    return sorted(seen)


def strip_annotations(schema: Json) -> Json:
    """Copy of ``schema`` without annotation keywords, walking only schema positions (a property may be named
    ``description``)."""
    if isinstance(schema, list):
        return [strip_annotations(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Json] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_annotations(sub) for name, sub in value.items()}
        elif key in SCHEMA_ONE and isinstance(value, dict):
            out[key] = strip_annotations(value)
        elif key in SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip_annotations(sub) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    return out


def sanitize(node: Json) -> None:
    """In place: OpenAPI ``nullable`` to JSON Schema, ``oneOf`` to ``anyOf`` (reference notes §4.4, extended to
    typed ``nullable``)."""
    if isinstance(node, dict):
        if "nullable" in node:
            nullable = node.pop("nullable")
            if nullable:
                if "type" not in node:
                    for key in ("anyOf", "oneOf"):
                        if key in node:
                            if {"type": "null"} not in node[key]:
                                node[key].append({"type": "null"})
                            break
                else:
                    types = node["type"] if isinstance(node["type"], list) else [node["type"]]
                    if "null" not in types:
                        node["type"] = [*types, "null"]
                    if "enum" in node and None not in node["enum"]:
                        node["enum"].append(None)
        if "oneOf" in node and "anyOf" not in node:
            node["anyOf"] = node.pop("oneOf")
        for value in list(node.values()):
            sanitize(value)
    elif isinstance(node, list):
        for value in node:
            sanitize(value)


def _extend_enums(node: Json, values: Iterable[str], *, must_contain: str) -> int:
    """Append ``values`` to every string enum under ``node`` that already lists ``must_contain`` (not following
    ``$ref``). Returns how many enums were changed."""
    changed = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and must_contain in enum:
            for value in values:
                if value not in enum:
                    enum.append(value)
            changed += 1
        for key, value in node.items():
            if key != "enum":
                changed += _extend_enums(value, values, must_contain=must_contain)
    elif isinstance(node, list):
        for value in node:
            changed += _extend_enums(value, values, must_contain=must_contain)
    return changed


def _allow_custom_size(prop: dict[str, Json]) -> None:
    """Let a ``size`` property also take any ``WxH`` string (gpt-image-2+ custom sizes)."""
    custom = {"type": "string", "pattern": SIZE_PATTERN}
    if "anyOf" in prop:
        if any(alt == {"type": "string"} for alt in prop["anyOf"]):
            return  # already any string
        if custom not in prop["anyOf"]:
            prop["anyOf"].insert(0, custom)
        return
    if "enum" in prop:
        keep = {k: prop.pop(k) for k in list(prop) if k not in ("default",)}
        prop["anyOf"] = [keep, custom]


def _props(schemas: dict[str, Json], name: str) -> dict[str, Json] | None:
    schema = schemas.get(name)
    if not isinstance(schema, dict):
        return None
    props = schema.setdefault("properties", {})
    return props if isinstance(props, dict) else None


def _nullable(schema: dict[str, Json]) -> dict[str, Json]:
    return {"anyOf": [schema, {"type": "null"}]}


def overlay(schemas: dict[str, Json]) -> list[str]:
    """Relax the spec to what openai 3.5x sends and receives. Returns notes on what was changed."""
    notes: list[str] = []
    image_params = ("CreateImageRequest", "CreateImageEditRequest", "EditImageBodyJsonParam", "ImageGenTool")
    for name in (*image_params, "ImagesResponse", "ImageGenToolCall"):
        props = _props(schemas, name)
        if props is None:
            continue
        if "quality" in props and _extend_enums(props["quality"], NEW_QUALITIES, must_contain="high"):
            notes.append(f"{name}.quality += xhigh, max")
        if "output_format" in props and _extend_enums(props["output_format"], NEW_FORMATS, must_contain="png"):
            notes.append(f"{name}.output_format += gif, svg")
        if "size" in props:
            _allow_custom_size(props["size"])
            notes.append(f"{name}.size accepts WxH")

    svg = {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "reasoning": _nullable(
                {
                    "type": "object",
                    "properties": {
                        "effort": {
                            "anyOf": [
                                {"type": "string", "enum": [*EFFORTS]},
                                {"type": "null"},
                            ]
                        }
                    },
                }
            ),
        },
    }
    newer_params: dict[str, Json] = {
        "complexity": _nullable({"type": "string", "enum": ["low", "medium", "high"]}),
        "frame_count": _nullable({"type": "integer", "minimum": 1}),
        "frame_duration_ms": _nullable({"type": "integer", "minimum": 1}),
        "svg": _nullable(svg),
        "safety_identifier": _nullable({"type": "string"}),
    }
    for name in image_params:
        props = _props(schemas, name)
        if props is None:
            continue
        for key, value in newer_params.items():
            if name == "ImageGenTool" and key == "safety_identifier":
                continue
            props.setdefault(key, copy.deepcopy(value))
        notes.append(f"{name} += complexity, frame_count, frame_duration_ms, svg")
    edit = _props(schemas, "CreateImageEditRequest")
    if edit is not None:
        edit.setdefault("markup", {"type": "string", "format": "binary"})
        edit.setdefault("moderation", _nullable({"type": "string", "enum": ["low", "auto"]}))

    svg_usage = {
        "type": "object",
        "properties": {
            "input_tokens": {"type": "integer"},
            "output_tokens": {"type": "integer"},
            "reasoning_tokens": {"type": "integer"},
            "total_tokens": {"type": "integer"},
            "model": {"type": "string"},
        },
    }
    images = _props(schemas, "ImagesResponse")
    if images is not None:
        images.setdefault("safety_identifier", _nullable({"type": "string"}))
        images.setdefault("svg_usage", _nullable(copy.deepcopy(svg_usage)))
        notes.append("ImagesResponse += safety_identifier, svg_usage")

    call = _props(schemas, "ImageGenToolCall")
    if call is not None:
        call.setdefault("revised_prompt", _nullable({"type": "string"}))
        call.setdefault("action", _nullable({"type": "string", "enum": ["generate", "edit", "auto"]}))
        call.setdefault("background", _nullable({"type": "string", "enum": ["transparent", "opaque", "auto"]}))
        call.setdefault("output_format", _nullable({"type": "string", "enum": ["png", "webp", "jpeg", *NEW_FORMATS]}))
        call.setdefault(
            "quality", _nullable({"type": "string", "enum": ["low", "medium", "high", *NEW_QUALITIES, "auto"]})
        )
        call.setdefault("size", _nullable({"type": "string"}))
        call.setdefault(
            "error",
            _nullable(
                {
                    "type": "object",
                    "properties": {
                        "code": _nullable({"type": "string"}),
                        "message": {"type": "string"},
                        "param": _nullable({"type": "string"}),
                        "type": {"type": "string"},
                        "moderation_details": _nullable(
                            {
                                "type": "object",
                                "properties": {
                                    "categories": {"type": "array", "items": {"type": "string"}},
                                    "moderation_stage": {"type": "string", "enum": ["input", "output", "unknown"]},
                                },
                                "required": ["categories", "moderation_stage"],
                            }
                        ),
                    },
                    "required": ["message", "type"],
                }
            ),
        )
        call.setdefault("svg_usage", _nullable(copy.deepcopy(svg_usage)))
        notes.append("ImageGenToolCall += revised_prompt, action, background, output_format, quality, size, error")

    error = _props(schemas, "Error")
    if error is not None:
        # Image moderation errors add keys to the envelope; the schema has no additionalProperties:false, but say so.
        error.setdefault("moderation_details", {"type": "object"})

    response = _props(schemas, "Response")
    if response is not None:  # only when a caller added Response as a root
        count = {"type": "integer"}
        response.setdefault(
            "tool_usage",
            _nullable(
                {
                    "type": "object",
                    "properties": {
                        "image_gen": {
                            "type": "object",
                            "properties": {
                                "input_tokens": count,
                                "output_tokens": count,
                                "total_tokens": count,
                                "input_tokens_details": {"type": "object"},
                                "output_tokens_details": {"type": "object"},
                            },
                            "required": ["input_tokens", "input_tokens_details", "output_tokens", "total_tokens"],
                        },
                        "web_search": {"type": "object", "properties": {"num_requests": count}},
                    },
                }
            ),
        )
        notes.append("Response += tool_usage")
    return notes


def build(spec: dict[str, Json], roots: Iterable[str]) -> tuple[dict[str, Json], list[str], list[str]]:
    schemas = spec.get("components", {}).get("schemas", {})
    roots = list(roots)
    missing = [r for r in roots if r not in schemas]
    names = closure(schemas, roots)
    out = {name: strip_annotations(schemas[name]) for name in names}
    sanitize(out)
    notes = overlay(out)
    return out, missing, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src_spec", type=Path, help="openapi.yaml / openapi.json")
    parser.add_argument("out_json", type=Path)
    parser.add_argument("--repo", default=DEFAULT_REPO, help=f"source repository (default {DEFAULT_REPO})")
    parser.add_argument("--commit", default=DEFAULT_COMMIT, help=f"source commit (default {DEFAULT_COMMIT})")
    parser.add_argument("--spec-date", default=DEFAULT_SPEC_DATE, help=f"spec date (default {DEFAULT_SPEC_DATE})")
    parser.add_argument("--extra-root", action="append", default=[], help="another schema to start the closure from")
    args = parser.parse_args(argv)

    raw = args.src_spec.read_bytes()
    spec = load_spec(args.src_spec)
    schemas, missing, notes = build(spec, [*ROOTS, *args.extra_root])
    for name in missing:
        sys.stderr.write(f"note: root schema {name} not in the spec; skipped\n")
    version = spec.get("info", {}).get("version", "?")
    provenance = (
        f"{args.src_spec.name} (sha256 {hashlib.sha256(raw).hexdigest()[:16]}, info.version {version}) from "
        f"{args.repo} @ {args.commit} ({args.spec_date}); trimmed {_dt.date.today().isoformat()} by "
        f"tests/data/trim_openai_schemas.py: closure of {', '.join(r for r in ROOTS if r not in missing)}"
        f"{''.join(', ' + r for r in args.extra_root)} ({len(schemas)} schemas), annotations dropped, "
        "nullable/oneOf sanitized for JSON Schema 2020-12, openai 3.5x overlay: " + "; ".join(notes)
    )
    doc = {"x-source": provenance, "components": {"schemas": schemas}}
    args.out_json.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    sys.stderr.write(f"wrote {args.out_json} ({args.out_json.stat().st_size} bytes, {len(schemas)} schemas)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
