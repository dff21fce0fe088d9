"""Safe binding: no open server off loopback (UnsafeBind, exit code 2) unless --allow-unauthenticated, which warns;
the Host and Origin checks on every bind address, with the configured extra names and the public URL's host."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.web.app import UnsafeBind, build_http_app
from tests.web.conftest import CLI, Running, Tokens, cli_env, cli_serving, free_port, legacy_initialize, post_mcp


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "images.example.com"])
def test_an_open_bind_off_loopback_is_refused(settings: Settings, host: str) -> None:
    with pytest.raises(UnsafeBind) as caught:
        build_http_app(settings, host=host, port=8000)
    message = str(caught.value)
    assert "OPENAI_IMAGE_MCP_TOKENS_FILE" in message and "--allow-unauthenticated" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_an_open_bind_on_loopback_is_allowed(settings: Settings, host: str) -> None:
    built = build_http_app(settings, host=host, port=8000)
    assert not built.authenticated
    assert built.public_url == f"http://{host}:8000/mcp"


def test_allow_unauthenticated_serves_off_loopback_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        built = build_http_app(settings, host="0.0.0.0", port=8000, allow_unauthenticated=True)
    assert not built.authenticated
    assert any("WITHOUT authentication" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_with_tokens_a_bind_off_loopback_is_allowed(web_settings: Settings, tokens: Tokens) -> None:
    built = build_http_app(web_settings, host="0.0.0.0", port=8000)
    assert built.authenticated and built.public_url == "http://127.0.0.1:8000/mcp"


def test_an_ipv6_loopback_bind_gets_a_bracketed_public_url(web_settings: Settings, tokens: Tokens) -> None:
    built = build_http_app(web_settings, host="::1", port=8000)
    assert built.public_url == "http://[::1]:8000/mcp"


@pytest.mark.subprocess
def test_the_cli_refuses_an_open_bind_off_loopback_with_exit_code_2(workspace: Path) -> None:
    port = free_port("0.0.0.0")
    proc = subprocess.run(
        [CLI, "serve", "--transport", "http", "--host", "0.0.0.0", "--port", str(port)],
        env=cli_env(workspace),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Refusing to serve on 0.0.0.0" in proc.stderr
    assert "OPENAI_IMAGE_MCP_TOKENS_FILE" in proc.stderr and "--allow-unauthenticated" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.subprocess
async def test_the_cli_serves_off_loopback_when_allowed_and_warns(workspace: Path) -> None:
    port = free_port("0.0.0.0")
    args = ["--transport", "http", "--host", "0.0.0.0", "--port", str(port), "--allow-unauthenticated"]
    with cli_serving(args, cli_env(workspace)) as lines:
        async with httpx2.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert any("WITHOUT authentication" in line and "WARNING" in line for line in lines), "".join(lines)


# -- Host and Origin -----------------------------------------------------------------------------------------------


async def _status(server: Running, token: str | None, **headers: str) -> int:
    return (await post_mcp(server.url, legacy_initialize(), token=token, headers=headers)).status_code


async def test_host_and_origin_are_checked_off_loopback(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens
) -> None:
    server = serve(web_settings, host="0.0.0.0")
    assert await _status(server, tokens.alice) == 200
    assert await _status(server, tokens.alice, host="evil.example") == 421
    assert await _status(server, tokens.alice, host=f"evil.example:{server.port}") == 421
    assert await _status(server, tokens.alice, origin="http://evil.example") == 403
    assert await _status(server, tokens.alice, origin=f"http://127.0.0.1:{server.port}") == 200
    assert await _status(server, tokens.alice, host=f"localhost:{server.port}") == 200


async def test_host_and_origin_are_checked_on_an_open_loopback_server(
    serve: Callable[..., Running], settings: Settings
) -> None:
    server = serve(settings)  # no authentication: DNS rebinding is the threat
    assert await _status(server, None) == 200
    assert await _status(server, None, host="evil.example") == 421
    assert await _status(server, None, origin="http://evil.example") == 403


async def test_configured_hosts_and_origins_are_accepted(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens
) -> None:
    configured = web_settings.model_copy(
        update={
            "allowed_hosts": "images.example.com, images.example.com:8443",
            "allowed_origins": "https://images.example.com,https://app.example.com:8443",
        }
    )
    server = serve(configured, host="0.0.0.0")
    for host in ("images.example.com", "images.example.com:8443"):
        assert await _status(server, tokens.alice, host=host) == 200, host
    for origin in ("https://images.example.com", "https://app.example.com:8443"):
        assert await _status(server, tokens.alice, origin=origin) == 200, origin
    assert await _status(server, tokens.alice, host="images.example.com:9999") == 421
    assert await _status(server, tokens.alice, host="evil.example") == 421
    assert await _status(server, tokens.alice, origin="https://app.example.com") == 403
    assert await _status(server, tokens.alice, origin="http://evil.example") == 403


async def test_the_public_urls_host_and_origin_are_accepted(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens
) -> None:
    server = serve(web_settings.model_copy(update={"public_url": "https://images.example.com/mcp"}), host="0.0.0.0")
    assert server.public_url == "https://images.example.com/mcp"
    assert await _status(server, tokens.alice, host="images.example.com:443") == 200
    assert await _status(server, tokens.alice, origin="https://images.example.com") == 200
    assert await _status(server, tokens.alice, host="evil.example") == 421


async def test_the_public_urls_host_without_a_port_is_accepted(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens
) -> None:
    server = serve(web_settings.model_copy(update={"public_url": "https://images.example.com/mcp"}), host="0.0.0.0")
    assert await _status(server, tokens.alice, host="images.example.com") == 200
