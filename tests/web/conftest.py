"""The HTTP face over real HTTP: the app of ``build_http_app`` under uvicorn on a loopback port (in a thread with
its own event loop, like the fake OpenAI), tokens in a tokens file, SDK clients of both protocol eras, raw requests.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE, streamable_http_client
from mcp.types import CallToolResult

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.web import tokenfile
from openai_image_mcp.web.app import HttpApp, build_http_app
from tests.support.fake_openai import FakeOpenAI

#: A safety net against a hang, never a measurement.
STARTUP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0
ACCEPT = "application/json, text/event-stream"
HIDDEN_KEYS = frozenset({"file_path", "metadata_path", "folder", "workspace", "pid"})


@pytest.fixture(autouse=True)
def small_images(fake: FakeOpenAI) -> Iterator[None]:
    """The fake draws flat images (tens of KB, not megabytes): these tests are about HTTP, not image sizes."""
    fake.flat_images = True
    yield
    fake.flat_images = False


class _Uvicorn(uvicorn.Server):
    """uvicorn that says when its start-up is over (so nobody polls for it)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.up.set()


@dataclass
class Running:
    """One server: the app as built, and the loopback port it is served on."""

    built: HttpApp
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Where a test reaches /mcp (the public URL may name another host, as behind a proxy)."""
        return f"{self.base}/mcp"

    @property
    def public_url(self) -> str:
        return self.built.public_url


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def stopping() -> Iterator[list[tuple[uvicorn.Server, threading.Thread]]]:
    """Servers told to stop: each winds down (uvicorn takes a fixed 0.1-0.2 s) while the next test runs, and the
    session waits for them all at its end."""
    pending: list[tuple[uvicorn.Server, threading.Thread]] = []
    yield pending
    for server, thread in pending:
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)


@pytest.fixture
def serve(stopping: list[tuple[uvicorn.Server, threading.Thread]]) -> Iterator[Callable[..., Running]]:
    """``serve(settings, host=..., **build_http_app kwargs)``: build the app for a free loopback port and serve it
    there until the test ends. ``host`` is the bind address the app is configured for (the socket is always on
    127.0.0.1, so a test can configure ``0.0.0.0`` and still reach it)."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings, *, host: str = "127.0.0.1", **kwargs: Any) -> Running:
        sock = loopback_socket()
        port = int(sock.getsockname()[1])
        try:
            built = build_http_app(settings, host=host, port=port, **kwargs)
        except BaseException:
            sock.close()
            raise
        config = uvicorn.Config(
            built.app, host="127.0.0.1", port=port, log_config=None, lifespan="on", timeout_graceful_shutdown=2
        )
        server = _Uvicorn(config)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(server.serve(sockets=[sock]))
            except BaseException as exc:  # reported below
                failure.append(exc)
            finally:
                sock.close()
                server.up.set()

        thread = threading.Thread(target=run, name=f"web-server:{port}", daemon=True)
        thread.start()
        started.append((server, thread))
        assert server.up.wait(STARTUP_TIMEOUT), "the server did not start"
        assert server.started, f"the server failed to start: {failure!r}"
        return Running(built, port)

    yield start
    for server, _ in started:
        server.should_exit = True
    stopping.extend(started)


# -- the real command ------------------------------------------------------------------------------------------------

CLI = str(Path(sys.executable).with_name("openai-image-mcp"))


def cli_env(workspace: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace), **extra}


