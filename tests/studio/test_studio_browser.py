"""The studio in a real browser (Debian's headless Chromium through Playwright), inside the test host page that
plays the host side of MCP Apps over postMessage against the real server and the fake OpenAI.

Screenshots go to ``test-artifacts/screenshots/`` (``studio-viewer.png``, ``studio-gallery.png``,
``studio-gallery-preview.png``, ``studio-painter.png``; the README's copies in ``docs/screenshots/`` are
JPEGs of the viewer, gallery and painter ones)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from mcp import Client
from PIL import Image
from playwright.async_api import Browser, FrameLocator, Page

from tests.support.browser import block_remote, requires_chromium, screenshot_path
from tests.support.fake_openai import FakeOpenAI
from tests.support.studio_host import Host

pytestmark = [requires_chromium, pytest.mark.timeout(120)]


async def open_host(browser: Browser, host: Host, *, offline: bool = False) -> tuple[Page, FrameLocator, list[str]]:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    blocked = await block_remote(page) if offline else []
    await page.goto(host.url)
    await page.wait_for_function("window.host && window.host.initialized")
    setattr(page, "_studio_errors", errors)  # noqa: B010 - read back by page_errors()
    return page, page.frame_locator("#app"), blocked


def page_errors(page: Page) -> list[str]:
    return list(getattr(page, "_studio_errors", []))


async def run_tool(page: Page, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await page.evaluate("([n, a]) => host.runTool(n, a)", [name, args])
    assert not result.get("isError"), result
    return dict(result["structuredContent"])


async def natural_width(frame: FrameLocator, selector: str) -> int:
    node = frame.locator(selector)
    await node.wait_for()
    await node.evaluate("(img) => img.decode ? img.decode() : null")
    return int(await node.evaluate("(img) => img.naturalWidth"))


async def test_the_viewer_shows_the_image_and_its_thread(browser: Browser, host: Host, fake: FakeOpenAI) -> None:
    page, frame, _ = await open_host(browser, host)
    session = await run_tool(
        page, "create_image_session", {"description": "a fox in four seasons", "session_name": "Fox"}
    )
    sid = session["session"]["session_id"]
    first = await run_tool(
        page, "generate_image_in_session", {"session_id": sid, "prompt": "a red fox in a spring meadow"}
    )
    last = await run_tool(page, "generate_image_in_session", {"session_id": sid, "prompt": "the same fox in snow"})

    assert await natural_width(frame, f'#v-img[data-image-id="{last["image_id"]}"][src]') == 1024
    await frame.locator("#thread li").nth(1).wait_for()
    assert await frame.locator("#thread li").count() == 2
    assert await frame.locator("#thread li.current").get_attribute("data-turn") == "2"
    await frame.locator("#v-prompt", has_text="the same fox in snow").wait_for()
    assert "Revised" in await frame.locator("#v-revised").inner_text()
    await frame.locator("#v-params dt", has_text="Cost").wait_for()
    await page.screenshot(path=screenshot_path("studio-viewer"))

    # the thread's first turn brings its image back
    await frame.locator(f'#thread button[data-image-id="{first["image_id"]}"]').click()
    assert await natural_width(frame, f'#v-img[data-image-id="{first["image_id"]}"][src]') == 1024
    await frame.locator("#v-prompt", has_text="spring meadow").wait_for()

    # the next step goes to the model through the host
    await frame.locator("#v-note").fill("warmer light")
    await frame.locator("#v-refine").click()
    await frame.locator("#status", has_text="Sent to the conversation").wait_for()
    (message,) = await page.evaluate("host.sent('ui/message')")
    text = message["params"]["content"][0]["text"]
    assert message["params"]["role"] == "user" and sid in text and "warmer light" in text
    context = await page.evaluate("host.sent('ui/update-model-context')")
    assert first["image_id"] in context[-1]["params"]["content"][0]["text"]
    assert page_errors(page) == []


async def test_the_gallery_pages_and_searches(
    browser: Browser, host: Host, app_client: Client, fake: FakeOpenAI
) -> None:
    for n in range(14):
        animal = "owl" if n % 5 == 0 else "fox"
        made = await app_client.call_tool(
            "generate_image", {"prompt": f"{animal} portrait number {n}", "quality": "low"}
        )
        assert not made.is_error
    page, frame, _ = await open_host(browser, host)
    listed = await run_tool(page, "list_images", {"limit": 12})
    assert listed["total"] == 14
    await frame.locator("#gallery:not([hidden])").wait_for()
    await frame.locator("#g-page", has_text="1–12 of 14").wait_for()
    assert await frame.locator("#g-grid .card").count() == 12
    await frame.locator("#g-grid .card img[src]").nth(11).wait_for()
    await page.screenshot(path=screenshot_path("studio-gallery"))

    await frame.locator("#g-next").click()
    await frame.locator("#g-page", has_text="13–14 of 14").wait_for()
    assert await frame.locator("#g-grid .card").count() == 2
    assert await frame.locator("#g-next").is_disabled()
    await frame.locator("#g-prev").click()
    await frame.locator("#g-page", has_text="1–12 of 14").wait_for()

    await frame.locator("#g-text").fill("owl")
    await frame.locator("#g-search").click()
    await frame.locator("#g-page", has_text="1–3 of 3").wait_for()
    captions = await frame.locator("#g-grid .card .cap").all_inner_texts()
    assert len(captions) == 3 and all("owl" in c for c in captions)
    await frame.locator("#g-grid .card img[src]").nth(2).wait_for()

    await frame.locator("#g-grid .card").first.click()
    assert await natural_width(frame, "#g-preview-img[src]") == 1024
    await page.screenshot(path=screenshot_path("studio-gallery-preview"))
    await frame.locator("#g-open").click()
    await frame.locator("#v-prompt", has_text="owl portrait").wait_for()
    assert page_errors(page) == []


def alpha_at(data: bytes, points: list[tuple[int, int]]) -> list[int]:
    with Image.open(io.BytesIO(data)) as img:
        alpha = img.convert("RGBA").getchannel("A")
        return [int(alpha.getpixel(p)) for p in points]  # type: ignore[arg-type]


async def drag(page: Page, frame: FrameLocator, points: list[tuple[float, float]]) -> None:
    """A mouse stroke through ``points`` given as fractions of the painter's canvas."""
    box = await frame.locator("#p-canvas").bounding_box()
    assert box is not None
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    await page.mouse.move(*at[0])
    await page.mouse.down()
    for x, y in at[1:]:
        await page.mouse.move(x, y, steps=8)
    await page.mouse.up()


