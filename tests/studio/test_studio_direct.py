"""The studio as a top-level page (direct mode): its api beside the page, the bearer token from ``#token=`` or the
sign-in box, the gallery as the landing view, and no model to ask. (The real ``openai-image-mcp studio`` server
and ``/studio`` are tested in ``tests/web/``; here a stand-in serves the same page and api.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from playwright.async_api import Browser

from tests.support.browser import block_remote, requires_chromium
from tests.support.fake_openai import FakeOpenAI
from tests.support.studio_host import Host, serve_host

pytestmark = [requires_chromium, pytest.mark.timeout(90)]
TOKEN = "t0ken-for-the-studio"


@pytest.fixture
async def direct(app_client: Client) -> AsyncIterator[Host]:
    async with serve_host(app_client, token=TOKEN) as served:
        yield served


async def test_direct_mode_reads_the_token_and_lands_on_the_gallery(
    browser: Browser, direct: Host, app_client: Client, fake: FakeOpenAI
) -> None:
    await app_client.call_tool("generate_image", {"prompt": "a heron"})
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    blocked = await block_remote(page)
    await page.goto(direct.url.replace("/host.html", f"/studio/#token={TOKEN}"))
    assert await page.evaluate("window.oimStudio.ready") == "direct"
    assert await page.evaluate("location.hash") == ""
    assert await page.evaluate("sessionStorage.getItem('oim-studio-token')") == TOKEN
    await page.locator("#g-grid .card img[src]").first.wait_for()
    await page.locator("#g-grid .card").first.click()
    await page.locator("#g-open").click()
    await page.locator("#v-prompt", has_text="a heron").wait_for()
    assert await page.locator("#v-refine").is_hidden() and await page.locator("#v-copy").is_visible()
    assert blocked == [] and errors == []


async def test_direct_mode_asks_for_a_token_when_the_api_wants_one(
    browser: Browser, direct: Host, app_client: Client, fake: FakeOpenAI
) -> None:
    await app_client.call_tool("generate_image", {"prompt": "a crane"})
    page = await browser.new_page()
    await page.goto(direct.url.replace("/host.html", "/studio/"))
    await page.locator("#signin").wait_for()
    await page.locator("#signin-token").fill(TOKEN)
    await page.locator("#signin button").click()
    await page.locator("#g-grid .card img[src]").first.wait_for()
    assert await page.locator("#signin").is_hidden()