@contextmanager
def cli_serving(args: list[str], env: dict[str, str]) -> Iterator[list[str]]:
    """``openai-image-mcp serve ...`` until the block ends; yields its stderr lines (complete after the block).
    Waits for uvicorn's 'Uvicorn running on' line (no polling)."""
    proc = subprocess.Popen(
        [CLI, "serve", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    fresh: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            fresh.put(line)
        fresh.put(None)

    reader = threading.Thread(target=pump, name="cli-stderr", daemon=True)
    reader.start()
    try:
        while True:
            line = fresh.get(timeout=STARTUP_TIMEOUT)
            assert line is not None, "the server exited:\n" + "".join(lines)
            if "Uvicorn running on" in line:
                break
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(10)
        assert proc.stderr is not None
        proc.stderr.close()


# -- tokens ------------------------------------------------------------------------------------------------------


@dataclass
class Tokens:
    alice: str
    bob: str
    reader: str
    admin: str


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    return tmp_path / "tokens"


@pytest.fixture
def add_token(tokens_file: Path) -> Callable[..., str]:
    """``add_token(name, *scopes)``: a new token in the tokens file (default scopes when none are given)."""

    def add(name: str, *scopes: str) -> str:
        token, _ = tokenfile.add(tokens_file, name, list(scopes))
        return token

    return add


@pytest.fixture
def tokens(add_token: Callable[..., str]) -> Tokens:
    """alice and bob (read + generate), reader (images:read only), ops (admin)."""
    return Tokens(
        alice=add_token("alice"),
        bob=add_token("bob"),
        reader=add_token("reader", "images:read"),
        admin=add_token("ops", "admin"),
    )


@pytest.fixture
def web_settings(settings: Settings, tokens_file: Path) -> Settings:
    return settings.model_copy(update={"tokens_file": tokens_file})


@pytest.fixture
def server(serve: Callable[..., Running], web_settings: Settings, tokens: Tokens) -> Running:
    """A server with the tokens file (its tokens are written before it starts)."""
    return serve(web_settings)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: ``auto`` negotiates 2026-07-28 (per-request), ``legacy`` the initialize handshake."""
    return str(request.param)


# -- clients -----------------------------------------------------------------------------------------------------


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@asynccontextmanager
async def connect(
    url: str, token: str | None, mode: str = "auto", *, max_sse_event_size: int | None = DEFAULT_MAX_SSE_EVENT_SIZE
) -> AsyncIterator[Client]:
    """The SDK client over Streamable HTTP with a bearer token. (In the legacy era answers come as server-sent
    events, which the SDK caps at 1 MiB by default: a full-size image resource needs ``max_sse_event_size=None``.)"""
    async with httpx2.AsyncClient(headers=bearer(token), timeout=HTTP_TIMEOUT) as http:
        transport = streamable_http_client(url, http_client=http, max_sse_event_size=max_sse_event_size)
        async with Client(transport, mode=mode) as client:  # type: ignore[arg-type]
            yield client


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tool's structured result (success or error)."""
    r = await client.call_tool(tool, arguments or {})
    assert r.structured_content is not None, r.content
    return dict(r.structured_content)


async def ok(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await client.call_tool(tool, arguments or {})
    assert not r.is_error, r.content
    assert r.structured_content is not None and r.structured_content["success"] is True
    return dict(r.structured_content)


async def failed(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await client.call_tool(tool, arguments or {})
    assert r.is_error, r.content
    assert r.structured_content is not None and r.structured_content["success"] is False
    return dict(r.structured_content)


async def new_session(client: Client, description: str = "watercolor foxes") -> str:
    return str((await ok(client, "create_image_session", {"description": description}))["session"]["session_id"])


def unknown_id() -> str:
    """An id in the shape of the server's ids that nothing has."""
    return uuid.uuid4().hex


def legacy_initialize(request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }


def tool_call(name: str, arguments: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}},
    }


async def post_mcp(
    url: str, payload: dict[str, Any], token: str | None = None, headers: dict[str, str] | None = None
) -> httpx2.Response:
    """One raw JSON-RPC POST to /mcp."""
    sent = {"content-type": "application/json", "accept": ACCEPT, **bearer(token), **(headers or {})}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        return await http.post(url, content=json.dumps(payload), headers=sent)


# -- what a remote caller sees -------------------------------------------------------------------------------------


def wire_text(result: CallToolResult) -> str:
    """A result as JSON, image data left out (base64 may spell anything, '/tmp' included)."""
    data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    for block in data.get("content", []):
        if block.get("type") == "image":
            block["data"] = "<image data>"
    return json.dumps(data, ensure_ascii=False)


def all_keys(value: Any) -> set[str]:
    """Every dict key in ``value``, JSON texts (the content's text blocks) parsed too."""
    if isinstance(value, dict):
        keys = set(value)
        for v in value.values():
            keys |= all_keys(v)
        return keys
    if isinstance(value, list):
        return set().union(*(all_keys(v) for v in value)) if value else set()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return all_keys(json.loads(value))
        except ValueError:
            return set()
    return set()


def assert_no_server_path(result: CallToolResult, *places: Path | str) -> None:
    text = wire_text(result)
    for place in {"/tmp", *(str(p) for p in places)}:
        assert place not in text, f"{place!r} reaches a remote caller: {text[:2000]}"
    data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    leaked = all_keys(data) & HIDDEN_KEYS
    assert not leaked, f"path fields reach a remote caller: {sorted(leaked)}"


# -- the fake OpenAI --------------------------------------------------------------------------------------------------


def openai_calls(fake: FakeOpenAI) -> int:
    """Requests that make OpenAI do something (generations, edits, file uploads), leaving out the GETs the server
    sends by itself in the background (the Models API)."""
    return sum(1 for r in fake.requests if r.method != "GET")


# -- images --------------------------------------------------------------------------------------------------------


def png_bytes(side: int = 64, *, noise: bool = False) -> bytes:
    """A small real PNG (with ``noise``, one that does not compress: about 3 bytes a pixel)."""
    from PIL import Image

    if noise:
        img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    else:
        img = Image.new("RGB", (side, side), (200, 80, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
