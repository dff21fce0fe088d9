"""Tool result → image on screen in the studio (the MCP App), in headless Chromium.

The test host page of ``tests/support/studio_host.py`` renders the studio from the server's ``ui://`` resource,
relays the view's requests to the real server (in memory, advertising MCP Apps) and the fake OpenAI. One
1024x1024 PNG is generated; then, ``--runs`` times, a fresh host page renders the studio, and the host posts
``ui/notifications/tool-result`` with the result of ``generate_image``. Measured: from the host posting the
notification to the viewer's ``<img>`` firing ``load`` with ``naturalWidth == 1024`` (both clocks are
``performance.timeOrigin + performance.now()``, one process). The image travels whole: ``resources/read`` of
its resource through the host, base64, into a ``data:`` URL.

    .venv/bin/python -m benchmarks.studio_viewer [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import summary
from openai_image_mcp.core.settings import Settings
from tests.studio.conftest import apps_client
from tests.support.browser import chromium
from tests.support.fake_openai import FakeOpenAI
from tests.support.studio_host import serve_host

TARGET_SECONDS = 1.0
WATCH = """() => new Promise((resolve) => {
  const img = document.getElementById("v-img");
  const done = () => { if (img.naturalWidth === 1024) resolve(performance.timeOrigin + performance.now()); };
  img.addEventListener("load", done);
})"""


async def run(runs: int) -> dict[str, Any]:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            workspace=Path(tmp), openai_api_key="sk-bench-0123456789abcdefghij", openai_base_url=fake.base_url,
            max_retries=0, log_level="WARNING",
        )  # fmt: skip
        async with apps_client(settings) as client, serve_host(client) as host, chromium() as browser:
            made = await client.call_tool("generate_image", {"prompt": "a lighthouse at dusk", "size": "1024x1024"})
            assert not made.is_error and made.structured_content is not None
            result = made.model_dump(mode="json", by_alias=True, exclude_none=True)
            size = int(made.structured_content["images"][0]["file_size_bytes"])
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            times: list[float] = []
            for _ in range(runs + 1):  # the first run warms the browser up and is not counted
                await page.goto(host.url)
                await page.wait_for_function("window.host && window.host.initialized")
                frame = next(f for f in page.frames if f != page.main_frame)
                watched = asyncio.ensure_future(frame.evaluate(WATCH))
                await frame.evaluate("() => new Promise((r) => setTimeout(r, 0))")  # the watch is installed
                posted = await page.evaluate(
                    "(result) => { const t = performance.timeOrigin + performance.now(); host.postResult(result); "
                    "return t; }",
                    result,
                )
                loaded = await asyncio.wait_for(watched, 30)
                times.append((loaded - posted) / 1000)
            times = times[1:]
    stats = summary(times)
    return {"image_bytes": size, "seconds": stats, "target_seconds": TARGET_SECONDS, "ok": stats["median"] < 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    out = asyncio.run(run(args.runs))
    print(json.dumps(out, indent=2))
    raise SystemExit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
