"""get_usage_report: today, this month, or since/until, grouped by day, session, model, principal or tool; every
figure checked against the fake's own usage priced with the table. Time moves through the clock seam."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_bill import bills
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_cost import ok, refused
from tests.tools.test_generate import new_session

LOW = {"quality": "low", "size": "1024x1024"}


def groups(report: dict[str, Any]) -> dict[str, tuple[int, float]]:
    return {g["key"]: (g["calls"], g["usd"]) for g in report["groups"]}


def close_to(expected: dict[str, tuple[int, float]]) -> dict[str, tuple[int, Any]]:
    return {k: (n, pytest.approx(usd, abs=1e-6 * max(1, n))) for k, (n, usd) in expected.items()}


async def test_usage_report_periods_and_groups(settings: Settings, fake: FakeOpenAI) -> None:
    clock = ManualClock(datetime(2027, 3, 30, 10, 0, tzinfo=UTC).timestamp())
    async with Client(create_server(settings, clock=clock)) as client:
        # 30 March: a session turn and an Images API one-shot
        sid = await new_session(client)
        await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a fox", **LOW})
        await ok(client, "generate_image", {"prompt": "a hen", "model": "gpt-image-2", **LOW})
        clock.advance(86_400)  # 31 March: a Responses one-shot
        await ok(client, "generate_image", {"prompt": "a cow", **LOW})
        clock.advance(2 * 86_400)  # 2 April: a product batch of 2 (two calls)
        await ok(client, "generate_product_image", {"product_description": "a mug", "batch_count": 2, "quality": "low"})
        turn, hen, cow, mug1, mug2 = (b.usd or 0.0 for b in bills(fake))
        march, april = turn + hen + cow, mug1 + mug2

        today = await ok(client, "get_usage_report", {})
        assert today["period"] == "today" and today["since"] == "2027-04-02T00:00:00Z"
        assert (today["calls"], today["total_usd"]) == (2, pytest.approx(april, abs=2e-6))
        assert groups(today) == close_to({"2027-04-02": (2, april)})

        month = await ok(client, "get_usage_report", {"period": "month", "group_by": "tool"})
        assert month["since"] == "2027-04-01T00:00:00Z"
        assert groups(month) == close_to({"generate_product_image": (2, april)})

        span = {"since": "2027-03-30", "until": "2027-04-01"}
        by_day = await ok(client, "get_usage_report", {**span, "group_by": "day"})
        assert by_day["period"] == "2027-03-30 to 2027-04-01"
        assert groups(by_day) == close_to({"2027-03-30": (2, turn + hen), "2027-03-31": (1, cow)})
        assert by_day["total_usd"] == pytest.approx(march, abs=3e-6)

        by_session = await ok(client, "get_usage_report", {**span, "group_by": "session"})
        assert groups(by_session) == close_to({sid: (1, turn), "": (2, hen + cow)})

        by_model = await ok(client, "get_usage_report", {**span, "group_by": "model"})
        assert groups(by_model) == close_to({"gpt-image-2 + gpt-5.4-mini": (2, turn + cow), "gpt-image-2 + ": (1, hen)})
        by_tool = await ok(client, "get_usage_report", {"since": "2027-03-30", "group_by": "tool"})
        assert groups(by_tool) == close_to(
            {
                "generate_image_in_session": (1, turn),
                "generate_image": (2, hen + cow),
                "generate_product_image": (2, april),
            }
        )
        by_principal = await ok(client, "get_usage_report", {"since": "2027-01-01", "group_by": "principal"})
        assert groups(by_principal) == close_to({"local": (5, march + april)})

        # until is exclusive; a zoned moment is converted to UTC
        only_30th = await ok(client, "get_usage_report", {"until": "2027-03-31"})
        assert only_30th["calls"] == 2
        from_31st = await ok(client, "get_usage_report", {"since": "2027-03-31T02:00:00+02:00"})
        assert from_31st["calls"] == 3 and from_31st["total_usd"] == pytest.approx(cow + april, abs=3e-6)
        nothing = await ok(client, "get_usage_report", {"since": "2026-01-01", "until": "2026-02-01"})
        assert (nothing["calls"], nothing["total_usd"], nothing["groups"]) == (0, 0, [])


async def test_usage_report_rejects_a_bad_date(client: Client) -> None:
    err = await refused(client, "get_usage_report", {"since": "last tuesday"})
    assert err["error_type"] == "invalid_input" and "since" in err["error"]
    err = await refused(client, "get_usage_report", {"until": "2027-13-45"})
    assert err["error_type"] == "invalid_input" and "until" in err["error"]


async def test_the_period_can_be_a_from_to_range(client: Client, fake: FakeOpenAI) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a fox", "model": "gpt-image-2", "quality": "low"})
    assert not made.is_error
    spent = (made.structured_content or {})["cost"]["usd"]
    r = await client.call_tool("get_usage_report", {"period": "2020-01-01/2100-01-01", "group_by": "model"})
    report = r.structured_content or {}
    assert not r.is_error and report["since"] == "2020-01-01T00:00:00Z"
    assert report["total_usd"] == pytest.approx(spent) and report["calls"] == 1
    empty = await client.call_tool("get_usage_report", {"period": "2020-01-01/2020-02-01"})
    assert (empty.structured_content or {})["calls"] == 0
    bad = await client.call_tool("get_usage_report", {"period": "yesterday"})
    assert bad.is_error
