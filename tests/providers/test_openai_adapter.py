"""The OpenAI adapter on its own, against the loopback fake: our values in, our values out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.core.requests import EditRequest, ImagesRequest, InputFile, ProviderEvent, TurnRequest
from openai_image_mcp.providers.openai_adapter import OpenAIProvider
from tests.support.fake_openai import FakeOpenAI, make_photo_like


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    p = OpenAIProvider(
        api_key="sk-test-adapter", base_url=fake.base_url, organization=None, project=None, timeout=10, max_retries=0
    )
    yield p
    await p.aclose()


def turn(text: str = "a fox", **kw: object) -> TurnRequest:
    return TurnRequest(
        mainline_model="gpt-x", image_model="gpt-image-2", instructions="draw", text=text,
        options=ImageOptions(size="1024x1024"), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_turn_streams_partials_and_returns_our_values(provider: OpenAIProvider, fake: FakeOpenAI) -> None:
    events: list[ProviderEvent] = []

    async def sink(event: ProviderEvent) -> None:
        events.append(event)

    result = await provider.respond(turn(partial_images=2), sink)
    (image,) = result.images
    assert image.data.startswith(b"\x89PNG") and image.revised_prompt == "Revised: a fox"
    assert result.response_id and result.response_id.startswith("resp_")
    assert result.request_id and result.request_id.startswith("req_")
    assert result.usage["image_generation"]["output_tokens"] > 0
    assert [e.kind for e in events if e.kind == "partial"] == ["partial", "partial"]
    assert fake.requests_to("/responses")[0].headers["authorization"] == "Bearer sk-test-adapter"


async def test_images_api_and_edit(provider: OpenAIProvider, fake: FakeOpenAI) -> None:
    generated = await provider.generate(ImagesRequest("gpt-image-2", "a logo", ImageOptions(background="transparent")))
    assert generated.images[0].background == "transparent"
    png = make_photo_like(256, 256)
    edited = await provider.edit(
        EditRequest("gpt-image-2", "add a hat", (InputFile(png, "a.png", "image/png"),), ImageOptions())
    )
    assert edited.images[0].data.startswith(b"\x89PNG")
    assert "image" in (fake.requests_to("/images/edits")[0].files or {})


async def test_files_are_uploaded_and_deleted(provider: OpenAIProvider, fake: FakeOpenAI) -> None:
    file_id = await provider.upload_file(make_photo_like(64, 64), "ref.png", "image/png")
    assert file_id in fake.files
    await provider.delete_file(file_id)
    await provider.delete_file(file_id)  # already gone: not an error
    assert fake.files == {}
