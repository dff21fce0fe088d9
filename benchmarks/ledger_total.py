"""The ledger's total after a 200-call mixed run equals, to the cent, the sum worked out independently from the
fake's own usage and the price table.

The run: session turns (some with a reference image, so input image tokens and chained turns), one-shots through
the Responses API and the Images API, Images API edits with references, product batches of 3, at mixed
qualities and sizes, 8 tool calls at a time; half the run with partial images off and half with 2 partial
images (a progress callback is passed, as a client showing progress would), on one workspace (one ledger).

The ledger's side: get_usage_report over the whole run (and the ledger rows themselves, unrounded). The
independent side: every generation request the fake recorded, its usage worked out again with the fake's token
rules (tests/support/fake_bill.py) and priced with prices.json. Exit 1 if they differ by $0.005 or more, or if
the number of calls differs.

Run: .venv/bin/python -m benchmarks.ledger_total
Target: equal to the cent (difference < $0.005).
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from PIL import Image

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.store.sqlite import SqliteStateStore
from tests.support.fake_bill import billed_requests, bills
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_openai.records import RecordedRequest

QUALITIES = ["low", "medium", "high", "auto"]
SIZES = ["1024x1024", "1536x1024", "1024x1536", "auto"]
PARALLEL = 8


def picture(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def partials_requested(record: RecordedRequest) -> int:
    form = {k: v[-1] for k, v in (record.form or {}).items()}
    body: dict[str, Any] = record.json if record.json is not None else form
    if "tools" in body:
        body = body["tools"][0]
    return int(body.get("partial_images") or 0)


async def progress(value: float, total: float | None, message: str | None) -> None:
    return None


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    r = await client.call_tool(tool, args, progress_callback=progress)
    if r.is_error or r.structured_content is None:
        raise RuntimeError(f"{tool} failed: {r.content}")
    return dict(r.structured_content)


async def phase(client: Client, inputs: Path, tag: str) -> int:
    """100 OpenAI calls: 4 sessions x 5 turns, 20 + 20 one-shots, 10 edits, 10 product batches of 3."""
    refs = [
        picture(inputs / f"{tag}_ref{i}.png", size, (40 * i, 90, 200 - 30 * i))
        for i, size in enumerate([(1024, 1024), (512, 512), (1536, 1024), (768, 1280)])
    ]
    limiter = anyio.CapacityLimiter(PARALLEL)
    made = Counter[str]()

    async def call(tool: str, args: dict[str, Any], calls: int) -> None:
        async with limiter:
            await ok(client, tool, args)
        made[tool] += calls

    async def session(n: int) -> None:
        created = await ok(client, "create_image_session", {"description": f"{tag} series {n}"})
        sid = created["session"]["session_id"]
        for turn in range(5):  # one after another: a session's turns chain
            args: dict[str, Any] = {
                "session_id": sid,
                "prompt": f"{tag} session {n} turn {turn}: a fox in a different pose",
                "quality": QUALITIES[(n + turn) % 4],
                "size": SIZES[(n * 3 + turn) % 4],
            }
            if turn == 2:
                args["reference_image_path"] = refs[n % len(refs)]
            await call("generate_image_in_session", args, 1)

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(session, n)
        for i in range(20):
            args = {"prompt": f"{tag} one-shot {i}: a lighthouse", "quality": QUALITIES[i % 4], "size": SIZES[i % 4]}
            tg.start_soon(call, "generate_image", args, 1)
            tg.start_soon(call, "generate_image", {**args, "model": "gpt-image-2", "prompt": args["prompt"] + "!"}, 1)
        for i in range(10):
            args = {
                "image_path": refs[i % 4],
                "reference_image_paths": [refs[(i + 1) % 4], refs[(i + 2) % 4]],
                "prompt": f"{tag} edit {i}: combine these",
                "quality": QUALITIES[i % 4],
            }
            tg.start_soon(call, "edit_image", args, 1)
            batch = {"product_description": f"{tag} product {i}: a ceramic mug", "batch_count": 3,
                     "quality": QUALITIES[(i + 1) % 4]}  # fmt: skip
            tg.start_soon(call, "generate_product_image", batch, 3)
    return sum(made.values())


async def main() -> int:
    logging.disable(logging.WARNING)
    with FakeOpenAI(flat_images=True) as fake, tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        base = Settings(
            workspace=workspace, openai_api_key="sk-bench-0123456789", openai_base_url=fake.base_url, max_retries=0
        )
        made = 0
        for partials in (0, 2):
            async with Client(create_server(base.model_copy(update={"partial_images": partials}))) as client:
                made += await phase(client, workspace / "inputs", f"p{partials}")
        async with Client(create_server(base)) as client:
            report = await ok(client, "get_usage_report", {"since": "2000-01-01", "group_by": "tool"})
        state = SqliteStateStore(base.database_path)
        await state.open()
        rows = await state.ledger.calls(owner=None, since=0, until=1e12)
        await state.close()

        billed = bills(fake)
        independent = sum(b.usd or 0.0 for b in billed)
        ledger_rows = sum(r.cost_usd or 0.0 for r in rows)
        ledger_report = float(report["total_usd"])
        by_path = Counter(b.path.rsplit("/v1", 1)[-1] for b in billed)
        print(f"calls made: {made}; ledger rows: {len(rows)}; report calls: {report['calls']}; "
              f"fake billed requests: {len(billed)} ({dict(by_path)})")  # fmt: skip
        with_partials = Counter(partials_requested(r) for r in billed_requests(fake))
        print(f"partial images requested per call: {dict(sorted(with_partials.items()))}")
        for group in report["groups"]:
            print(f"  {group['key']:<28} {group['calls']:>4} calls  ${group['usd']:.6f}")
        print(f"ledger total (get_usage_report): ${ledger_report:.6f}")
        print(f"ledger total (rows, unrounded):  ${ledger_rows:.6f}")
        print(f"independent (fake usage x table): ${independent:.6f}")
        diff = ledger_report - independent
        print(f"difference: ${diff:+.6f} (rows: ${ledger_rows - independent:+.9f})")
        unpriced = int(report["unpriced_calls"])
        failed = (
            abs(diff) >= 0.005
            or abs(ledger_rows - independent) >= 0.005
            or not (made == len(rows) == report["calls"] == len(billed) == 200)
            or unpriced
        )
        print("FAIL" if failed else "OK: equal to the cent")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
