"""Regression tests for what the review of the whole change found: a cancelled call still counts against
the budget, other users' spend stays hidden from remote users, and the server refuses to be exposed
through a proxy without authentication."""

from __future__ import annotations

import anyio
import pytest

from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.web.app import UnsafeBind, build_http_app
from tests.service.test_budget import ALICE, LOW, Step, all_calls, running, worst
from tests.support.fake_openai import FakeOpenAI

REMOTE_BOB = Principal("bob", remote=True)


async def test_a_cancelled_call_is_booked_at_its_worst_case(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"budget_daily_usd": 1.0})
    async with running(settings) as service:
        fake.hold()
        try:
            with anyio.move_on_after(30) as scope:
                async with anyio.create_task_group() as tg:

                    async def draw_then_wait() -> None:
                        await service.generator.one_shot(ALICE, "a fox", LOW, Step(), model="gpt-image-2")

                    tg.start_soon(draw_then_wait)
                    assert await fake.wait_for_requests_async(1)
                    tg.cancel_scope.cancel()  # the client gave up while OpenAI was drawing
            assert not scope.cancelled_caught
        finally:
            fake.release()
        (call,) = await all_calls(service)
        assert call.outcome == "cancelled (estimated)"
        assert call.cost_usd == pytest.approx(worst(settings))


async def test_remote_users_do_not_see_what_everyone_spent(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"budget_daily_usd": 1.0})
    async with running(settings) as service:
        await service.generator.one_shot(ALICE, "a fox", LOW, Step(), model="gpt-image-2")
        (server_budget,) = await service.usage.budgets(REMOTE_BOB)
        assert server_budget["scope"] == "server" and "spent_usd" not in server_budget
        assert "remaining_usd" not in server_budget
        admin = Principal("ops", scopes=frozenset({"admin"}), remote=True)
        (seen,) = await service.usage.budgets(admin)
        assert seen["spent_usd"] > 0


def test_a_public_url_without_authentication_is_refused(settings: Settings) -> None:
    exposed = settings.model_copy(update={"public_url": "https://images.example.com/mcp"})
    with pytest.raises(UnsafeBind, match="through a proxy"):
        build_http_app(exposed, host="127.0.0.1", port=8765)
    with pytest.raises(UnsafeBind):
        build_http_app(settings.model_copy(update={"allowed_hosts": "images.example.com"}), host="127.0.0.1")
    built = build_http_app(exposed, host="127.0.0.1", port=8765, allow_unauthenticated=True)
    assert not built.authenticated


async def test_metrics_count_spend_and_callers_cannot_mint_tool_labels(settings: Settings, fake: FakeOpenAI) -> None:
    from mcp import Client

    from openai_image_mcp.server import create_server
    from openai_image_mcp.web.metrics import Metrics

    server = create_server(settings)
    async with Client(server) as client:
        await client.call_tool("generate_image", {"prompt": "a fox", "model": "gpt-image-2", "quality": "low"})
        for n in range(3):
            await client.call_tool(f"no_such_tool_{n}", {})
        body, _ = await Metrics().render(server.service)
    text = body.decode()
    assert 'openai_image_mcp_spend_usd_total{model="gpt-image-2"}' in text
    assert 'tool="unknown"' in text and "no_such_tool" not in text
    assert 'openai_image_mcp_tool_calls_total{outcome="ok",tool="generate_image"} 1.0' in text