async def test_painting_a_mask_and_submitting_it_edits_the_image(
    browser: Browser, host: Host, fake: FakeOpenAI
) -> None:
    page, frame, _ = await open_host(browser, host)
    made = await run_tool(page, "generate_image", {"prompt": "a quiet living room", "size": "1024x1024"})
    assert await natural_width(frame, "#v-img[src]") == 1024
    await frame.locator("#v-paint").click()
    assert await natural_width(frame, "#p-img[src]") == 1024

    # a brush stroke across the upper left, a rectangle lower right, and part of the rectangle erased
    await drag(page, frame, [(0.1, 0.2), (0.25, 0.2), (0.4, 0.2)])
    await frame.locator("#p-rect").click()
    await drag(page, frame, [(0.6, 0.6), (0.9, 0.9)])
    await frame.locator("#p-erase").click()
    await drag(page, frame, [(0.6, 0.6), (0.7, 0.7)])
    await frame.locator("#p-cover", has_text="% to change").wait_for()
    await frame.locator("#p-prompt").fill("a tall plant where it is painted")
    fake.reset()
    await frame.locator("#p-submit").click()
    assert await natural_width(frame, "#p-after[src]") == 1024
    assert await natural_width(frame, "#p-before[src]") == 1024
    await page.screenshot(path=screenshot_path("studio-painter"))

    mask = await frame.locator("body").evaluate("() => window.oimStudio.state.lastMask")
    assert (mask["width"], mask["height"]) == (1024, 1024) and mask["bytes"] < 64 * 1024
    (req,) = fake.requests_to("/images/edits")
    (sent,) = req.files["mask"]
    with Image.open(io.BytesIO(sent.data)) as sent_img:
        assert sent_img.size == (1024, 1024)
    stroke, rect_kept, rect_erased, untouched = (102, 205), (870, 870), (640, 640), (700, 150)
    assert alpha_at(sent.data, [stroke, (410, 205), rect_kept, rect_erased, untouched]) == [0, 0, 0, 255, 255]
    (image_part, *_) = req.files.get("image[]") or req.files["image"]
    with Image.open(io.BytesIO(image_part.data)) as original:
        assert original.size == (1024, 1024)
    edit = await frame.locator("body").evaluate("() => window.oimStudio.state.lastEdit")
    assert edit["use_case"] == "edit" and edit["image_id"] != made["image_id"]
    assert await frame.locator("#p-after").get_attribute("data-image-id") == edit["image_id"]
    assert page_errors(page) == []


