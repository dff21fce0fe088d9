"""A small MCP Apps host for browser tests of the studio: a web page that plays the host side of the protocol
over ``postMessage`` against the real server.

``serve_host(client)`` serves, on a free loopback port:

* ``/host.html``: the host page. It reads the studio's ``ui://`` resource through the server (``resources/read``),
  renders it in a sandboxed iframe (``srcdoc``, ``sandbox="allow-scripts"``: an opaque origin, as real hosts do),
  answers ``ui/initialize``, relays the view's ``tools/call`` and ``resources/read`` to the server, answers
  ``ui/message`` / ``ui/update-model-context`` / ``ui/request-display-mode``, and records every message of the
  view. ``window.host.runTool(name, args)`` plays the model calling a tool: it sends the view the tool's input,
  calls the server, and posts ``ui/notifications/tool-result`` (``host.resultPostedAt`` is when, in
  ``performance.now()`` of the host page). ``host.declined`` holds methods the host refuses with a JSON-RPC
  error (``"*"`` for all).
* ``POST /rpc``: ``{method, params}`` forwarded to the server through ``client`` (the SDK's ``mcp.Client``,
  usually in memory and advertising the Apps extension); answers ``{result}`` or ``{error: {code, message}}``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

STUDIO_URI = "ui://openai-image-mcp/studio.html"

HOST_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test MCP Apps host</title>
<style>body{margin:0;font:14px sans-serif} iframe{border:0;width:100%;height:100vh;background:#fff}</style>
</head><body><iframe id="app" title="studio" sandbox="allow-scripts"></iframe>
<script>
const RESOURCE = "__RESOURCE__";
const frame = document.getElementById("app");
let initDone;
const host = window.host = {
  messages: [], declined: new Set(), initialized: false, resultPostedAt: null, resource: null,
  ready: new Promise((resolve) => { initDone = resolve; }),
  async rpc(method, params) {
    const r = await fetch("/rpc", {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify({method, params})});
    return r.json();
  },
  send(msg) { frame.contentWindow.postMessage(msg, "*"); },
  notify(method, params) { this.send({jsonrpc: "2.0", method, params}); },
  postResult(result) { this.resultPostedAt = performance.now(); this.notify("ui/notifications/tool-result", result); },
  async runTool(name, args) {
    this.notify("ui/notifications/tool-input", {arguments: args});
    const answer = await this.rpc("tools/call", {name, arguments: args});
    if (answer.error) throw new Error(answer.error.message);
    this.postResult(answer.result);
    return answer.result;
  },
  sent(method) { return this.messages.filter((m) => m.method === method); },
};
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const msg = event.data;
  if (!msg || msg.jsonrpc !== "2.0" || !msg.method) return;
  host.messages.push({method: msg.method, params: msg.params, id: msg.id});
  if (msg.method === "ui/notifications/initialized") { host.initialized = true; initDone(); return; }
  if (msg.id === undefined || msg.id === null) return;
  const reply = (body) => host.send(Object.assign({jsonrpc: "2.0", id: msg.id}, body));
  if (msg.method !== "ui/initialize" && (host.declined.has(msg.method) || host.declined.has("*"))) {
    reply({error: {code: -32000, message: "Declined by the test host"}});
    return;
  }
  switch (msg.method) {
    case "ui/initialize":
      reply({result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
        hostCapabilities: {serverTools: {}, serverResources: {}, openLinks: {}, logging: {}},
        hostContext: {theme: "light", displayMode: "inline", availableDisplayModes: ["inline", "fullscreen"],
                      platform: "web", locale: "en-US"}}});
      return;
    case "ui/message": case "ui/update-model-context": case "ui/open-link":
      reply({result: {}}); return;
    case "ui/request-display-mode":
      reply({result: {mode: msg.params.mode}}); return;
    case "tools/call": case "resources/read":
      reply(await host.rpc(msg.method, msg.params)); return;
    default:
      reply({error: {code: -32601, message: "Method not found: " + msg.method}});
  }
});
(async () => {
  const answer = await host.rpc("resources/read", {uri: RESOURCE});
  const content = answer.result.contents[0];
  host.resource = {mimeType: content.mimeType, meta: content._meta, size: content.text.length};
  frame.srcdoc = content.text;
})();
</script></body></html>
""".replace("__RESOURCE__", STUDIO_URI)


@dataclass
class Host:
    url: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _app(client: Client, host: Host, token: str | None = None) -> Starlette:
    async def page(_: Request) -> Response:
        return HTMLResponse(HOST_HTML, headers={"Cache-Control": "no-store"})

    async def studio(_: Request) -> Response:
        from openai_image_mcp.studio.page import studio_html

        return HTMLResponse(studio_html(), headers={"Cache-Control": "no-store"})

    async def api(request: Request) -> Response:
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": {"code": 401, "message": "A valid bearer token is needed."}}, 401)
        return await rpc(request)

    async def rpc(request: Request) -> Response:
        body = json.loads(await request.body())
        method, params = str(body.get("method")), dict(body.get("params") or {})
        host.calls.append((method, params))
        try:
            if method == "tools/call":
                result: Any = await client.call_tool(str(params["name"]), dict(params.get("arguments") or {}))
            elif method == "resources/read":
                result = await client.read_resource(str(params["uri"]))
            else:
                return JSONResponse({"error": {"code": -32601, "message": f"Method not found: {method}"}})
        except MCPError as exc:
            return JSONResponse({"error": {"code": exc.error.code, "message": exc.error.message}})
        return JSONResponse({"result": result.model_dump(mode="json", by_alias=True, exclude_none=True)})

    routes = [Route("/host.html", page), Route("/rpc", rpc, methods=["POST"])]
    routes += [Route("/studio/", studio), Route("/studio/api", api, methods=["POST"])]
    return Starlette(routes=routes)


@asynccontextmanager
async def serve_host(client: Client, *, token: str | None = None) -> AsyncIterator[Host]:
    """The host page and its relay on a free loopback port, in this event loop (the client's). The studio is also
    served top-level at ``/studio/`` with its ``/studio/api`` (direct mode; ``token`` makes the api want it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    host = Host(url=f"http://127.0.0.1:{port}/host.html")
    config = uvicorn.Config(_app(client, host, token), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield host
        finally:
            server.should_exit = True
    sock.close()
