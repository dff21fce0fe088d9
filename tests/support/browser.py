"""A real browser for the tests: Debian's headless Chromium (``/usr/bin/chromium``) driven by Playwright.

Playwright's own browser download is never used (``playwright install`` is not run; downloads are blocked):
the launch points ``executable_path`` at the system Chromium. Both APIs are offered:

* ``async with chromium() as browser:`` (Playwright's async API, for ``anyio`` tests that also drive the
  in-memory MCP client), and
* ``with chromium_sync() as browser:`` (the sync API, for plain tests; not inside a running event loop).

``block_remote(page)`` / ``block_remote_sync(page)`` abort every request that is not loopback, ``data:``,
``blob:`` or ``about:`` and record what they blocked; ``screenshot_path(name)`` is where a test writes its
screenshot (``test-artifacts/screenshots/``, ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route
    from playwright.sync_api import Browser as SyncBrowser
    from playwright.sync_api import Page as SyncPage
    from playwright.sync_api import Route as SyncRoute

CHROMIUM = os.environ.get("OIM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
LOCAL_SCHEMES = frozenset({"data", "about", "blob"})


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


requires_chromium = pytest.mark.skipif(not chromium_available(), reason=f"no Chromium at {CHROMIUM}")


def is_local(url: str) -> bool:
    """Whether a request stays on this machine (loopback HTTP, ``data:``, ``blob:``, ``about:``)."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in {
        h.strip("[]") for h in LOCAL_HOSTS
    }


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / (name if name.endswith(".png") else f"{name}.png")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The system Chromium, headless, through Playwright's async API."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@contextmanager
def chromium_sync() -> Iterator[SyncBrowser]:
    """The system Chromium, headless, through Playwright's sync API (not inside a running event loop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


async def block_remote(page: Page) -> list[str]:
    """Abort every non-local request the page makes; the returned list fills with the blocked URLs."""
    blocked: list[str] = []

    async def handle(route: Route) -> None:
        url = route.request.url
        if is_local(url):
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort()

    await page.route("**/*", handle)
    return blocked


def block_remote_sync(page: SyncPage) -> list[str]:
    """:func:`block_remote` for the sync API."""
    blocked: list[str] = []

    def handle(route: SyncRoute) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)
    return blocked
