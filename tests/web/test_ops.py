"""Operations over real HTTP: /healthz and /readyz without a token, /metrics for admin tokens only (Prometheus text
format), and a JSON log line per tool call naming the principal, never the token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from openai_image_mcp.core.logs import configure_logging
from tests.web.conftest import Running, Tokens, bearer, cli_env, cli_serving, connect, free_port, ok, png_bytes

_OURS = "openai-image-mcp"
_NOISY = ("httpcore", "httpx2", "hpack")


async def _get(url: str, token: str | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient(headers=bearer(token)) as http:
        return await http.get(url)


async def test_healthz_answers_without_a_token(server: Running) -> None:
    r = await _get(f"{server.base}/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_answers_without_a_token_once_the_state_is_open(server: Running) -> None:
    r = await _get(f"{server.base}/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready" and body["state"] == "ok" and body["blobs"] == "ok"


async def test_metrics_need_an_admin_token(server: Running, tokens: Tokens) -> None:
    r = await _get(f"{server.base}/metrics")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert (await _get(f"{server.base}/metrics", "oim_not-a-token")).status_code == 401
    for token in (tokens.alice, tokens.reader):
        r = await _get(f"{server.base}/metrics", token)
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert (await _get(f"{server.base}/metrics", tokens.admin)).status_code == 200


async def test_metrics_count_tool_calls_and_openai_latency(server: Running, tokens: Tokens) -> None:
    async with connect(server.url, tokens.alice) as alice:
        await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        await ok(alice, "list_images")
        await ok(alice, "list_images")
        assert (await alice.call_tool("view_image", {"image_ids": ["0" * 32]})).is_error
    r = await _get(f"{server.base}/metrics", tokens.admin)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "openai_image_mcp_tool_calls" in r.text
    assert "openai_image_mcp_openai_latency_seconds_bucket" in r.text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    calls = "openai_image_mcp_tool_calls_total"
    assert samples[(calls, (("outcome", "ok"), ("tool", "generate_image")))] == 1
    assert samples[(calls, (("outcome", "ok"), ("tool", "list_images")))] == 2
    assert samples[(calls, (("outcome", "error"), ("tool", "view_image")))] == 1
    assert samples[("openai_image_mcp_openai_latency_seconds_count", ())] == 1
    assert samples[("openai_image_mcp_openai_latency_seconds_bucket", (("le", "+Inf"),))] == 1
    assert samples[("openai_image_mcp_images_saved_total", ())] == 1


@pytest.fixture
def log_stream(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """Our JSON log handler on a StringIO, at INFO (or the level given by indirect parametrization)."""
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in _NOISY}
    stream = io.StringIO()
    configure_logging(getattr(request, "param", "INFO"), "json", [], stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler.get_name() == _OURS:
            root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_a_tool_call_logs_a_json_line_with_the_principal(
    server: Running, tokens: Tokens, log_stream: io.StringIO, mode: str
) -> None:
    async with connect(server.url, tokens.alice, mode) as alice:
        await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        await ok(alice, "list_images")
    records = _records(log_stream)  # every line is JSON
    finished = [r for r in records if str(r.get("message", "")).startswith("tool call finished")]
    assert {(r["tool"], r["principal"]) for r in finished} == {("generate_image", "alice"), ("list_images", "alice")}
    assert all(r["call_id"] and r["level"] == "INFO" for r in finished)
    assert tokens.alice not in log_stream.getvalue()


@pytest.mark.parametrize("log_stream", ["DEBUG"], indirect=True)
async def test_tokens_are_never_logged_even_at_debug(server: Running, tokens: Tokens, log_stream: io.StringIO) -> None:
    async with connect(server.url, tokens.alice) as alice:
        await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
    assert await _get(f"{server.base}/metrics", tokens.reader)
    text = log_stream.getvalue()
    assert '"principal": "alice"' in text
    for token in (tokens.alice, tokens.reader):
        assert token not in text
        assert token[len("oim_") : len("oim_") + 16] not in text


@pytest.mark.subprocess
async def test_the_access_log_does_not_carry_link_credentials(workspace: Path) -> None:
    port = free_port()
    with cli_serving(["--transport", "http", "--port", str(port)], cli_env(workspace)) as lines:
        async with connect(f"http://127.0.0.1:{port}/mcp", None) as client:  # open localhost: the caller is local
            link = await ok(client, "create_upload_link")
        async with httpx2.AsyncClient() as http:
            assert (await http.put(link["url"], content=png_bytes())).status_code == 201
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    text = "".join(lines)
    assert "GET /healthz" in text  # the access log is on...
    credential = link["url"].rsplit("/", 1)[1]
    assert credential.split(".")[1] not in text  # ...but the link's signature is not in it
