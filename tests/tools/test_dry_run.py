"""dry_run on every generating tool: status "dry_run" with a worst-case estimate, nothing sent to OpenAI, and
the estimate at least what the same call really costs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_cost import ok, picture, refused
from tests.tools.test_generate import new_session

SENDING = ("/responses", "/images/generations", "/images/edits", "/files")


def sent(fake: FakeOpenAI) -> int:
    return sum(len(fake.requests_to(p, "POST")) for p in SENDING)


def calls(inputs: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    image = picture(inputs, "photo.png", (1024, 1024))
    refs = [picture(inputs, "ref1.png", (1536, 1024), (200, 40, 40)), picture(inputs, "ref2.png", (512, 512))]
    return {
        "session-turn": ("generate_image_in_session", {"prompt": "a red fox in the snow"}),
        "session-turn-with-reference": (
            "generate_image_in_session", {"prompt": "like this", "reference_image_path": refs[0]},
        ),
        "one-shot-responses": ("generate_image", {"prompt": "a lighthouse at dusk"}),
        "one-shot-images-api": ("generate_image", {"prompt": "a lighthouse at dusk", "model": "gpt-image-2"}),
        "edit-images-api": ("edit_image", {"image_path": image, "prompt": "add a lamp", "reference_image_paths": refs}),
        "edit-in-session": (
            "edit_image", {"image_path": image, "prompt": "add a lamp", "reference_image_paths": refs[:1]},
        ),
        "analyze": ("analyze_and_improve_image", {"image_path": image, "improvement_goals": "warmer light"}),
        "product-batch": ("generate_product_image", {"product_description": "a ceramic mug", "batch_count": 3}),
        "ui-asset": ("generate_ui_asset", {"asset_type": "icon", "description": "a settings gear"}),
    }  # fmt: skip


NEEDS_SESSION = {"session-turn", "session-turn-with-reference", "edit-in-session"}
NO_QUALITY = {"analyze"}


CASES = [
    "session-turn",
    "session-turn-with-reference",
    "one-shot-responses",
    "one-shot-images-api",
    "edit-images-api",
    "edit-in-session",
    "analyze",
    "product-batch",
    "ui-asset",
]
MATRIX = [
    pytest.param(case, quality)
    for case in CASES
    for quality in (["auto"] if case in NO_QUALITY else ["auto", "low", "high"])
]


@pytest.mark.parametrize(("case", "quality"), MATRIX)
async def test_dry_run_sends_nothing_and_estimates_at_least_the_real_cost(
    client: Client, fake: FakeOpenAI, workspace: Path, case: str, quality: str
) -> None:
    tool, args = calls(workspace / "inputs")[case]
    if case in NEEDS_SESSION:
        args = {**args, "session_id": await new_session(client)}
    if case not in NO_QUALITY:
        args = {**args, "quality": quality}
    dry = await ok(client, tool, {**args, "dry_run": True})
    assert dry["status"] == "dry_run" and dry["images"] == []
    estimate = dry["cost"]
    assert estimate["dry_run"] is True and estimate["currency"] == "USD"
    assert estimate["estimate_usd"] > 0 and estimate["would_be_refused"] is False
    assert "at most $" in dry["message"]
    assert sent(fake) == 0  # nothing uploaded, nothing generated

    real = await ok(client, tool, args)
    assert real["status"] == "completed"
    assert real["cost"]["usd"] > 0
    assert estimate["estimate_usd"] >= real["cost"]["usd"], (estimate, real["cost"])


async def test_dry_run_reports_the_budgets_and_whether_the_call_would_be_refused(
    settings: Settings, fake: FakeOpenAI
) -> None:
    budgeted = settings.model_copy(update={"budget_daily_usd": 0.05, "budget_principal_monthly_usd": 10.0})
    async with Client(create_server(budgeted)) as client:
        cheap = await ok(client, "generate_image", {"prompt": "a fox", "model": "gpt-image-2", "quality": "low",
                                                    "size": "1024x1024", "dry_run": True})  # fmt: skip
        assert cheap["cost"]["would_be_refused"] is False
        scopes = {(b["scope"], b["period"]) for b in cheap["cost"]["budgets"]}
        assert scopes == {("server", "day"), ("principal", "month")}
        dear = await ok(client, "generate_image", {"prompt": "a fox", "quality": "high", "dry_run": True})
        assert dear["cost"]["would_be_refused"] is True
        assert "would be refused by the budget" in dear["message"]
        err = await refused(client, "generate_image", {"prompt": "a fox", "quality": "high"})
        assert err["error_type"] == "budget_exceeded"
        assert err["estimate_usd"] == round(dear["cost"]["estimate_usd"], 4)  # the dry run and the check agree
    assert sent(fake) == 0


async def test_dry_run_of_an_unknown_session_is_an_error(client: Client, fake: FakeOpenAI) -> None:
    err = await refused(client, "generate_image_in_session", {"session_id": "nope", "prompt": "a fox", "dry_run": True})
    assert err["error_type"] == "session_not_found"
    assert sent(fake) == 0


async def test_the_budget_check_of_a_session_edit_counts_every_attached_image(
    settings: Settings, fake: FakeOpenAI, workspace: Path
) -> None:
    inputs = workspace / "inputs"
    images = [picture(inputs, f"img{i}.png", (1024, 1024), (i * 15, 80, 120)) for i in range(13)]
    args = {"image_path": images[0], "reference_image_paths": images[1:], "prompt": "all of them",
            "quality": "low", "size": "1024x1024"}  # fmt: skip
    async with Client(create_server(settings)) as client:
        real = await ok(client, "edit_image", {**args, "session_id": await new_session(client)})
    assert real["usage"]["image_generation"]["input_tokens_details"]["image_tokens"] == 13 * 765
    async with Client(create_server(settings.model_copy(update={"budget_daily_usd": 0.0001}))) as client:
        err = await refused(client, "edit_image", {**args, "session_id": await new_session(client)})
    assert err["error_type"] == "budget_exceeded"
    assert err["estimate_usd"] >= real["cost"]["usd"], (err["estimate_usd"], real["cost"]["usd"])


async def test_a_chained_turns_estimate_covers_the_previous_image(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client, model="gpt-4o-mini")
    args = {"session_id": sid, "prompt": "a fox", "quality": "low", "size": "1024x1024"}
    await ok(client, "generate_image_in_session", args)
    dry = await ok(client, "generate_image_in_session", {**args, "dry_run": True})
    real = await ok(client, "generate_image_in_session", args)
    assert real["usage"]["image_generation"]["input_tokens_details"]["image_tokens"] == 765
    assert dry["cost"]["estimate_usd"] >= real["cost"]["usd"], (dry["cost"], real["cost"])
