"""A 10-turn session whose first turn carries a 3 MB reference image: bytes sent per turn.

Run: .venv/bin/python -m benchmarks.reference_turns
Target: turns 2-10 each under 4 KB (the reference is uploaded once and never re-sent).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio

from benchmarks.common import stdio_server
from tests.support.fake_openai import FakeOpenAI, make_photo_like


async def main() -> None:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        reference = make_photo_like(1400, 1100)  # about 3 MB of PNG
        async with stdio_server(fake, OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS=tmp) as client:
            ref_path = Path(tmp) / "reference.png"
            ref_path.write_bytes(reference)
            r = await client.call_tool(
                "create_image_session", {"description": "product catalogue, match the reference"}
            )
            sid = r.structured_content["session"]["session_id"]  # type: ignore[index]
            for turn in range(1, 11):
                args = {"session_id": sid, "prompt": f"variation {turn}: adjust the framing slightly"}
                if turn == 1:
                    args["reference_image_path"] = str(ref_path)
                r = await client.call_tool("generate_image_in_session", args)
                assert not r.is_error, r.content
        uploads = [len(q.body) for q in fake.requests_to("/files", "POST")]
        turns = [len(q.body) for q in fake.requests_to("/responses")]
    print(f"reference image: {len(reference) / 1e6:.2f} MB; uploads: {len(uploads)} ({sum(uploads) / 1e6:.2f} MB)")
    for i, size in enumerate(turns, 1):
        print(f"turn {i:2d}: {size} bytes")
    print(f"turns 2-10: max {max(turns[1:])} bytes ({max(turns[1:]) / 1024:.2f} KB)")


if __name__ == "__main__":
    anyio.run(main)
