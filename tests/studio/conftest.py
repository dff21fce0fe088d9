"""Fixtures of the studio tests: a client that advertises MCP Apps, the test host page, the system Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.browser import CHROMIUM, chromium, chromium_available
from tests.support.studio_host import Host, serve_host


def apps_client(settings: Settings) -> Client:
    """The SDK's in-memory client, advertising the Apps extension as a host that renders apps does."""
    return Client(create_server(settings), extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})])


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Client]:
    async with apps_client(settings) as client:
        yield client


@pytest.fixture
async def host(app_client: Client) -> AsyncIterator[Host]:
    async with serve_host(app_client) as served:
        yield served


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not chromium_available():  # pragma: no cover - scripts/test installs it
        pytest.skip(f"no Chromium at {CHROMIUM}")
    async with chromium() as b:
        yield b
