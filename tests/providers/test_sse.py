"""Server-sent events: lines split at CR/LF only, events joined and dispatched on a blank line."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from openai_image_mcp.providers.sse import sse_events, sse_lines
from tests.support.fake_openai import FakeOpenAI


async def test_sse_parser_handles_done_and_multiline_data() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [
            "event: a",
            'data: {"type":',
            'data: "x"}',
            "",
            ": comment",
            'data: {"type": "y"}',
            "",
            "data: [DONE]",
            "",
        ]:
            yield line

    assert [e["type"] async for e in sse_events(lines())] == ["x", "y"]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
async def test_sse_lines_split_only_at_cr_and_lf(size: int) -> None:
    raw = "a\r\nb\rc\n\nd\u2028e\u2029f\u0085g\r\n".encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(raw), size):
            yield raw[i : i + size]

    assert [line async for line in sse_lines(chunks())] == ["a", "b", "c", "", "d\u2028e\u2029f\u0085g"]


# -- found by the fuzzer (tests/test_fuzz.py), fixed --------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"], ids=["U+2028", "U+2029", "U+0085"])
@pytest.mark.parametrize("where", ["prompt", "session_description"])
async def test_event_stream_lines_end_only_at_cr_or_lf(client: Client, fake: FakeOpenAI, char: str, where: str) -> None:
    if where == "prompt":
        result = await client.call_tool("generate_image", {"prompt": f"a fox{char}in the snow"})
    else:  # the Responses API repeats a session's instructions in its events
        created = await client.call_tool("create_image_session", {"description": f"foxes{char}in the snow"})
        assert created.structured_content is not None, created.content
        sid = created.structured_content["session"]["session_id"]
        result = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    assert not result.is_error, result.structured_content
