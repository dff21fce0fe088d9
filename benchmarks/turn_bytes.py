"""Request bytes sent to OpenAI per turn of one session: no history is re-sent.

Run: .venv/bin/python -m benchmarks.turn_bytes
Target: turn 10 under 4 KB.
"""

from __future__ import annotations

import anyio

from benchmarks.common import stdio_server
from tests.support.fake_openai import FakeOpenAI

TURNS = 10
DESCRIPTION = (
    "Children's book illustrations of a small red fox exploring a northern forest through the seasons; "
    "soft watercolor, warm light, consistent character design."
)
PROMPTS = [
    "The fox wakes up in its den at dawn.",
    "Make the light warmer and add mist between the trees.",
    "Add a small blue bird on a branch above the fox.",
    "Make the fox look curious, ears up.",
    "Move the bird closer to the fox.",
    "Give the scene early autumn colours.",
    "Add a few falling leaves.",
    "Make the watercolor texture more visible.",
    "Slightly wider framing so we see more forest.",
    "Final touch: a soft vignette around the edges.",
]


async def main() -> None:
    with FakeOpenAI() as fake:
        async with stdio_server(fake) as client:
            r = await client.call_tool("create_image_session", {"description": DESCRIPTION})
            sid = r.structured_content["session"]["session_id"]  # type: ignore[index]
            for prompt in PROMPTS[:TURNS]:
                r = await client.call_tool(
                    "generate_image_in_session", {"session_id": sid, "prompt": prompt, "size": "1024x1024"}
                )
                assert not r.is_error, r.content
            sizes = [len(req.body) for req in fake.requests_to("/responses")]
    for i, size in enumerate(sizes, 1):
        print(f"turn {i:2d}: {size} bytes")
    print(f"turn {TURNS} request: {sizes[TURNS - 1]} bytes ({sizes[TURNS - 1] / 1024:.2f} KB)")


if __name__ == "__main__":
    anyio.run(main)
