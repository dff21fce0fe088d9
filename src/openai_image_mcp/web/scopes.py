"""The scope gate in front of ``/mcp``: a request whose token lacks the scope its JSON-RPC method (or tool)
needs is answered with HTTP 403 ``insufficient_scope`` before it reaches the server. (The tools'
middleware checks again, so an in-process client meets the same rule as an ``isError`` result.)
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openai_image_mcp.tools.caller import scope_for_method


def _needed(body: bytes) -> list[str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # not JSON: the server answers it (with a parse error)
    messages = parsed if isinstance(parsed, list) else [parsed]
    needed: list[str] = []
    for msg in messages:
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            continue
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        scope = scope_for_method(msg["method"], str(params.get("name", "")) if params else None)
        if scope is not None:
            needed.append(scope)
    return needed


class ScopeGate:
    def __init__(self, app: ASGIApp, resource_metadata_url: str | None, max_body: int) -> None:
        self.app = app
        self.resource_metadata_url = resource_metadata_url
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        token = getattr(user, "access_token", None)
        if scope["type"] != "http" or scope.get("method") != "POST" or token is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                await _send_json(send, 413, {"error": "request_too_large"}, [])
                return
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        granted = set(token.scopes)
        missing = [s for s in _needed(body) if s not in granted and "admin" not in granted]
        if missing:
            await self._forbidden(send, missing[0])
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)

    async def _forbidden(self, send: Send, needed: str) -> None:
        description = f"This token lacks the scope {needed}."
        parts = ['error="insufficient_scope"', f'scope="{needed}"', f'error_description="{description}"']
        if self.resource_metadata_url:
            parts.append(f'resource_metadata="{self.resource_metadata_url}"')
        header = ("Bearer " + ", ".join(parts)).encode()
        payload = {"error": "insufficient_scope", "error_description": description, "scope": needed}
        await _send_json(send, 403, payload, [(b"www-authenticate", header)])


async def _send_json(send: Send, status: int, payload: dict[str, str], headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``messages`` first, then the connection's own (so a disconnect still reaches the server)."""
    queue: list[Message] = list(messages)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed
