"""The last word on a tool result's size: whatever a tool returns, the client receives at most
``OPENAI_IMAGE_MCP_RESULT_BUDGET_BYTES`` of JSON.

Tools size their previews to fit, so this rarely changes anything. When a result is still too big
(very long prompts, long lists, a tiny budget), it degrades in steps, re-measuring after each:
long strings are cut (1000, 300, 100, then 40 characters), then preview images are dropped (the
resource links stay), then lists are halved; the structured content then says ``truncated: true``
with a note on how to get the rest, and its JSON text mirror is rebuilt.
"""

from __future__ import annotations

import json
from typing import Any

#: Bytes kept free for the JSON-RPC envelope around the result.
ENVELOPE = 400
STRING_LIMITS = (1_000, 300, 100, 40)
NOTE = (
    "Parts of this result were shortened to fit the result budget (OPENAI_IMAGE_MCP_RESULT_BUDGET_BYTES): "
    "long texts are cut, previews may be left out (view_image shows them), lists may be shorter (page with "
    "offset/limit, or read the resources)."
)


def size_of(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _cap(obj: Any, limit: int) -> Any:
    if isinstance(obj, str):
        return obj if len(obj) <= limit else obj[: limit - 1] + "…"
    if isinstance(obj, list):
        return [_cap(v, limit) for v in obj]
    if isinstance(obj, dict):
        return {k: _cap(v, limit) for k, v in obj.items()}
    return obj


def _halve_lists(obj: Any) -> Any:
    if isinstance(obj, list):
        return (
            [_halve_lists(v) for v in obj[: max(1, len(obj) // 2)]] if len(obj) > 1 else [_halve_lists(v) for v in obj]
        )
    if isinstance(obj, dict):
        return {k: _halve_lists(v) for k, v in obj.items()}
    return obj


def _is_mirror(block: dict[str, Any], structured: Any) -> bool:
    if block.get("type") != "text":
        return False
    try:
        return bool(json.loads(block.get("text", "")) == structured)
    except ValueError:
        return False


def fit_to_budget(result: dict[str, Any], budget: int) -> dict[str, Any]:
    """``result`` (a tools/call result in wire form) cut down to ``budget`` bytes if needed."""
    limit = budget - ENVELOPE
    if size_of(result) <= limit:
        return result
    structured = result.get("structuredContent")
    content = [c for c in result.get("content") or [] if isinstance(c, dict)]
    mirrored = structured is not None and any(_is_mirror(c, structured) for c in content)
    others = [c for c in content if not (structured is not None and _is_mirror(c, structured))]

    def build(sc: Any, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        if isinstance(sc, dict):
            sc = {**sc, "truncated": True, "note": NOTE}
        out_blocks = list(blocks)
        if mirrored:
            out_blocks.append({"type": "text", "text": json.dumps(sc, ensure_ascii=False)})
        out = {**result, "content": out_blocks}
        if structured is not None:
            out["structuredContent"] = sc
        return out

    sc, blocks = structured, others
    for cap in STRING_LIMITS:
        sc = _cap(sc, cap)
        blocks = [_cap_text(b, cap) for b in blocks]
        candidate = build(sc, blocks)
        if size_of(candidate) <= limit:
            return candidate
    while any(b.get("type") == "image" for b in blocks):
        biggest = max((b for b in blocks if b.get("type") == "image"), key=lambda b: len(b.get("data", "")))
        blocks = [b for b in blocks if b is not biggest]
        candidate = build(sc, blocks)
        if size_of(candidate) <= limit:
            return candidate
    for _ in range(12):
        sc = _halve_lists(sc)
        blocks = blocks[: max(1, len(blocks) // 2)]
        candidate = build(sc, blocks)
        if size_of(candidate) <= limit:
            return candidate
    # Nothing smaller helped (a structure of very many keys): only the outcome and its error type are left.
    last: dict[str, Any] = {"success": not result.get("isError")}
    if isinstance(structured, dict) and isinstance(structured.get("error_type"), str):
        last["error_type"] = _cap(structured["error_type"], 40)
    return build(last, [])


def _cap_text(block: dict[str, Any], limit: int) -> dict[str, Any]:
    if block.get("type") == "text":
        return {**block, "text": _cap(block.get("text", ""), limit)}
    if block.get("type") == "resource_link":
        return {k: (_cap(v, limit) if k in ("description", "name") else v) for k, v in block.items()}
    return block
