"""Fair use per principal over real HTTP: over the per-minute or the concurrency cap a generation fails with
``rate_limited`` and ``retry_after_seconds`` before anything is sent to OpenAI; other principals are not affected."""

from __future__ import annotations

from collections.abc import Callable

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.settings import Settings
from tests.support.fake_openai import FakeOpenAI
from tests.web.conftest import Running, Tokens, connect, failed, new_session, ok, openai_calls


async def test_over_the_rate_limit_a_generation_is_refused_before_openai(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens, fake: FakeOpenAI
) -> None:
    clock = ManualClock()
    server = serve(web_settings.model_copy(update={"rate_limit_per_minute": 2}), clock=clock)
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        first = await ok(alice, "generate_image", {"prompt": "fox 1", "quality": "low"})
        await ok(alice, "generate_image", {"prompt": "fox 2", "quality": "low"})
        sid = await new_session(alice)  # not a generation: not counted
        sent = openai_calls(fake)
        for tool, arguments in [
            ("generate_image", {"prompt": "fox 3"}),
            ("generate_image_in_session", {"session_id": sid, "prompt": "fox 3"}),
            ("edit_image", {"image_path": first["image_id"], "prompt": "bluer"}),
        ]:
            refused = await failed(alice, tool, arguments)
            assert refused["error_type"] == "rate_limited", (tool, refused)
            assert refused["retry_after_seconds"] == 60  # the first start leaves the window in 60 s
            assert "retry_after_seconds" in refused["suggestion"]
        assert openai_calls(fake) == sent

        await ok(bob, "generate_image", {"prompt": "bob's owl", "quality": "low"})  # bob has his own budget

        clock.advance(30)
        assert (await failed(alice, "generate_image", {"prompt": "fox 3"}))["retry_after_seconds"] == 30
        clock.advance(30)
        await ok(alice, "generate_image", {"prompt": "fox 3", "quality": "low"})


async def test_over_the_concurrency_limit_a_second_generation_is_refused(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens, fake: FakeOpenAI
) -> None:
    server = serve(web_settings.model_copy(update={"max_concurrent_per_principal": 1}))
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        fake.hold()  # the first generation stays running (its slot is taken when it is submitted)
        try:
            running = await ok(alice, "generate_image", {"prompt": "a slow fox", "wait_seconds": 0})
            assert running["status"] == "running"

            refused = await failed(alice, "generate_image", {"prompt": "another fox"})
            assert refused["error_type"] == "rate_limited"
            assert refused["retry_after_seconds"] > 0

            his = await ok(bob, "generate_image", {"prompt": "bob's owl", "wait_seconds": 0})
            assert his["status"] == "running"  # bob has his own slot
        finally:
            fake.release()
        for client, handle in ((alice, running), (bob, his)):
            done = await ok(client, "get_generation_result", {"job_id": handle["job_id"], "wait_seconds": 30})
            assert done["status"] == "completed"
        assert openai_calls(fake) == 2  # the refused one sent nothing
        # the slot is free again once the generation is over
        await ok(alice, "generate_image", {"prompt": "a fox at last", "quality": "low"})
        assert openai_calls(fake) == 3
