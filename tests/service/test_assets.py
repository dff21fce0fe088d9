"""Product shots and UI assets (service/assets.py)."""

from __future__ import annotations

from mcp import Client

from tests.support.fake_openai import FakeOpenAI

# -- found by the fuzzer (tests/test_fuzz.py), fixed --------------------------------------------------------------


async def test_product_batch_keeps_the_upstream_error_type(client: Client, fake: FakeOpenAI) -> None:
    result = await client.call_tool("generate_product_image", {"product_description": "[moderation] a mug"})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error_type"] == "content_rejected", result.structured_content
