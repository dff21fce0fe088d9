"""Shared fixtures: an isolated environment, the loopback fake OpenAI, settings and an in-memory client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import RedisServer, S3Server

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"

_ENV_PREFIXES = ("OPENAI_", "MCP_", "LOG_LEVEL")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's key, base URL or server settings."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the test session; tests keep apart by key prefix (``redis_server.prefix()``)."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One S3-compatible server (moto, on loopback) for the test session; tests keep apart by bucket
    (``s3_server.bucket()`` makes a fresh one)."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_server.reset()
    fake_server.latency = 0.0
    yield fake_server
    assert fake_server.schema_errors == [], fake_server.schema_errors


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def settings(workspace: Path, fake: FakeOpenAI) -> Settings:
    return Settings(
        workspace=workspace,
        openai_api_key=TEST_KEY,
        openai_base_url=fake.base_url,
        max_retries=0,
        request_timeout=20,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(create_server(settings)) as c:
        yield c
