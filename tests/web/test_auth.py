"""Static bearer tokens over real HTTP: 401 without a good token, the Protected Resource Metadata, 403
``insufficient_scope`` before dispatch, what a read-only token may do, and what an admin sees."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from tests.support.fake_openai import FakeOpenAI
from tests.web.conftest import (
    Running,
    Tokens,
    call,
    connect,
    legacy_initialize,
    ok,
    openai_calls,
    post_mcp,
    tool_call,
    unknown_id,
)

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


async def test_no_token_gets_401_pointing_at_the_resource_metadata(server: Running) -> None:
    for body in (legacy_initialize(), LIST_TOOLS):
        r = await post_mcp(server.url, body)
        assert r.status_code == 401
        challenge = r.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert f'resource_metadata="{server.base}/.well-known/oauth-protected-resource/mcp"' in challenge


async def test_a_wrong_token_gets_401(server: Running, tokens: Tokens) -> None:
    for token in ("oim_not-a-token", tokens.alice[:-1], tokens.alice + "x", "a.b.c"):
        r = await post_mcp(server.url, legacy_initialize(), token=token)
        assert r.status_code == 401, token
        assert "resource_metadata=" in r.headers["www-authenticate"]


async def test_a_good_token_is_accepted(server: Running, tokens: Tokens) -> None:
    r = await post_mcp(server.url, legacy_initialize(), token=tokens.alice)
    assert r.status_code == 200
    assert '"protocolVersion"' in r.text


async def test_protected_resource_metadata_names_the_public_url(server: Running) -> None:
    import httpx2

    async with httpx2.AsyncClient() as http:
        r = await http.get(f"{server.base}/.well-known/oauth-protected-resource/mcp")
    assert r.status_code == 200
    doc = r.json()
    assert doc["resource"] == server.public_url == f"{server.base}/mcp"
    assert doc["authorization_servers"]
    assert "header" in doc["bearer_methods_supported"]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("create_image_session", {"description": "foxes"}),
        ("generate_image", {"prompt": "a fox"}),
        ("generate_image_in_session", {"session_id": unknown_id(), "prompt": "a fox"}),
        ("edit_image", {"image_path": unknown_id(), "prompt": "bluer"}),
        ("create_upload_link", {}),
        ("cancel_generation", {"job_id": unknown_id()}),
    ],
)
async def test_a_read_only_token_gets_403_insufficient_scope_for_a_generating_tool(
    server: Running, tokens: Tokens, fake: FakeOpenAI, tool: str, arguments: dict[str, object]
) -> None:
    r = await post_mcp(server.url, tool_call(tool, arguments), token=tokens.reader)
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert r.json()["scope"] == "images:generate"
    challenge = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="images:generate"' in challenge
    assert "resource_metadata=" in challenge
    assert openai_calls(fake) == 0


async def test_the_sdk_client_surfaces_a_missing_scope_as_an_error(
    server: Running, tokens: Tokens, fake: FakeOpenAI, mode: str
) -> None:
    async with connect(server.url, tokens.reader, mode) as client:
        with pytest.raises(MCPError):
            await client.call_tool("generate_image", {"prompt": "a fox"})
        with pytest.raises(MCPError):
            await client.call_tool("create_image_session", {"description": "foxes"})
        # the connection is still usable afterwards
        assert (await ok(client, "list_images"))["total"] == 0
    assert openai_calls(fake) == 0


async def test_a_read_only_token_can_browse(server: Running, tokens: Tokens, mode: str) -> None:
    async with connect(server.url, tokens.reader, mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"generate_image", "list_images"} <= names  # listing is open to every token
        assert (await ok(client, "list_images"))["total"] == 0
        assert (await ok(client, "list_active_sessions"))["count"] == 0
        assert (await ok(client, "get_server_stats"))["images_total"] == 0
        assert (await ok(client, "get_usage_guide"))["guide"]
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "openai-image://guide" in uris
        guide = await client.read_resource("openai-image://guide")
        assert guide.contents


async def test_a_read_only_token_is_told_not_found_not_forbidden_for_a_read(server: Running, tokens: Tokens) -> None:
    async with connect(server.url, tokens.reader) as client:
        r = await call(client, "get_generation_result", {"job_id": unknown_id()})
        assert r["error_type"] == "job_not_found"


async def test_an_admin_token_sees_every_principals_sessions_and_images(
    server: Running, tokens: Tokens, mode: str
) -> None:
    async with connect(server.url, tokens.alice, mode) as alice, connect(server.url, tokens.bob, mode) as bob:
        a_sid = (await ok(alice, "create_image_session", {"description": "alice's foxes"}))["session"]["session_id"]
        b_sid = (await ok(bob, "create_image_session", {"description": "bob's owls"}))["session"]["session_id"]
        a_img = (await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"}))["image_id"]
        b_img = (await ok(bob, "generate_image", {"prompt": "an owl", "quality": "low"}))["image_id"]
    async with connect(server.url, tokens.admin, mode) as admin:
        listed = await ok(admin, "list_active_sessions")
        assert {s["session_id"] for s in listed["sessions"]} == {a_sid, b_sid}
        images = await ok(admin, "list_images")
        assert {i["image_id"] for i in images["images"]} == {a_img, b_img}
        assert (await ok(admin, "get_session_status", {"session_id": a_sid}))["session"]["session_id"] == a_sid
        viewed = await ok(admin, "view_image", {"image_ids": [a_img, b_img]})
        assert [i["image_id"] for i in viewed["images"]] == [a_img, b_img]
        stats = await ok(admin, "get_server_stats")
        assert stats["images_total"] == 2 and stats["sessions"]["active"] == 2
        assert (await ok(admin, "create_upload_link"))["url"]  # admin implies images:generate
