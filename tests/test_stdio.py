"""The real process over stdio, as a client launches it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.subprocess


def _params(
    workspace: Path, *extra_env: tuple[str, str], module: str = "openai_image_mcp.server"
) -> StdioServerParameters:
    env = {"PATH": os.environ.get("PATH", ""), "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace), "LOG_LEVEL": "DEBUG"}
    env.update(dict(extra_env))
    return StdioServerParameters(command=sys.executable, args=["-m", module], env=env)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_generate_over_real_stdio(workspace: Path, fake: FakeOpenAI, mode: str) -> None:
    params = _params(workspace, ("OPENAI_API_KEY", "sk-test-stdio-key-123456"), ("OPENAI_BASE_URL", fake.base_url))
    async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"create_image_session", "generate_image_in_session", "generate_image", "get_server_stats"} <= names
        r = await client.call_tool("generate_image", {"prompt": "a fox", "quality": "low"})
        assert not r.is_error, r.content
        assert Path(r.structured_content["file_path"]).exists()  # type: ignore[index]


async def test_without_key_the_process_starts_and_answers(workspace: Path) -> None:
    async with Client(_params(workspace, module="openai_image_mcp")) as client:
        r = await client.call_tool("generate_image", {"prompt": "a fox"})
        assert r.is_error and r.structured_content["error_type"] == "not_configured"  # type: ignore[index]


def test_logs_go_to_stderr_and_stdout_stays_protocol_only(workspace: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace), "LOG_LEVEL": "DEBUG"}
    init = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "openai_image_mcp.server"],
        input=init,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith(('{"jsonrpc"', '{"id"')) for line in lines), proc.stdout
    assert "OPENAI_API_KEY is not set" in proc.stderr


def test_console_script_and_module_agree() -> None:
    out = subprocess.run([sys.executable, "-m", "openai_image_mcp", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("openai-image-mcp ")


async def test_streamable_http_transport_on_localhost(workspace: Path) -> None:
    import socket

    import anyio

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": os.environ.get("PATH", ""), "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "openai_image_mcp", "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with anyio.fail_after(20):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    await anyio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "generate_image" in names
            r = await client.call_tool("get_usage_guide", {})
            assert not r.is_error
    finally:
        proc.terminate()
        proc.wait(timeout=10)
