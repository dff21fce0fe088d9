"""The result budget: every tool result fits OPENAI_IMAGE_MCP_RESULT_BUDGET_BYTES, and fit_to_budget's last resort
keeps the outcome and invents nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.tools.budget import fit_to_budget, size_of
from tests.support.fake_openai import FakeOpenAI


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


# -- found by the fuzzer (tests/test_fuzz.py), fixed -------------------------------------------------------


async def _many_long_sessions(client: Client) -> CallToolResult:
    for _ in range(15):
        await client.call_tool("create_image_session", {"description": "d" * 4_000})
    return await client.call_tool("list_active_sessions", {})


async def _long_session(client: Client) -> CallToolResult:
    created = await client.call_tool("create_image_session", {"description": "a long session"})
    assert created.structured_content is not None, created.content
    sid = created.structured_content["session"]["session_id"]
    for _ in range(12):
        await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "p" * 32_000})
    return await client.call_tool("get_session_status", {"session_id": sid})


async def _many_long_prompts(client: Client) -> CallToolResult:
    for _ in range(20):
        await client.call_tool("generate_image", {"prompt": "p" * 32_000})
    return await client.call_tool("list_images", {"limit": 100})


async def _refused_long_path(client: Client) -> CallToolResult:
    return await client.call_tool("edit_image", {"image_path": "/" + "\U000e0001" * 4_095, "prompt": "a fox"})


async def _guide(client: Client) -> CallToolResult:
    return await client.call_tool("get_usage_guide", {})


async def _product_batch(client: Client) -> CallToolResult:
    return await client.call_tool("generate_product_image", {"product_description": "a mug", "batch_count": 3})


async def _short_prompt(client: Client) -> CallToolResult:
    return await client.call_tool("generate_image", {"prompt": "a fox"})


async def _long_prompt(client: Client) -> CallToolResult:  # the fake revises a prompt into itself
    return await client.call_tool("generate_image", {"prompt": "p" * 32_000})


@pytest.mark.parametrize(
    ("scenario", "budget"),
    [
        pytest.param(_short_prompt, 8_000, id="generate_image-at-the-minimum-budget"),
        pytest.param(
            _long_prompt,
            8_000,
            id="generate_image-long-revised-prompt-at-the-minimum-budget",
        ),
        pytest.param(
            _many_long_sessions,
            100_000,
            id="list_active_sessions-15-long-descriptions",
        ),
        pytest.param(
            _long_session,
            100_000,
            id="get_session_status-12-long-turns",
        ),
        pytest.param(
            _many_long_prompts,
            100_000,
            id="list_images-20-long-prompts",
        ),
        pytest.param(
            _refused_long_path,
            100_000,
            id="error-repeats-a-4096-char-path",
        ),
        pytest.param(_guide, 8_000, id="get_usage_guide-at-the-minimum-budget"),
        pytest.param(
            _product_batch,
            8_000,
            id="product-batch-of-3-at-the-minimum-budget",
        ),
    ],
)
async def test_results_stay_within_the_budget(
    settings: Settings, fake: FakeOpenAI, scenario: Callable[[Client], Awaitable[CallToolResult]], budget: int
) -> None:
    """README: OPENAI_IMAGE_MCP_RESULT_BUDGET_BYTES is the upper bound on one tool result's size (8000-1000000)."""
    settings = settings.model_copy(update={"result_budget_bytes": budget})
    async with Client(create_server(settings)) as client:
        result = await scenario(client)
    size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert size <= budget, f"{size} bytes"
