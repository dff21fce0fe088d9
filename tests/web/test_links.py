"""Signed download and upload links over real HTTP: the link is the credential (no token), until it expires
(a ManualClock moves time); tampered links, reused upload links, non-images and oversized uploads are refused."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable

import httpx2
import pytest

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.settings import Settings
from tests.web.conftest import Running, Tokens, connect, failed, ok, png_bytes, unknown_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def linked(serve: Callable[..., Running], web_settings: Settings, tokens: Tokens, clock: ManualClock) -> Running:
    return serve(web_settings, clock=clock)


async def _get(url: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.get(url)


async def _put(url: str, body: bytes | AsyncIterator[bytes], content_type: str = "image/png") -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.put(url, content=body, headers={"content-type": content_type})


def _tampered(link_url: str, part: int) -> str:
    """The url with one character of the link's payload (part 0) or signature (part 1) changed."""
    base, token = link_url.rsplit("/", 1)
    pieces = token.split(".")
    piece = pieces[part]
    middle = len(piece) // 2
    pieces[part] = piece[:middle] + ("A" if piece[middle] != "A" else "B") + piece[middle + 1 :]
    return f"{base}/{'.'.join(pieces)}"


def _refused(r: httpx2.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["error_type"] == "invalid_link"


async def test_a_download_link_serves_the_exact_image_without_a_token(
    linked: Running, tokens: Tokens, web_settings: Settings
) -> None:
    async with connect(linked.url, tokens.alice, max_sse_event_size=None) as alice:
        made = await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        link = await ok(alice, "create_download_link", {"image_id": made["image_id"]})
        resource = await alice.read_resource(f"openai-image://image/{made['image_id']}.png")
    assert link["url"].startswith(f"{linked.base}/download/")
    assert link["image_id"] == made["image_id"] and link["expires_at"]
    r = await _get(link["url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert made["image_id"] in r.headers["content-disposition"]
    assert r.content == base64.b64decode(resource.contents[0].blob)  # type: ignore[union-attr]
    (file,) = web_settings.images_root.rglob("*.png")
    assert r.content == file.read_bytes()


async def test_a_download_link_expires(linked: Running, tokens: Tokens, clock: ManualClock) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        made = await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        link = await ok(alice, "create_download_link", {"image_id": made["image_id"], "expires_in": 60})
    assert (await _get(link["url"])).status_code == 200
    clock.advance(59)
    assert (await _get(link["url"])).status_code == 200
    clock.advance(2)
    _refused(await _get(link["url"]))


async def test_a_tampered_download_link_is_refused(linked: Running, tokens: Tokens) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        made = await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        url = (await ok(alice, "create_download_link", {"image_id": made["image_id"]}))["url"]
    for bad in (_tampered(url, 0), _tampered(url, 1), url[:-3], url.rsplit(".", 1)[0], url + "x"):
        _refused(await _get(bad))
    # a payload naming another image, signed with nobody's key
    base, token = url.rsplit("/", 1)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    payload["i"] = unknown_id()
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    _refused(await _get(f"{base}/{forged}.{token.split('.')[1]}"))
    assert (await _get(url)).status_code == 200


async def test_another_principal_cannot_link_your_image(linked: Running, tokens: Tokens) -> None:
    async with connect(linked.url, tokens.alice) as alice, connect(linked.url, tokens.bob) as bob:
        made = await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        theirs = await failed(bob, "create_download_link", {"image_id": made["image_id"]})
        never = unknown_id()
        nobodys = await failed(bob, "create_download_link", {"image_id": never})
    assert theirs["error_type"] == nobodys["error_type"] == "image_not_found"
    assert theirs["error"].replace(made["image_id"], "<id>") == nobodys["error"].replace(never, "<id>")


async def test_an_uploaded_image_becomes_the_link_owners_and_only_theirs(
    linked: Running, tokens: Tokens, mode: str
) -> None:
    data = png_bytes(64)
    async with connect(linked.url, tokens.alice, mode) as alice, connect(linked.url, tokens.bob, mode) as bob:
        link = await ok(alice, "create_upload_link")
        assert link["url"].startswith(f"{linked.base}/upload/")
        r = await _put(link["url"], data)
        assert r.status_code == 201, r.text
        uploaded = r.json()
        assert uploaded["image_id"] == link["image_id"]
        assert uploaded["resource_uri"] == f"openai-image://image/{link['image_id']}.png"
        assert (uploaded["width"], uploaded["height"], uploaded["mime_type"]) == (64, 64, "image/png")
        image_id = uploaded["image_id"]

        listed = await ok(alice, "list_images")
        assert [i["image_id"] for i in listed["images"]] == [image_id]
        assert (await ok(alice, "view_image", {"image_ids": [image_id]}))["images"][0]["image_id"] == image_id
        edited = await ok(alice, "edit_image", {"image_path": image_id, "prompt": "make it blue", "quality": "low"})
        assert edited["image_id"] != image_id
        download = await ok(alice, "create_download_link", {"image_id": image_id})
        assert (await _get(download["url"])).content == data

        assert (await ok(bob, "list_images"))["total"] == 0
        assert (await failed(bob, "view_image", {"image_ids": [image_id]}))["error_type"] == "image_not_found"
        his = await failed(bob, "edit_image", {"image_path": image_id, "prompt": "mine"})
        assert his["error_type"] == "file_not_found"


async def test_an_upload_link_takes_one_image(linked: Running, tokens: Tokens) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        link = await ok(alice, "create_upload_link")
        assert (await _put(link["url"], png_bytes(64))).status_code == 201
        _refused(await _put(link["url"], png_bytes(32)))
        images = (await ok(alice, "list_images"))["images"]
    assert [(i["image_id"], i["width"]) for i in images] == [(link["image_id"], 64)]


async def test_a_non_image_upload_is_415_and_leaves_the_link_usable(linked: Running, tokens: Tokens) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        link = await ok(alice, "create_upload_link")
        for junk in (b"not an image at all" * 100, b"\x89PNG\r\n\x1a\n" + b"\0" * 2000):
            r = await _put(link["url"], junk)
            assert r.status_code == 415, r.text
            assert r.json()["error_type"] == "not_an_image"
        assert (await ok(alice, "list_images"))["total"] == 0
        assert (await _put(link["url"], png_bytes(64))).status_code == 201


async def test_an_oversized_upload_is_413(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens
) -> None:
    server = serve(web_settings.model_copy(update={"max_input_bytes": 2048}))
    big = png_bytes(64, noise=True)
    assert len(big) > 2048

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: refused while streaming
        for start in range(0, len(big), 1024):
            yield big[start : start + 1024]

    async with connect(server.url, tokens.alice) as alice:
        link = await ok(alice, "create_upload_link")
        for body in (big, chunked()):
            r = await _put(link["url"], body)
            assert r.status_code == 413, r.text
            assert r.json()["error_type"] == "image_too_large"
        assert (await ok(alice, "list_images"))["total"] == 0
        assert (await _put(link["url"], png_bytes(16))).status_code == 201  # within the limit


async def test_an_upload_link_expires(linked: Running, tokens: Tokens, clock: ManualClock) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        link = await ok(alice, "create_upload_link", {"expires_in": 60})
        clock.advance(61)
        _refused(await _put(link["url"], png_bytes(64)))
        assert (await ok(alice, "list_images"))["total"] == 0


async def test_a_link_works_only_for_its_own_kind(linked: Running, tokens: Tokens) -> None:
    async with connect(linked.url, tokens.alice) as alice:
        made = await ok(alice, "generate_image", {"prompt": "a fox", "quality": "low"})
        download = (await ok(alice, "create_download_link", {"image_id": made["image_id"]}))["url"]
        upload = (await ok(alice, "create_upload_link"))["url"]
    _refused(await _put(download.replace("/download/", "/upload/"), png_bytes(64)))
    _refused(await _get(upload.replace("/upload/", "/download/")))
