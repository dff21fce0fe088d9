"""Isolation between principals over real HTTP: bob sees none of alice's sessions, images and jobs, and every id of
hers answers him exactly like an id that never existed; alice keeps all of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support.fake_openai import FakeOpenAI
from tests.web.conftest import Running, Tokens, call, connect, new_session, ok, openai_calls, unknown_id


@dataclass
class Alices:
    """What alice made: a session with one turn (its image and its finished job)."""

    session_id: str
    image_id: str
    job_id: str

    def ids(self) -> dict[str, str]:
        return {"S": self.session_id, "I": self.image_id, "J": self.job_id}


async def alices_work(client: Client) -> Alices:
    sid = await new_session(client, "alice's foxes")
    turn = await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a red fox", "quality": "low"})
    return Alices(sid, turn["image_id"], turn["job_id"])


#: (tool, arguments) with {S}, {I}, {J} for a session, image and job id.
PROBES: list[tuple[str, dict[str, Any]]] = [
    ("get_session_status", {"session_id": "{S}"}),
    ("close_session", {"session_id": "{S}"}),
    ("generate_image_in_session", {"session_id": "{S}", "prompt": "a fox"}),
    ("generate_image", {"prompt": "a fox", "session_id": "{S}"}),
    ("list_images", {"session_id": "{S}"}),
    ("view_image", {"image_ids": ["{I}"]}),
    ("view_image", {"image_ids": ["openai-image://image/{I}.png"]}),
    ("edit_image", {"image_path": "{I}", "prompt": "make it blue"}),
    ("edit_image", {"image_path": "openai-image://image/{I}", "prompt": "make it blue"}),
    ("analyze_and_improve_image", {"image_path": "{I}", "improvement_goals": "more light"}),
    ("promote_image_to_session", {"image_path": "{I}", "session_description": "mine now"}),
    ("create_download_link", {"image_id": "{I}"}),
    ("get_generation_result", {"job_id": "{J}", "wait_seconds": 0}),
    ("cancel_generation", {"job_id": "{J}"}),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, real in ids.items():
            value = value.replace("{" + key + "}", real)
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _normalized(result: Any, ids: dict[str, str]) -> str:
    text = json.dumps(result, sort_keys=True)
    for key, real in ids.items():
        text = text.replace(real, f"<{key}>")
    return text


async def _answer(client: Client, tool: str, arguments: dict[str, Any], ids: dict[str, str]) -> str:
    r = await client.call_tool(tool, _fill(arguments, ids))
    return _normalized({"is_error": r.is_error, "result": r.structured_content}, ids)


async def test_another_principal_lists_none_of_yours(server: Running, tokens: Tokens, mode: str) -> None:
    async with connect(server.url, tokens.alice, mode) as alice, connect(server.url, tokens.bob, mode) as bob:
        mine = await alices_work(alice)
        alice_uris = {str(r.uri) for r in (await alice.list_resources()).resources}
        assert f"openai-image://session/{mine.session_id}" in alice_uris
        assert f"openai-image://image/{mine.image_id}.png" in alice_uris

        assert (await ok(bob, "list_active_sessions"))["count"] == 0
        assert (await ok(bob, "list_images"))["total"] == 0
        assert (await ok(bob, "list_images", {"text": "fox"}))["total"] == 0
        bob_uris = {str(r.uri) for r in (await bob.list_resources()).resources}
        assert bob_uris == {"openai-image://guide", "ui://openai-image-mcp/studio.html"}  # the static ones
        assert not any(mine.session_id in u or mine.image_id in u for u in bob_uris)


async def test_your_ids_answer_another_principal_like_ids_that_never_existed(
    server: Running, tokens: Tokens, fake: FakeOpenAI, mode: str
) -> None:
    async with connect(server.url, tokens.alice, mode) as alice, connect(server.url, tokens.bob, mode) as bob:
        mine = await alices_work(alice)
        sent = openai_calls(fake)
        never = {"S": unknown_id(), "I": unknown_id(), "J": unknown_id()}
        differ: dict[str, tuple[str, str]] = {}
        for tool, arguments in PROBES:
            theirs = await _answer(bob, tool, arguments, mine.ids())
            nobodys = await _answer(bob, tool, arguments, never)
            if theirs != nobodys:
                differ[f"{tool} {arguments}"] = (theirs, nobodys)
            if tool != "list_images":
                assert json.loads(theirs)["is_error"] is True, (tool, theirs)
        assert differ == {}
        assert openai_calls(fake) == sent  # nothing of bob's probing reached OpenAI


async def test_your_image_as_another_principals_reference_is_not_found(server: Running, tokens: Tokens) -> None:
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        mine = await alices_work(alice)
        his = await new_session(bob, "bob's owls")
        arguments = {"session_id": his, "prompt": "an owl", "reference_image_path": "{I}"}
        theirs = await _answer(bob, "generate_image_in_session", arguments, {"I": mine.image_id})
        nobodys = await _answer(bob, "generate_image_in_session", arguments, {"I": unknown_id()})
        assert theirs == nobodys
        assert json.loads(theirs)["is_error"] is True


async def _read_error(client: Client, uri: str) -> tuple[int, str]:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return caught.value.error.code, caught.value.error.message


async def test_your_resources_read_to_another_principal_like_unknown_ones(
    server: Running, tokens: Tokens, mode: str
) -> None:
    async with (
        connect(server.url, tokens.alice, mode, max_sse_event_size=None) as alice,  # a full image is over 1 MiB
        connect(server.url, tokens.bob, mode) as bob,
    ):
        mine = await alices_work(alice)
        never = unknown_id()
        for template, real in (
            ("openai-image://image/{}.png", mine.image_id),
            ("openai-image://session/{}", mine.session_id),
        ):
            code, message = await _read_error(bob, template.format(real))
            ref_code, ref_message = await _read_error(bob, template.format(never))
            assert (code, message.replace(real, "<id>")) == (ref_code, ref_message.replace(never, "<id>"))
        assert (await alice.read_resource(f"openai-image://image/{mine.image_id}.png")).contents
        assert (await alice.read_resource(f"openai-image://session/{mine.session_id}")).contents


async def test_another_principals_running_job_is_not_found(server: Running, tokens: Tokens, fake: FakeOpenAI) -> None:
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        fake.hold()
        try:
            handle = await ok(alice, "generate_image", {"prompt": "a slow fox", "wait_seconds": 0})
            assert handle["status"] == "running"
            for tool in ("get_generation_result", "cancel_generation"):
                args = {"job_id": "{J}"} | ({"wait_seconds": 0} if tool == "get_generation_result" else {})
                theirs = await _answer(bob, tool, args, {"J": handle["job_id"]})
                nobodys = await _answer(bob, tool, args, {"J": unknown_id()})
                assert theirs == nobodys
                assert json.loads(theirs)["result"]["error_type"] == "job_not_found"
        finally:
            fake.release()
        done = await ok(alice, "get_generation_result", {"job_id": handle["job_id"], "wait_seconds": 30})
        assert done["status"] == "completed" and done["image_id"]


async def test_the_owner_keeps_everything_after_another_principals_attempts(
    server: Running, tokens: Tokens, mode: str
) -> None:
    async with connect(server.url, tokens.alice, mode) as alice, connect(server.url, tokens.bob, mode) as bob:
        mine = await alices_work(alice)
        for tool, arguments in PROBES:
            await call(bob, tool, _fill(arguments, mine.ids()))

        status = await ok(alice, "get_session_status", {"session_id": mine.session_id})
        assert status["session"]["status"] == "active"  # bob's close_session did nothing
        assert [i["image_id"] for i in status["images"]] == [mine.image_id]
        assert (await ok(alice, "list_images"))["total"] == 1
        assert (await ok(alice, "view_image", {"image_ids": [mine.image_id]}))["images"][0]["image_id"] == mine.image_id
        assert (await ok(alice, "get_generation_result", {"job_id": mine.job_id}))["image_id"] == mine.image_id
        assert (await ok(alice, "create_download_link", {"image_id": mine.image_id}))["url"]
        turn = await ok(alice, "generate_image_in_session", {"session_id": mine.session_id, "prompt": "bluer"})
        assert turn["turn"] == 2
        edited = await ok(alice, "edit_image", {"image_path": mine.image_id, "prompt": "make it blue"})
        assert edited["image_id"]
        promoted = await ok(
            alice, "promote_image_to_session", {"image_path": mine.image_id, "session_description": "v2"}
        )
        assert promoted["session"]["session_id"] != mine.session_id
        closed = await ok(alice, "close_session", {"session_id": mine.session_id})
        assert closed["session"]["status"] == "closed"


async def test_server_stats_count_only_the_callers_sessions_and_images(server: Running, tokens: Tokens) -> None:
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        await alices_work(alice)
        await new_session(alice, "another of alice's")
        mine = await ok(alice, "get_server_stats")
        assert mine["sessions"] == {"active": 2} and mine["images_total"] == 1
        his = await ok(bob, "get_server_stats")
        assert his["images_total"] == 0
        assert sum(his["sessions"].values()) == 0


async def test_server_stats_generation_figures_are_the_callers_own(server: Running, tokens: Tokens) -> None:
    async with connect(server.url, tokens.alice) as alice, connect(server.url, tokens.bob) as bob:
        await alices_work(alice)
        his = await ok(bob, "get_server_stats")
        # the process-wide figures are left out for a remote non-admin caller: nothing of alice's shows
        assert his.get("generations", {}).get("succeeded", 0) == 0
        assert his.get("generations", {}).get("images_saved", 0) == 0
        assert his.get("generations", {}).get("failed_by_error_type", {}) == {}
        assert his.get("openai_latency", {}).get("count", 0) == 0
        assert his["images_total"] == 0
