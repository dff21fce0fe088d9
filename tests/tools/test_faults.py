"""Upstream faults beyond status codes: Retry-After within the time budget, connection resets,
and the store under many concurrent writers."""

from __future__ import annotations

import logging
import socket
import sqlite3
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def test_429_is_retried_after_retry_after(
    settings: Settings, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"max_retries": 2})
    fake.enqueue_error(429, code="rate_limit_exceeded", headers={"retry-after": "1"})
    caplog.set_level(logging.INFO, logger="openai")
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert not r.is_error, r.content
    assert len(fake.requests) == 2
    assert fake.requests[1].headers.get("x-stainless-retry-count") == "1"
    # the SDK waited as OpenAI asked (what it announced, not a measured duration)
    retries = [rec.getMessage() for rec in caplog.records if rec.getMessage().startswith("Retrying request")]
    assert retries == ["Retrying request in 1.000000 seconds (retry 1 of 2)"]


async def test_retries_stay_within_the_total_time_budget(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"max_retries": 5, "request_timeout": 0.6})
    for _ in range(5):
        fake.enqueue_error(503, headers={"retry-after": "1"})
    async with Client(create_server(settings)) as client:
        with anyio.fail_after(30):  # a guard against a hang, not a measurement (the assertions below are the test)
            r = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert r.is_error and r.structured_content["error_type"] == "timeout"  # type: ignore[index]
    assert "0.6" in r.structured_content["error"]  # type: ignore[index]


@pytest.fixture
def resetting_server() -> Iterator[str]:
    """A TCP server that accepts and resets every connection at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    sock.close()


async def test_connection_reset_is_a_clear_error(settings: Settings, resetting_server: str) -> None:
    settings = settings.model_copy(update={"openai_base_url": resetting_server, "max_retries": 1})
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("generate_image", {"prompt": "a fox"})
    sc = r.structured_content
    assert r.is_error and sc is not None and sc["error_type"] == "openai_unavailable"
    assert "network" in sc["suggestion"] and "retry" in sc["suggestion"]


async def test_concurrent_turns_in_one_session_and_across_sessions(
    client: Client, fake: FakeOpenAI, settings: Settings
) -> None:
    fake.latency = 0.05
    one = await new_session(client)
    others = [await new_session(client) for _ in range(8)]
    results: list[dict[str, object]] = []

    async def turn(sid: str, n: int) -> None:
        prompt = f"solo turn {n}" if sid == one else f"turn {n}"
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": prompt})
        assert not r.is_error, r.content
        results.append(r.structured_content)  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(turn, one, n)
        for sid in others:
            for n in range(2):
                tg.start_soon(turn, sid, n)
    status = (await client.call_tool("get_session_status", {"session_id": one})).structured_content
    assert status is not None
    names = sorted(Path(i["file_path"]).name for i in status["images"])
    assert names == [f"image_{n:03d}.png" for n in range(1, 9)]
    assert [t["status"] for t in status["turns"]] == ["completed"] * 8
    # the busy session's turns form one chain: every turn but the first builds on a different earlier turn
    mine = sorted((r for r in results if r["session_id"] == one), key=lambda r: int(str(r["turn"])))
    solo = [q.json for q in fake.requests_to("/responses") if "solo turn" in str(q.json)]
    parents = [body.get("previous_response_id") for body in solo if body is not None]
    assert sorted(map(str, parents)) == sorted(map(str, [None] + [r["response_id"] for r in mine[:-1]]))
    assert len(results) == 8 + 16
    conn = sqlite3.connect(settings.database_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == 24
    conn.close()
