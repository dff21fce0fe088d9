"""A tiny authenticating reverse proxy for scripts/conformance.

The MCP conformance CLI (``conformance server --url ...``) has no option to send an Authorization
header, so scripts/conformance points it at this proxy, which forwards every request unchanged to the
server and adds ``Authorization: Bearer <token>`` (the token comes from the environment variable
CONFORMANCE_BEARER_TOKEN, so it never appears on a command line; without it nothing is added, which
makes the proxy a pure pass-through for comparison runs).

Everything else goes through as it came: the method, path, query, body and every header, the Host and
Origin headers included (so the server's own DNS-rebinding checks decide), without adding any of the
HTTP client's default headers (an absent Accept stays absent). Responses are streamed back raw (SSE
streams as they arrive, any content-encoding untouched); a client that goes away closes the upstream
request. Only the hop-by-hop headers are dropped.

Usage: .venv/bin/python scripts/conformance_proxy.py LISTEN_PORT UPSTREAM_BASE_URL
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import httpx2
import uvicorn

HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}


class Proxy:
    def __init__(self, upstream: str, token: str | None) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token
        limits = httpx2.Limits(max_connections=200, max_keepalive_connections=50)
        self.http = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None), limits=limits)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.http.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        dropped = HOP_BY_HOP | {b"content-length", b"authorization"}
        headers = [(k, v) for k, v in scope["headers"] if k not in dropped]
        if self.token:
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        url = self.upstream + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        request = httpx2.Request(scope["method"], url, headers=headers, content=body if body else None)
        try:
            response = await self.http.send(request, stream=True)
        except httpx2.HTTPError as exc:
            await _plain(send, 502, f"upstream error: {exc}".encode())
            return
        try:
            out = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async with anyio.create_task_group() as tg:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(watch)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()
        finally:
            await response.aclose()


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    app = Proxy(upstream, os.environ.get("CONFORMANCE_BEARER_TOKEN") or None)
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", server_header=False, date_header=False
    )


if __name__ == "__main__":
    main()
