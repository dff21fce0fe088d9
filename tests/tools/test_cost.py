"""Cost through the tools: every generating path priced from the fake's own usage and the price table.

The expected figures come from :mod:`tests.support.fake_bill`: each request the fake recorded, its
usage worked out again with the fake's token rules, times the packaged prices.json. The server's figures
are read where a user sees them: the tool result, the image's metadata sidecar, the session's
conversation_log.json, get_session_status and get_usage_report.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.request
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from PIL import Image

from openai_image_mcp.core import errors
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.conftest import TEST_KEY
from tests.support.fake_bill import Bill, bill_of, billed_requests, bills, price_table, responses_usage
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session

CHECKED = str(json.loads(files("openai_image_mcp").joinpath("prices.json").read_text(encoding="utf-8"))["checked"])
FLARE = "gpt-image-2.6-flare"  # deliberately not in the table


# -- helpers (also used by the other cost test files) ----------------------------------------------------
async def ok(client: Client, tool: str, args: dict[str, Any], *, progress: bool = False) -> dict[str, Any]:
    """Call a tool that must succeed; with ``progress`` a progress callback is passed (partial images flow)."""
    notes: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    r = await client.call_tool(tool, args, progress_callback=on_progress if progress else None)
    assert not r.is_error, r.content
    assert r.structured_content is not None
    return dict(r.structured_content)


async def refused(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content
    assert r.structured_content is not None
    return dict(r.structured_content)


def picture(folder: Path, name: str, size: tuple[int, int], color: tuple[int, int, int] = (40, 90, 160)) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    (folder / name).write_bytes(out.getvalue())
    return str(folder / name)


def expected_tokens(bill: Bill) -> dict[str, int]:
    image = bill.usage["image_generation"]
    tokens = {
        "image_text_input": image["input_tokens_details"]["text_tokens"],
        "image_cached_text_input": 0,
        "image_input": image["input_tokens_details"]["image_tokens"],
        "image_cached_input": 0,
        "image_output": image["output_tokens"],
        "image_text_output": 0,
    }
    if bill.mainline_model:
        main = bill.usage["mainline"]
        tokens |= {
            "mainline_input": main["input_tokens"],
            "mainline_cached_input": 0,
            "mainline_output": main["output_tokens"],
        }
    return tokens


def assert_cost(cost: dict[str, Any] | None, expected: list[Bill], checked: str = CHECKED) -> None:
    """A result's (or sidecar's) ``cost`` is the sum of these bills, call by call."""
    assert cost is not None
    assert cost["currency"] == "USD" and cost["prices_checked"] == checked
    assert len(cost["calls"]) == len(expected)
    for call, bill in zip(cost["calls"], expected, strict=True):
        assert bill.usd is not None
        assert call["usd"] == pytest.approx(bill.usd, abs=1e-6)
        assert call["tokens"] == expected_tokens(bill)
    assert cost["usd"] == pytest.approx(sum(b.usd or 0.0 for b in expected), abs=1e-6 * len(expected))


def sidecar(sc: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return dict(json.loads(Path(sc["images"][index]["metadata_path"]).read_text()))


def new_bills(fake: FakeOpenAI, before: int, prices: dict[str, Any] | None = None) -> list[Bill]:
    """The bills of the requests recorded since there were ``before`` billed ones."""
    return bills(fake, prices)[before:]


def stored_response(fake: FakeOpenAI, response_id: str) -> dict[str, Any]:
    """The fake's stored answer, through its own retrieve endpoint."""
    request = urllib.request.Request(
        f"{fake.base_url}/responses/{response_id}", headers={"Authorization": f"Bearer {TEST_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read()))


# -- the usage model itself --------------------------------------------------------------------------------
async def test_fake_bill_matches_the_fakes_stored_responses(client: Client, fake: FakeOpenAI, workspace: Path) -> None:
    """fake_bill's Responses usage equals what the fake stored and answered (first turn, chained turn, a
    turn with a reference image, a one-shot), and the usage the server passed on."""
    sid = await new_session(client)
    ref = picture(workspace / "inputs", "ref.png", (1536, 1024))
    results = [
        await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a red fox"}),
        await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "make it blue", "quality": "high"}),
        await ok(
            client,
            "generate_image_in_session",
            {"session_id": sid, "prompt": "like this", "reference_image_path": ref, "size": "1536x1024"},
        ),
        await ok(client, "generate_image", {"prompt": "a lighthouse", "quality": "low"}),
    ]
    records = fake.requests_to("/responses", "POST")
    assert len(records) == len(results)
    for record, sc in zip(records, results, strict=True):
        stored = await anyio.to_thread.run_sync(stored_response, fake, str(sc["response_id"]))
        mine = responses_usage(fake, record)
        assert mine["mainline"] == stored["usage"]
        assert mine["image_generation"] == stored["tool_usage"]["image_gen"]
        assert sc["usage"] == mine
    assert responses_usage(fake, records[1])["image_generation"]["input_tokens_details"]["image_tokens"] == 765
    assert responses_usage(fake, records[2])["image_generation"]["input_tokens_details"]["image_tokens"] == 85 + 170 * 6


