"""get_server_stats reports real figures; get_usage_guide and its resource are the packaged guide."""

from __future__ import annotations

import os

from mcp import Client

from openai_image_mcp import __version__
from openai_image_mcp.tools.guide import read_guide
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def test_server_stats_count_what_happened(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    closed = await new_session(client)
    await client.call_tool("close_session", {"session_id": closed})
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    await client.call_tool("generate_image", {"prompt": "[moderation] no"})
    await client.call_tool("generate_image", {"prompt": "a", "background": "transparent", "output_format": "jpeg"})
    stats = (await client.call_tool("get_server_stats", {})).structured_content
    assert stats is not None
    assert stats["version"] == __version__ and stats["pid"] == os.getpid()
    assert stats["sessions"] == {"active": 1, "closed": 1}
    assert stats["generations"]["succeeded"] == 1
    assert stats["generations"]["failed_by_error_type"] == {"content_rejected": 1, "invalid_input": 1}
    assert stats["openai_latency"]["count"] == 2 and isinstance(stats["openai_latency"]["p50_ms"], float)
    assert stats["images_total"] == 1 and stats["memory_rss_mb"] > 10 and isinstance(stats["uptime_seconds"], float)
    assert stats["api_key_configured"] is True


async def test_usage_guide_tool_and_resource_agree(client: Client) -> None:
    r = await client.call_tool("get_usage_guide", {})
    assert r.structured_content["guide"] == read_guide()  # type: ignore[index]
    resource = await client.read_resource("openai-image://guide")
    assert resource.contents[0].text == read_guide()  # type: ignore[union-attr]