async def test_the_studio_degrades_when_the_host_declines(browser: Browser, host: Host, fake: FakeOpenAI) -> None:
    page, frame, _ = await open_host(browser, host)
    await page.evaluate("host.declined.add('tools/call'); host.declined.add('resources/read')")
    await run_tool(page, "generate_image", {"prompt": "a fox"})  # the host's own call still runs
    await frame.locator("#status", has_text="The host declined").wait_for()
    assert await frame.locator("#v-body").is_visible()  # the details and buttons are there, without pixels
    await frame.locator("#tab-gallery").click()
    await frame.locator("#status", has_text="The host declined").wait_for()

    await page.evaluate("host.declined.clear(); host.declined.add('ui/message')")
    await frame.locator("#v-refine").count()
    await frame.locator("#tab-viewer").click()
    await frame.locator("#v-refine").click()
    await frame.locator("#status", has_text="The host declined").wait_for()
    await frame.locator("#tab-gallery").click()  # the gallery comes back once the host relays again
    await frame.locator("#g-grid .card img[src]").first.wait_for()
    assert page_errors(page) == []


async def test_the_studio_needs_nothing_but_the_host(browser: Browser, host: Host, fake: FakeOpenAI) -> None:
    """Every request other than loopback, data: and about: is aborted; the studio works all the same."""
    page, frame, blocked = await open_host(browser, host, offline=True)
    resource = await page.evaluate("host.resource")
    assert resource["mimeType"] == "text/html;profile=mcp-app" and resource["size"] < 150 * 1024
    await run_tool(page, "generate_image", {"prompt": "a lighthouse"})
    assert await natural_width(frame, "#v-img[src]") == 1024
    await frame.locator("#tab-gallery").click()
    await frame.locator("#g-grid .card img[src]").first.wait_for()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await frame.locator("#v-paint").count()
    assert blocked == [] and all(u.startswith(("http://127.0.0.1", "data:", "about:")) for u in requests)
    assert page_errors(page) == []


async def test_a_batch_shows_as_a_strip_and_sessions_open_from_the_gallery(
    browser: Browser, host: Host, app_client: Client, fake: FakeOpenAI
) -> None:
    made = await app_client.call_tool("create_image_session", {"description": "herons", "session_name": "Herons"})
    sid = made.structured_content["session"]["session_id"]  # type: ignore[index]
    await app_client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a grey heron"})
    page, frame, _ = await open_host(browser, host)
    batch = await run_tool(page, "generate_product_image", {"product_description": "a ceramic mug", "batch_count": 3})
    ids = [i["image_id"] for i in batch["images"]]
    await frame.locator("#thread .thumb").nth(2).wait_for()
    assert await frame.locator("#thread .thumb").evaluate_all("(bs) => bs.map((b) => b.dataset.imageId)") == ids
    await frame.locator(f'#thread button[data-image-id="{ids[1]}"]').click()
    assert await natural_width(frame, f'#v-img[data-image-id="{ids[1]}"][src]') > 0

    await frame.locator("#tab-gallery").click()
    await frame.locator("#g-grid .card").nth(3).wait_for()
    await frame.locator("#g-session").select_option(sid)
    await frame.locator("#g-page", has_text="1–1 of 1").wait_for()
    await frame.locator("#g-thread").click()
    await frame.locator("#t-title", has_text="Herons").wait_for()
    await frame.locator("#v-prompt", has_text="a grey heron").wait_for()
    assert page_errors(page) == []


async def test_the_mask_of_a_large_image_is_downscaled(browser: Browser, host: Host, fake: FakeOpenAI) -> None:
    page, frame, _ = await open_host(browser, host)
    made = await run_tool(page, "generate_image", {"prompt": "a wide valley", "size": "1536x1024"})
    big = {**made["images"][0], "width": 4096, "height": 2048}  # as a 4K image would be painted
    await frame.locator("body").evaluate("(_, img) => window.oimStudio.openPainter(img)", big)
    await drag(page, frame, [(0.1, 0.5), (0.3, 0.5)])
    mask = await frame.locator("body").evaluate(
        "() => { window.oimStudio.buildMask(); return window.oimStudio.state.lastMask; }"
    )
    assert (mask["width"], mask["height"]) == (2048, 1024) and mask["bytes"] < 64 * 1024


async def test_a_running_job_is_followed_and_a_cancel_is_shown(browser: Browser, host: Host, fake: FakeOpenAI) -> None:
    page, frame, _ = await open_host(browser, host)
    running = await run_tool(page, "generate_image", {"prompt": "a slow sunrise", "wait_seconds": 0})
    assert running["status"] == "running"
    await frame.locator("#v-prompt", has_text="a slow sunrise").wait_for()  # the view waited for the job
    assert await natural_width(frame, "#v-img[src]") == 1024
    assert any(params.get("name") == "get_generation_result" for _, params in host.calls)
    await page.evaluate("host.notify('ui/notifications/tool-cancelled', {reason: 'the user stopped it'})")
    await frame.locator("#status", has_text="Cancelled: the user stopped it").wait_for()
    assert page_errors(page) == []
