"""Budgets through the tools: the call that would cross a budget is refused with budget_exceeded before
anything is sent, the one under it goes through, and the period resets at midnight (or the 1st) UTC.
Time moves through the clock seam (``create_server(settings, clock=ManualClock(...))``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp import Client

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_bill import bills
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_cost import ok, picture, refused
from tests.tools.test_generate import new_session

ARGS = {"prompt": "a fox", "model": "gpt-image-2", "quality": "low", "size": "1024x1024"}


def at(text: str) -> ManualClock:
    return ManualClock(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


async def worst_case(settings: Settings, args: dict[str, Any]) -> float:
    async with Client(create_server(settings)) as client:
        dry = await ok(client, "generate_image", {**args, "dry_run": True})
    return float(dry["cost"]["estimate_usd"])


def generation_requests(fake: FakeOpenAI) -> int:
    return sum(len(fake.requests_to(p)) for p in ("/responses", "/images/generations", "/images/edits", "/files"))


async def test_a_daily_budget_blocks_the_call_that_would_cross_it_and_resets_at_midnight(
    settings: Settings, fake: FakeOpenAI
) -> None:
    estimate = await worst_case(settings, ARGS)
    limit = round(1.5 * estimate, 4)  # the first call fits; after it, another worst case does not
    clock = at("2027-03-10T22:00:00")
    async with Client(create_server(settings.model_copy(update={"budget_daily_usd": limit}), clock=clock)) as client:
        first = await ok(client, "generate_image", ARGS)
        (bill,) = bills(fake)
        assert first["cost"]["usd"] == round(bill.usd or 0, 6)
        sent = generation_requests(fake)

        err = await refused(client, "generate_image", ARGS)
        assert err["error_type"] == "budget_exceeded"
        assert err["spent_usd"] == round(bill.usd or 0, 4)
        assert err["limit_usd"] == limit
        assert err["resets_at"] == "2027-03-11T00:00:00Z"
        assert err["estimate_usd"] == round(estimate, 4)
        assert "Nothing was sent to OpenAI" in err["suggestion"]
        assert generation_requests(fake) == sent  # the fake received no request for it

        dry = await ok(client, "generate_image", {**ARGS, "dry_run": True})
        assert dry["cost"]["would_be_refused"] is True
        (budget,) = dry["cost"]["budgets"]
        assert budget["scope"] == "server" and budget["period"] == "day"
        assert budget["remaining_usd"] < estimate

        clock.advance(2 * 3600 + 1)  # 2027-03-11 00:00:01 UTC: a new day
        again = await ok(client, "generate_image", ARGS)
        assert again["cost"]["usd"] > 0
        today = await ok(client, "get_usage_report", {"period": "today"})
        assert today["calls"] == 1 and today["since"] == "2027-03-11T00:00:00Z"
        month = await ok(client, "get_usage_report", {"period": "month"})
        assert month["calls"] == 2
    assert len(bills(fake)) == 2


async def test_a_refused_session_turn_uploads_nothing_and_records_no_turn(
    settings: Settings, fake: FakeOpenAI, workspace: Path
) -> None:
    ref = picture(workspace / "inputs", "ref.png", (1024, 1024))
    async with Client(create_server(settings.model_copy(update={"budget_daily_usd": 0.01}))) as client:
        sid = await new_session(client)
        err = await refused(
            client, "generate_image_in_session", {"session_id": sid, "prompt": "like this", "reference_image_path": ref}
        )
        assert err["error_type"] == "budget_exceeded"
        status = await ok(client, "get_session_status", {"session_id": sid})
        assert status["turns"] == []
        err = await refused(client, "edit_image", {"image_path": ref, "prompt": "bluer"})
        assert err["error_type"] == "budget_exceeded"
        err = await refused(client, "generate_product_image", {"product_description": "a mug", "batch_count": 3})
        assert err["error_type"] == "budget_exceeded"
        err = await refused(client, "analyze_and_improve_image", {"image_path": ref, "improvement_goals": "warmer"})
        assert err["error_type"] == "budget_exceeded"
    assert generation_requests(fake) == 0


async def test_a_monthly_budget_holds_across_days_and_resets_on_the_first(settings: Settings, fake: FakeOpenAI) -> None:
    estimate = await worst_case(settings, ARGS)
    clock = at("2027-01-30T09:00:00")
    update = {"budget_monthly_usd": round(1.5 * estimate, 4), "budget_daily_usd": 50.0}
    async with Client(create_server(settings.model_copy(update=update), clock=clock)) as client:
        await ok(client, "generate_image", ARGS)
        clock.advance(86_400)  # 31 January: the daily budget has reset, the monthly one has not
        err = await refused(client, "generate_image", ARGS)
        assert err["error_type"] == "budget_exceeded" and err["resets_at"] == "2027-02-01T00:00:00Z"
        assert "monthly" in err["error"]
        report = await ok(client, "get_usage_report", {"period": "month"})
        periods = {b["period"]: b for b in report["budgets"]}
        assert periods["day"]["spent_usd"] == 0 and periods["month"]["spent_usd"] > 0
        clock.advance(15 * 3600)  # 1 February 00:00
        await ok(client, "generate_image", ARGS)
    assert len(bills(fake)) == 2
