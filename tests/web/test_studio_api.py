"""``/studio`` over real HTTP: the page's headers, and ``/studio/api`` (the page's direct mode) with the same
authentication, scopes, Host/Origin checks and owner isolation as ``/mcp``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.studio.page import inline_hashes
from openai_image_mcp.web.studio import API_BODY_LIMIT
from tests.web.conftest import HIDDEN_KEYS, HTTP_TIMEOUT, Running, Tokens, all_keys, bearer, unknown_id


async def post_api(
    running: Running,
    body: Any,
    token: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> httpx2.Response:
    sent = {"content-type": "application/json", **bearer(token), **(headers or {})}
    content = raw if raw is not None else json.dumps(body).encode()
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        return await http.post(f"{running.base}/studio/api", content=content, headers=sent)


async def studio_call(running: Running, token: str | None, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One call through ``/studio/api`` that must succeed at the HTTP level; its ``result`` or ``error``."""
    r = await post_api(running, {"method": method, "params": params}, token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


async def tool(running: Running, token: str | None, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool's result (the MCP ``CallToolResult`` in its JSON form)."""
    answer = await studio_call(running, token, "tools/call", {"name": name, "arguments": arguments})
    assert "result" in answer, answer
    return dict(answer["result"])


async def generated(running: Running, token: str | None, prompt: str) -> str:
    result = await tool(running, token, "generate_image", {"prompt": prompt, "quality": "low"})
    assert not result.get("isError"), result
    return str(result["structuredContent"]["image_id"])


def wire(result: dict[str, Any]) -> str:
    """A result as JSON with the image data left out (base64 may spell anything)."""
    blocks = [{**b, "data": "<image data>"} if b.get("type") == "image" else b for b in result.get("content", [])]
    return json.dumps({**result, "content": blocks})


# -- the page -------------------------------------------------------------------------------------------------------


async def test_the_page_is_served_with_a_strict_policy(server: Running) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        moved = await http.get(f"{server.base}/studio")
        page = await http.get(f"{server.base}/studio/")
        head = await http.head(f"{server.base}/studio/")
        fetched = await http.get(f"{server.base}/studio/api")
    assert head.status_code == 200 and fetched.status_code == 405
    assert moved.status_code in (307, 308) and moved.headers["location"].endswith("/studio/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    csp = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in page.headers["content-security-policy"].split(";"))}
    assert csp["default-src"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert set(csp["img-src"]) == {"'self'", "data:", "blob:"}
    for directive in ("script-src", "style-src"):  # exactly the page's own inline code, by its hash
        (source,) = csp[directive]
        assert source.startswith("'sha256-"), csp[directive]
    css, js = inline_hashes()
    assert csp["script-src"] == [js] and csp["style-src"] == [css]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


async def test_the_page_and_the_api_refuse_a_foreign_host_or_origin(server: Running, tokens: Tokens) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        rebound = await http.get(f"{server.base}/studio/", headers={"Host": "evil.example"})
    assert rebound.status_code == 421
    foreign = await post_api(
        server,
        {"method": "tools/call", "params": {"name": "list_images", "arguments": {}}},
        tokens.alice,
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    same = await post_api(
        server,
        {"method": "tools/call", "params": {"name": "list_images", "arguments": {}}},
        tokens.alice,
        headers={"Origin": server.base},
    )
    assert same.status_code == 200, same.text


# -- authentication -------------------------------------------------------------------------------------------------


async def test_the_api_needs_a_valid_token(server: Running, tokens: Tokens) -> None:
    call = {"method": "tools/call", "params": {"name": "list_images", "arguments": {}}}
    missing = await post_api(server, call)
    wrong = await post_api(server, call, tokens.alice[:-2] + "xx")
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert set(missing.json()["error"]) == {"code", "message"}
    right = await post_api(server, call, tokens.alice)
    assert right.status_code == 200, right.text
    assert "result" in right.json(), right.text
    result = right.json()["result"]
    assert result["structuredContent"]["success"] is True and result["structuredContent"]["total"] == 0


async def test_a_token_without_the_scope_is_forbidden(server: Running, tokens: Tokens) -> None:
    generate = {"method": "tools/call", "params": {"name": "generate_image", "arguments": {"prompt": "a fox"}}}
    refused = await post_api(server, generate, tokens.reader)
    assert refused.status_code == 403
    assert "images:generate" in refused.json()["error"]["message"]
    listed = await post_api(
        server, {"method": "tools/call", "params": {"name": "list_images", "arguments": {}}}, tokens.reader
    )
    assert listed.status_code == 200


async def test_only_tool_calls_and_resource_reads_are_allowed(server: Running, tokens: Tokens) -> None:
    for body in (
        {"method": "tools/list", "params": {}},
        {"method": "initialize", "params": {}},
        {"method": "resources/list"},
        {"method": "tools/call", "params": ["list_images"]},
        {"params": {"name": "list_images"}},
        ["tools/call"],
    ):
        r = await post_api(server, body, tokens.alice)
        assert r.status_code == 400, (body, r.text)
        assert isinstance(r.json()["error"]["code"], int)
    not_json = await post_api(server, None, tokens.alice, raw=b"{not json")
    assert not_json.status_code == 400


async def test_an_oversized_body_is_refused(server: Running, tokens: Tokens) -> None:
    prompt = "x" * (API_BODY_LIMIT + 1)
    r = await post_api(
        server,
        {"method": "tools/call", "params": {"name": "generate_image", "arguments": {"prompt": prompt}}},
        tokens.alice,
    )
    assert r.status_code == 413


# -- isolation and paths ----------------------------------------------------------------------------------------------


async def test_another_principal_sees_none_of_your_images(server: Running, tokens: Tokens) -> None:
    mine = await generated(server, tokens.alice, "alice's fox")
    listed = await tool(server, tokens.alice, "list_images", {})
    assert [i["image_id"] for i in listed["structuredContent"]["images"]] == [mine]

    assert (await tool(server, tokens.bob, "list_images", {}))["structuredContent"]["total"] == 0
    never = unknown_id()
    theirs = await tool(server, tokens.bob, "view_image", {"image_ids": [mine]})
    nobodys = await tool(server, tokens.bob, "view_image", {"image_ids": [never]})
    assert theirs["isError"] is True
    assert theirs["structuredContent"]["error_type"] == nobodys["structuredContent"]["error_type"]
    assert json.dumps(theirs["structuredContent"]).replace(mine, "<id>") == json.dumps(
        nobodys["structuredContent"]
    ).replace(never, "<id>")

    uri = "openai-image://image/{}.png"
    read_theirs = await studio_call(server, tokens.bob, "resources/read", {"uri": uri.format(mine)})
    read_nobodys = await studio_call(server, tokens.bob, "resources/read", {"uri": uri.format(never)})
    assert "result" not in read_theirs
    assert read_theirs["error"]["code"] == read_nobodys["error"]["code"]
    assert read_theirs["error"]["message"].replace(mine, "<id>") == read_nobodys["error"]["message"].replace(
        never, "<id>"
    )
    own = await studio_call(server, tokens.alice, "resources/read", {"uri": uri.format(mine)})
    assert own["result"]["contents"][0]["mimeType"] == "image/png"


async def test_no_server_path_reaches_a_remote_caller(
    server: Running, tokens: Tokens, workspace: Path, tmp_path: Path
) -> None:
    mine = await generated(server, tokens.alice, "a fox by a path")
    for name, arguments in (
        ("list_images", {}),
        ("view_image", {"image_ids": [mine]}),
        ("generate_image", {"prompt": "another fox", "quality": "low"}),
        ("edit_image", {"image_path": mine, "prompt": "make it blue"}),
    ):
        result = await tool(server, tokens.alice, name, arguments)
        assert not result.get("isError"), result
        text = wire(result)
        for place in ("/tmp", str(workspace), str(tmp_path)):
            assert place not in text, f"{place!r} reaches a remote caller via {name}: {text[:2000]}"
        assert not all_keys(result) & HIDDEN_KEYS, name


# -- without authentication ---------------------------------------------------------------------------------------


async def test_an_unauthenticated_loopback_server_answers_as_local(
    serve: Callable[..., Running], settings: Settings
) -> None:
    running = serve(settings)
    mine = await generated(running, None, "a local fox")
    listed = await tool(running, None, "list_images", {})
    assert [i["image_id"] for i in listed["structuredContent"]["images"]] == [mine]
