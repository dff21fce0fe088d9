"""The studio page in a real browser (headless Chromium through Playwright) against the HTTP server: the gallery
lists the signed-in user's images and only theirs, a click shows one in the viewer; screenshots go to
``test-artifacts/screenshots/studio-browser-*.png``."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.support.browser import block_remote_sync, chromium_sync, requires_chromium, screenshot_path
from tests.web.conftest import HTTP_TIMEOUT, Running, Tokens, bearer

pytestmark = requires_chromium

#: A safety net against a hang, never a measurement.
UI_TIMEOUT_MS = 20_000
PROMPTS = ["a red fox at dawn", "a blue owl at dusk", "a green frog at noon"]


def generate(running: Running, token: str, prompt: str) -> dict[str, Any]:
    """One image through ``/studio/api`` (the page's own way in); its structured result."""
    body = {"method": "tools/call", "params": {"name": "generate_image", "arguments": {"prompt": prompt}}}
    with httpx2.Client(timeout=HTTP_TIMEOUT) as http:
        r = http.post(f"{running.base}/studio/api", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    out = dict(r.json()["result"]["structuredContent"])
    assert out["success"] is True, out
    return out


@pytest.fixture
def made(server: Running, tokens: Tokens) -> dict[str, str]:
    """alice's three images (image_id -> prompt), and one of bob's she must not see."""
    mine = {generate(server, tokens.alice, p)["image_id"]: p for p in PROMPTS}
    generate(server, tokens.bob, "bob's secret cat")
    return mine


def test_the_gallery_lists_your_images_and_the_viewer_shows_one(
    server: Running, tokens: Tokens, made: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    with chromium_sync() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked = block_remote_sync(page)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

        page.goto(f"{server.base}/studio/#token={tokens.alice}")
        cards = page.locator("#g-grid .card")
        expect(cards).to_have_count(len(made), timeout=UI_TIMEOUT_MS)
        shown = {cards.nth(i).get_attribute("data-image-id") for i in range(cards.count())}
        assert shown == set(made)  # alice's three, not bob's
        page.wait_for_function(
            "() => [...document.querySelectorAll('#g-grid .card img')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=UI_TIMEOUT_MS,
        )
        assert "token" not in page.url  # the page took the token out of the address bar
        page.screenshot(path=str(screenshot_path("studio-browser-gallery")))

        chosen = next(iter(made))
        page.locator(f'#g-grid .card[data-image-id="{chosen}"]').click()
        expect(page.locator("#g-preview")).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.locator("#g-open").click()
        expect(page.locator("#viewer")).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.locator("#v-prompt")).to_have_text(made[chosen], timeout=UI_TIMEOUT_MS)
        page.wait_for_function(
            "() => { const i = document.getElementById('v-img'); return i.complete && i.naturalWidth > 0 }",
            timeout=UI_TIMEOUT_MS,
        )
        width = page.evaluate("() => document.getElementById('v-img').naturalWidth")
        assert width == 1024
        page.screenshot(path=str(screenshot_path("studio-browser-viewer")))

    assert blocked == []  # nothing left this machine
    assert problems == []  # no script error, no CSP violation


def test_without_a_token_the_page_asks_for_one(server: Running, tokens: Tokens, made: dict[str, str]) -> None:
    from playwright.sync_api import expect

    with chromium_sync() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        block_remote_sync(page)
        page.goto(f"{server.base}/studio/")
        expect(page.locator("#signin")).to_be_visible(timeout=UI_TIMEOUT_MS)
        assert page.locator("#g-grid .card").count() == 0
        page.screenshot(path=str(screenshot_path("studio-browser-signin")))
        page.locator("#signin-token").fill(tokens.alice)
        page.locator("#signin button[type=submit]").click()
        expect(page.locator("#g-grid .card")).to_have_count(len(made), timeout=UI_TIMEOUT_MS)
        expect(page.locator("#signin")).to_be_hidden()