# -- each path ---------------------------------------------------------------------------------------------
async def test_session_turns_cost_mainline_tokens_plus_image_tool_tokens(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    first = await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a red fox"}, progress=True)
    second = await ok(
        client,
        "generate_image_in_session",
        {"session_id": sid, "prompt": "make it blue", "quality": "high", "size": "1024x1536"},
        progress=True,
    )
    b1, b2 = bills(fake)
    assert (b1.mainline_model, b1.image_model) == ("gpt-5.4-mini", "gpt-image-2")
    # mainline at gpt-5.4-mini prices (0.75 / 4.5 per 1M) + the image tool at gpt-image-2 prices (5 / 8 / 30)
    main, image = b1.usage["mainline"], b1.usage["image_generation"]
    by_hand = (
        main["input_tokens"] * 0.75 + main["output_tokens"] * 4.5
        + image["input_tokens_details"]["text_tokens"] * 5.0 + image["output_tokens"] * 30.0
    ) / 1e6  # fmt: skip
    assert b1.usd == pytest.approx(by_hand, rel=1e-12)
    assert b2.usage["image_generation"]["input_tokens_details"]["image_tokens"] == 765  # the chained image
    for sc, bill in ((first, b1), (second, b2)):
        assert_cost(sc["cost"], [bill])
        assert sidecar(sc)["cost"] == sc["cost"]
    # conversation_log.json: a cost per turn
    log = json.loads((Path(first["file_path"]).parent.parent / "conversation_log.json").read_text())
    assert [t["cost"]["usd"] for t in log["turns"]] == [first["cost"]["usd"], second["cost"]["usd"]]
    assert all("cost" not in t["usage"] for t in log["turns"])
    # get_session_status: cost_usd per turn and the session's total
    status = await ok(client, "get_session_status", {"session_id": sid})
    assert [t["cost_usd"] for t in status["turns"]] == [first["cost"]["usd"], second["cost"]["usd"]]
    assert status["total_cost_usd"] == pytest.approx((b1.usd or 0) + (b2.usd or 0), abs=2e-6)


@pytest.mark.parametrize("model", [None, "gpt-image-2"], ids=["responses", "images-api"])
async def test_one_shot_cost_on_either_api(client: Client, fake: FakeOpenAI, model: str | None) -> None:
    args = {"prompt": "a lighthouse at dusk", "quality": "medium", "size": "1536x1024"}
    sc = await ok(client, "generate_image", {**args, **({"model": model} if model else {})}, progress=True)
    (bill,) = bills(fake)
    assert bill.mainline_model == (None if model else "gpt-5.4-mini")
    assert bill.image_model == "gpt-image-2"
    assert sc["usage"] == bill.usage
    assert_cost(sc["cost"], [bill])
    assert sidecar(sc)["cost"] == sc["cost"]
    if model:  # the Images API path bills no mainline tokens
        assert "mainline_input" not in sc["cost"]["calls"][0]["tokens"]


async def test_edit_with_references_bills_their_input_image_tokens(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    inputs = workspace / "inputs"
    image = picture(inputs, "room.png", (1024, 1024))
    refs = [picture(inputs, "sofa.png", (512, 512)), picture(inputs, "lamp.png", (1536, 1024))]
    sc = await ok(
        client,
        "edit_image",
        {"image_path": image, "prompt": "put the sofa and the lamp in", "reference_image_paths": refs},
        progress=True,
    )
    (record,) = fake.requests_to("/images/edits")
    (bill,) = bills(fake)
    assert bill.path == record.path and bill.mainline_model is None
    assert bill.usage["image_generation"]["input_tokens_details"]["image_tokens"] == 765 + 255 + 1105
    assert sc["usage"] == bill.usage
    assert_cost(sc["cost"], [bill])
    assert sidecar(sc)["cost"] == sc["cost"]


async def test_product_batch_costs_the_sum_of_its_three_calls(client: Client, fake: FakeOpenAI) -> None:
    sc = await ok(
        client, "generate_product_image", {"product_description": "a ceramic mug", "batch_count": 3}, progress=True
    )
    records = fake.requests_to("/images/generations")
    assert len(records) == 3
    table = price_table()
    by_prompt = {str((r.json or {})["prompt"]): bill_of(fake, r, table) for r in records}
    assert len(by_prompt) == 3
    assert sc["cost"]["usd"] == pytest.approx(sum(b.usd or 0 for b in by_prompt.values()), abs=3e-6)
    assert len(sc["cost"]["calls"]) == 3
    assert sorted(c["usd"] for c in sc["cost"]["calls"]) == pytest.approx(
        sorted(b.usd or 0 for b in by_prompt.values()), abs=1e-6
    )
    for i in range(3):  # each image's sidecar carries the cost of the call that drew it
        meta = sidecar(sc, i)
        assert_cost(meta["cost"], [by_prompt[meta["original_prompt"]]])


@pytest.mark.parametrize("model", [None, "gpt-image-2"], ids=["responses", "images-api"])
async def test_partial_images_add_100_output_tokens_each(
    settings: Settings, fake: FakeOpenAI, model: str | None
) -> None:
    args = {"prompt": "a fox", "quality": "low", "size": "1024x1024", **({"model": model} if model else {})}
    costs = {}
    for partials in (0, 2):
        fake.reset()
        async with Client(create_server(settings.model_copy(update={"partial_images": partials}))) as client:
            sc = await ok(client, "generate_image", args, progress=True)
        (record,) = billed_requests(fake)
        sent = (record.json or {}).get("tools", [record.json])[0]["partial_images"]
        assert sent == partials
        (bill,) = bills(fake)
        assert_cost(sc["cost"], [bill])
        costs[partials] = (bill.usage["image_generation"]["output_tokens"], sc["cost"]["usd"])
    assert costs[2][0] - costs[0][0] == 2 * 100
    assert costs[2][1] - costs[0][1] == pytest.approx(200 * 30.0 / 1e6, abs=2e-6)


# -- durability --------------------------------------------------------------------------------------------
async def test_ledger_survives_a_restart(settings: Settings, fake: FakeOpenAI) -> None:
    async with Client(create_server(settings)) as client:
        await ok(client, "generate_image", {"prompt": "a fox"})
        await ok(client, "generate_image", {"prompt": "a hen", "model": "gpt-image-2"})
    paid = sum(b.usd or 0 for b in bills(fake))
    async with Client(create_server(settings)) as client:
        report = await ok(client, "get_usage_report", {})
        assert report["calls"] == 2
        assert report["total_usd"] == pytest.approx(paid, abs=2e-6)
        stats = await ok(client, "get_server_stats", {})
        assert stats["spend"]["today_usd"] == pytest.approx(paid, abs=2e-6)


# -- unknown prices and the price file ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image_model", "session_model", "unpriced"),
    [(FLARE, None, FLARE), ("gpt-image-2", "gpt-6-astra", "gpt-6-astra")],
    ids=["missing-image-model", "null-mainline-model"],
)
async def test_an_unpriced_model_costs_unknown_never_zero(
    settings: Settings, fake: FakeOpenAI, image_model: str, session_model: str | None, unpriced: str
) -> None:
    async with Client(create_server(settings.model_copy(update={"image_model": image_model}))) as client:
        sid = await new_session(client, **({"model": session_model} if session_model else {}))
        sc = await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
        assert sc["cost"]["usd"] is None
        assert sc["cost"]["calls"][0]["usd"] is None
        assert sc["cost"]["calls"][0]["unpriced_models"] == [unpriced]
        assert sc["cost"]["calls"][0]["tokens"]["image_output"] > 0  # the tokens are still known
        assert sidecar(sc)["cost"]["usd"] is None
        status = await ok(client, "get_session_status", {"session_id": sid})
        assert status["turns"][0].get("cost_usd") is None  # null: left out of the structured result
        report = await ok(client, "get_usage_report", {})
        assert report["calls"] == 1 and report["unpriced_calls"] == 1
    (bill,) = bills(fake)
    assert bill.usd is None


async def test_an_unpriced_model_is_refused_under_a_budget_unless_allowed(settings: Settings, fake: FakeOpenAI) -> None:
    budgeted = settings.model_copy(update={"image_model": FLARE, "budget_daily_usd": 100.0})
    async with Client(create_server(budgeted)) as client:
        for args in ({"prompt": "a fox"}, {"prompt": "a fox", "model": FLARE}):
            err = await refused(client, "generate_image", args)
            assert err["error_type"] == "budget_exceeded"
            assert FLARE in err["error"] and "OPENAI_IMAGE_MCP_ALLOW_UNPRICED" in err["error"]
            assert err["estimate_usd"] is None
        dry = await ok(client, "generate_image", {"prompt": "a fox", "dry_run": True})
        assert dry["cost"]["estimate_usd"] is None and dry["cost"]["would_be_refused"] is True
    assert billed_requests(fake) == []  # nothing sent (nor uploaded) for a refused call
    async with Client(create_server(budgeted.model_copy(update={"allow_unpriced": True}))) as client:
        sc = await ok(client, "generate_image", {"prompt": "a fox", "model": FLARE})
        assert sc["cost"]["usd"] is None
        report = await ok(client, "get_usage_report", {})
        assert report["unpriced_calls"] == 1
        (budget,) = report["budgets"]
        assert budget["spent_usd"] == 0  # unknown counts as 0 against the budget (that is what allow_unpriced allows)


async def test_prices_file_replaces_and_adds_models(
    settings: Settings, fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    override = {
        "checked": "2027-01-15",
        "models": {
            "gpt-image-2": {"text_input": 6.0, "image_input": 9.0, "image_output": 45.0, "text_output": 10.0},
            FLARE: {"text_input": 1.0, "image_input": 2.0, "image_output": 3.0},
        },
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(override))
    monkeypatch.setenv("OPENAI_IMAGE_MCP_PRICES_FILE", str(path))
    settings = Settings(**settings.model_dump(exclude={"prices_file"}))
    assert settings.prices_file == path
    table = price_table(path)
    async with Client(create_server(settings)) as client:
        for model in ("gpt-image-2", FLARE):
            before = len(billed_requests(fake))
            sc = await ok(client, "generate_image", {"prompt": "a fox", "model": model, "quality": "low"})
            (bill,) = new_bills(fake, before, table)
            assert_cost(sc["cost"], [bill], checked="2027-01-15")
        report = await ok(client, "get_usage_report", {})
        assert report["prices_checked"] == "2027-01-15" and report["unpriced_calls"] == 0
    # the override really changed the figure: the packaged table prices the same gpt-image-2 call lower
    first = bills(fake, table)[0]
    packaged = bills(fake, price_table())[0]
    assert (first.usd or 0) > (packaged.usd or 0) > 0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "Cannot read OPENAI_IMAGE_MCP_PRICES_FILE"),
        ('{"models": {"gpt-image-2": {"image_output": "thirty"}}}', "'gpt-image-2' are not valid"),
        ('{"models": {"gpt-image-2": {"image_outptu": 30}}}', "'gpt-image-2' are not valid"),
    ],
    ids=["not-json", "not-a-number", "unknown-field"],
)
def test_a_malformed_prices_file_is_a_clear_error(settings: Settings, tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(errors.NotConfigured) as caught:
        create_server(settings.model_copy(update={"prices_file": path}))
    assert says in caught.value.message and str(path) in caught.value.message


def test_a_missing_prices_file_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(errors.NotConfigured, match="Cannot read OPENAI_IMAGE_MCP_PRICES_FILE"):
        create_server(settings.model_copy(update={"prices_file": path}))


@pytest.mark.parametrize(
    "content",
    ['["gpt-image-2"]', '{"models": ["gpt-image-2"]}', '{"models": {"gpt-image-2": 30}}'],
    ids=["file-is-a-list", "models-is-a-list", "entry-is-a-number"],
)
def test_a_prices_file_of_the_wrong_shape_is_a_clear_error(settings: Settings, tmp_path: Path, content: str) -> None:
    """Regression: a list where an object belongs raised AttributeError from PriceTable.load."""
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(errors.NotConfigured) as caught:
        create_server(settings.model_copy(update={"prices_file": path}))
    assert str(path) in caught.value.message


@pytest.mark.subprocess
def test_the_cli_reports_a_malformed_prices_file_in_one_line(workspace: Path, tmp_path: Path) -> None:
    """Regression: the NotConfigured of a bad prices file escaped cli.main as a traceback with exit 1."""
    path = tmp_path / "prices.json"
    path.write_text("{not json")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace),
        "OPENAI_IMAGE_MCP_PRICES_FILE": str(path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "openai_image_mcp"], input="", capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "OPENAI_IMAGE_MCP_PRICES_FILE" in proc.stderr


async def test_two_concurrent_calls_each_carry_their_own_cost(client: Client, fake: FakeOpenAI) -> None:
    """Two priced calls at once each book their own cost (no cross-talk between the Spending of two jobs)."""
    results: dict[str, dict[str, Any]] = {}

    async def one(prompt: str, model: str | None) -> None:
        args = {"prompt": prompt, **({"model": model} if model else {})}
        results[prompt] = await ok(client, "generate_image", args)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "a fox", None)
        tg.start_soon(one, "a hen", "gpt-image-2")
    table = price_table()
    for record in billed_requests(fake):
        body = record.json or {}
        prompt = str(body.get("prompt") or responses_text(body))
        bill = bill_of(fake, record, table)
        assert_cost(results[prompt]["cost"], [bill])


def responses_text(body: dict[str, Any]) -> str:
    for item in reversed(body.get("input") or []):
        if item.get("role") == "user":
            content = item["content"]
            return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    return ""
