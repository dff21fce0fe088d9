"""fit_to_budget's last resort: when nothing smaller fits, the outcome is kept and nothing is invented."""

from __future__ import annotations

import json
from typing import Any

from openai_image_mcp.tools.budget import fit_to_budget, size_of


def _result(structured: dict[str, Any], *, is_error: bool) -> dict[str, Any]:
    return {
        "content": [{"type": "text", "text": json.dumps(structured)}],
        "structuredContent": structured,
        "isError": is_error,
    }


def test_a_result_of_very_many_keys_keeps_only_its_outcome() -> None:
    many = {f"key_{i}": i for i in range(3_000)}
    ok = fit_to_budget(_result({"success": True, **many}, is_error=False), 2_000)
    assert ok["structuredContent"]["success"] is True and ok["structuredContent"]["truncated"] is True
    assert "error" not in ok["structuredContent"]
    failed = fit_to_budget(_result({"success": False, "error_type": "upstream_error", **many}, is_error=True), 2_000)
    assert failed["structuredContent"]["success"] is False
    assert failed["structuredContent"]["error_type"] == "upstream_error"
    assert json.loads(failed["content"][-1]["text"]) == failed["structuredContent"]
    assert size_of(failed) <= 2_000
