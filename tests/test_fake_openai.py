"""The loopback fake OpenAI (tests/support/fake_openai/) against the real openai SDK, and the vendored schemas."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import openai
import pytest
from openai.types import ImagesResponse
from openai.types.responses import Response, ResponseStreamEvent
from PIL import Image
from pydantic import TypeAdapter

from tests.support import openai_schemas
from tests.support.fake_openai import Disconnect, FakeOpenAI, RecordedRequest, make_photo_like, photo_like_b64

MODEL = "gpt-6-astra"
IMAGE_MODEL = "gpt-image-2"
_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


@asynccontextmanager
async def sdk(fake: FakeOpenAI, **options: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0, **options) as client:
        yield client


def decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image_tool(**config: Any) -> list[Any]:
    return [{"type": "image_generation", **config}]


def last(fake: FakeOpenAI, suffix: str) -> RecordedRequest:
    return fake.requests_to(suffix)[-1]


# ---- Responses API ---------------------------------------------------------------------------------------------------


async def test_responses_image_generation_call_is_a_real_image(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        resp = await client.responses.create(
            model=MODEL,
            input="A lighthouse at dusk",
            tools=image_tool(size="512x768", quality="low", output_format="jpeg"),
            tool_choice={"type": "image_generation"},
        )
    Response.model_validate(resp.to_dict())  # strict: every required field present with the right type
    assert resp.id.startswith("resp_") and resp.status == "completed" and resp.model == MODEL
    call, message = resp.output
    assert call.type == "image_generation_call" and call.id.startswith("ig_")
    assert call.status == "completed" and call.action == "generate"
    assert call.revised_prompt == "Revised: A lighthouse at dusk"
    assert (call.size, call.quality, call.output_format, call.background) == ("512x768", "low", "jpeg", "opaque")
    assert call.result is not None
    img = decode(call.result)
    assert (img.format, img.size) == ("JPEG", (512, 768))
    assert message.type == "message" and resp.output_text == "Here is your image."
    assert resp.usage is not None and resp.usage.input_tokens >= len(last(fake, "/responses").body) // 4
    assert resp.tool_usage is not None
    assert resp.tool_usage.image_gen.output_tokens == round(272 * 512 * 768 / 1024**2)
    recorded = last(fake, "/responses")
    assert recorded.bearer == "sk-test" and recorded.json is not None and recorded.json["model"] == MODEL
    assert recorded.status == 200 and recorded.handled_seconds > 0
    assert fake.schema_errors == []


async def test_responses_defaults_and_transparency(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        resp = await client.responses.create(model=MODEL, input="a sticker", tools=image_tool(background="transparent"))
    call = resp.output[0]
    assert call.type == "image_generation_call" and call.result is not None
    assert (call.size, call.quality, call.output_format) == ("1024x1024", "medium", "png")
    assert call.background == "transparent"
    img = decode(call.result)
    assert img.mode == "RGBA" and img.size == (1024, 1024)
    lo, hi = img.getchannel("A").getextrema()
    assert lo == 0 and hi == 255
    assert resp.tool_usage is not None and resp.tool_usage.image_gen.output_tokens == 1056


async def test_previous_response_id_chain_and_retrieve(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        first = await client.responses.create(model=MODEL, input="a red fox", tools=image_tool(size="256x256"))
        second = await client.responses.create(
            model=MODEL, input="make it winter", previous_response_id=first.id, tools=image_tool(size="256x256")
        )
        call = second.output[0]
        assert call.type == "image_generation_call" and call.action == "edit"
        assert call.revised_prompt == "Revised: make it winter"
        assert second.previous_response_id == first.id
        fetched = await client.responses.retrieve(second.id)
        assert fetched.id == second.id and fetched.output[0].id == call.id

        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(
                model=MODEL, input="again", previous_response_id="resp_nope", tools=image_tool(size="256x256")
            )
        assert info.value.param == "previous_response_id"
        assert info.value.code == "previous_response_not_found"
        assert info.value.message.endswith("Previous response with id 'resp_nope' not found.")
        assert info.value.request_id is not None and info.value.request_id.startswith("req_")

        unstored = await client.responses.create(model=MODEL, input="x", store=False, tools=image_tool(size="256x256"))
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(model=MODEL, input="y", previous_response_id=unstored.id)
        await client.responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve(first.id)
    assert fake.schema_errors == []


async def test_responses_streaming_events(fake: FakeOpenAI) -> None:
    fake.latency = 0.3
    partial_seen: list[int] = []
    types: list[str] = []
    async with sdk(fake) as client:
        stream = await client.responses.create(
            model=MODEL,
            input="a koi pond",
            tools=image_tool(size="512x768", quality="low", partial_images=3),
            stream=True,
        )
        final: Response | None = None
        async for event in stream:
            _EVENT_ADAPTER.validate_python(event.to_dict())  # strict shape check of every event
            types.append(event.type)
            if event.type == "response.image_generation_call.partial_image":
                assert event.partial_image_index == len(partial_seen)
                partial = decode(event.partial_image_b64)
                assert partial.size == (171, 256)
                partial_seen.append(event.partial_image_index)
            elif event.type == "response.completed":
                final = event.response
    image_events = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        *["response.image_generation_call.partial_image"] * 3,
        "response.image_generation_call.completed",
        "response.output_item.done",
    ]
    text_events = ["response.output_item.added", "response.content_part.added"]
    assert types[: len(image_events)] == image_events
    assert types[len(image_events) : len(image_events) + 2] == text_events
    assert set(types[len(image_events) + 2 : -4]) == {"response.output_text.delta"}
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final is not None and final.status == "completed"
    call = final.output[0]
    assert call.type == "image_generation_call" and call.result is not None
    assert decode(call.result).size == (512, 768)
    assert final.tool_usage is not None and final.tool_usage.image_gen.output_tokens == 102 + 300
    assert partial_seen == [0, 1, 2]
    # spread over the latency: the opening events at once, the partial images at 30 %, 60 % and 90 %, the rest at
    # 100 % (when they actually arrive is measured by benchmarks.fake_latency)
    recorded = last(fake, "/responses")
    assert recorded.scheduled == pytest.approx([0.0, 0.09, 0.18, 0.27, 0.3])


async def test_responses_input_images_and_files(fake: FakeOpenAI) -> None:
    png = make_photo_like(64, 48)
    async with sdk(fake) as client:
        uploaded = await client.files.create(file=("in.png", png, "image/png"), purpose="vision")
        resp = await client.responses.create(
            model=MODEL,
            input=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "combine these"},
                        {"type": "input_image", "image_url": data_url(png), "detail": "auto"},
                        {"type": "input_image", "file_id": uploaded.id, "detail": "high"},
                    ],
                }
            ],
            tools=image_tool(size="256x256"),
        )
        call = resp.output[0]
        assert call.type == "image_generation_call" and call.action == "edit"
        assert call.revised_prompt == "Revised: combine these"
        assert resp.tool_usage is not None and resp.tool_usage.image_gen.input_tokens_details.image_tokens == 2 * 255

        # replaying the call by reference is spec-valid and also counts as an earlier image
        again = await client.responses.create(
            model=MODEL,
            input=[
                {"type": "item_reference", "id": call.id},
                {"role": "user", "content": "brighter"},
            ],
            tools=image_tool(size="256x256"),
        )
        assert again.output[0].type == "image_generation_call" and again.output[0].action == "edit"

        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(
                model=MODEL,
                input=[
                    {"role": "user", "content": [{"type": "input_image", "file_id": "file-nope", "detail": "auto"}]}
                ],
                tools=image_tool(size="256x256"),
            )
        assert info.value.param == "file_id"
        with pytest.raises(openai.BadRequestError) as info:
            bad = "data:image/png;base64," + base64.b64encode(b"not an image").decode()
            await client.responses.create(
                model=MODEL,
                input=[{"role": "user", "content": [{"type": "input_image", "image_url": bad, "detail": "auto"}]}],
                tools=image_tool(size="256x256"),
            )
        assert info.value.code == "invalid_image_format"
    assert fake.schema_errors == []


async def test_responses_keyword_triggers(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        blocked = await client.responses.create(
            model=MODEL, input="a fight scene [moderation]", tools=image_tool(size="256x256")
        )
        call = blocked.output[0]
        assert call.type == "image_generation_call"
        assert call.status == "failed" and call.result is None
        assert call.error is not None and call.error.code == "moderation_blocked"
        assert call.error.type == "image_generation_user_error"
        assert "safety_violations=[violence]" in call.error.message
        assert call.error.moderation_details is not None
        assert call.error.moderation_details.moderation_stage == "input"
        assert call.error.moderation_details.categories == ["violence"]

        words = await client.responses.create(model=MODEL, input="a secret [no-image]", tools=image_tool())
        assert [o.type for o in words.output] == ["message"]
        assert words.output_text.startswith("I can't draw that, but here is a description: ")

        both = await client.responses.create(model=MODEL, input="explain [text-too]", tools=image_tool(size="256x256"))
        assert [o.type for o in both.output] == ["image_generation_call", "message"]
        assert len(both.output_text) > 60

        # only the newest user text counts
        later = await client.responses.create(
            model=MODEL, input="now a calm lake", previous_response_id=blocked.id, tools=image_tool(size="256x256")
        )
        assert later.output[0].type == "image_generation_call" and later.output[0].status == "completed"


# ---- Images API ------------------------------------------------------------------------------------------------------


async def test_images_generate_two(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        result = await client.images.generate(
            model=IMAGE_MODEL, prompt="two kittens", n=2, size="512x512", quality="high", output_format="webp"
        )
    ImagesResponse.model_validate(result.to_dict())
    assert result.data is not None and len(result.data) == 2
    for item in result.data:
        assert item.b64_json is not None
        img = decode(item.b64_json)
        assert (img.format, img.size) == ("WEBP", (512, 512))
    assert (result.size, result.quality, result.output_format) == ("512x512", "high", "webp")
    assert result.background == "opaque"
    assert result.usage is not None and result.usage.output_tokens == 2 * 4160 // 4
    assert result.usage.output_tokens_details is not None
    assert openai_schemas.validate("ImagesResponse", result.to_dict()) == []
    assert fake.schema_errors == []


async def test_images_generate_newer_sdk_values_validate(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        result = await client.images.generate(
            model="gpt-image-2.6-sunburst", prompt="a map", size="1536x864", quality="xhigh", moderation="low"
        )
    assert result.size == "1536x864" and result.quality == "xhigh"
    assert result.data is not None and result.data[0].b64_json is not None
    assert decode(result.data[0].b64_json).size == (1536, 864)
    assert fake.schema_errors == []


async def test_images_generate_stream(fake: FakeOpenAI) -> None:
    fake.latency = 0.2
    async with sdk(fake) as client:
        stream = await client.images.generate(
            model=IMAGE_MODEL, prompt="a stream", size="512x256", stream=True, partial_images=2
        )
        events = [event async for event in stream]
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    first, second, done = events
    assert first.type == "image_generation.partial_image" and second.type == "image_generation.partial_image"
    assert (first.partial_image_index, second.partial_image_index) == (0, 1)
    assert decode(first.b64_json).size == (256, 128)
    assert done.type == "image_generation.completed" and decode(done.b64_json).size == (512, 256)
    assert done.usage.output_tokens == round(1056 / 8) + 200
    assert last(fake, "/images/generations").scheduled == pytest.approx([0.06, 0.18, 0.2])  # 30 %, 90 %, 100 %


async def test_images_moderation_blocked(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        with pytest.raises(openai.BadRequestError) as info:
            await client.images.generate(model=IMAGE_MODEL, prompt="something [moderation]")
    err = info.value
    assert err.status_code == 400 and err.code == "moderation_blocked" and err.type == "image_generation_user_error"
    assert err.param is None
    assert isinstance(err.body, dict)
    assert err.body["moderation_details"] == {"moderation_stage": "output", "categories": ["sexual"]}
    assert "safety_violations=[sexual]." in err.message


async def test_images_edit_two_images_and_mask(fake: FakeOpenAI) -> None:
    first, second = make_photo_like(96, 64), make_photo_like(64, 64, fmt="jpeg")
    mask = make_photo_like(96, 64, transparent=True)
    async with sdk(fake) as client:
        result = await client.images.edit(
            model=IMAGE_MODEL,
            prompt="put the cat on the sofa",
            image=[("sofa.png", first, "image/png"), ("cat.jpg", second, "image/jpeg")],
            mask=("mask.png", mask, "image/png"),
            size="256x256",
            n=1,
        )
    assert result.data is not None and result.data[0].b64_json is not None
    assert decode(result.data[0].b64_json).size == (256, 256)
    assert result.usage is not None and result.usage.input_tokens_details.image_tokens == 2 * 255
    recorded = last(fake, "/images/edits")
    assert recorded.form is not None and recorded.form["prompt"] == ["put the cat on the sofa"]
    assert [(p.filename, p.content_type) for p in recorded.files["image[]"]] == [
        ("sofa.png", "image/png"),
        ("cat.jpg", "image/jpeg"),
    ]
    assert recorded.files["image[]"][0].data == first and recorded.files["mask"][0].data == mask
    assert recorded.headers["content-type"].startswith("multipart/form-data")
    assert fake.schema_errors == []


async def test_images_edit_single_image_stream(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        stream = await client.images.edit(
            model=IMAGE_MODEL,
            prompt="recolor",
            image=("one.png", make_photo_like(32, 32), "image/png"),
            stream=True,
            partial_images=1,
            size="256x256",
        )
        types = [event.type async for event in stream]
    assert types == ["image_edit.partial_image", "image_edit.completed"]
    assert "image" in last(fake, "/images/edits").files
    assert fake.schema_errors == []


async def test_images_edit_rejects_bad_mask_and_bad_image(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        with pytest.raises(openai.BadRequestError) as info:
            await client.images.edit(
                model=IMAGE_MODEL,
                prompt="x",
                image=("a.png", make_photo_like(64, 64), "image/png"),
                mask=("m.png", make_photo_like(32, 32, transparent=True), "image/png"),
            )
        assert info.value.param == "mask"
        assert "Invalid mask image: mask size must match image size" in info.value.message

        with pytest.raises(openai.BadRequestError) as info:
            await client.images.edit(model=IMAGE_MODEL, prompt="x", image=("a.png", b"\x89PNG garbage", "image/png"))
        assert info.value.code == "invalid_image_format" and info.value.param == "image"
    assert fake.schema_errors == []


async def test_images_edit_json_variant(fake: FakeOpenAI) -> None:
    png = make_photo_like(40, 40)
    async with sdk(fake) as client:
        uploaded = await client.files.create(file=("ref.png", png, "image/png"), purpose="vision")
        result = await client.post(
            "/images/edits",
            body={
                "model": IMAGE_MODEL,
                "prompt": "merge",
                "images": [{"image_url": data_url(png)}, {"file_id": uploaded.id}],
                "mask": {"image_url": data_url(make_photo_like(40, 40, transparent=True))},
                "size": "256x256",
            },
            cast_to=ImagesResponse,
        )
        assert result.data is not None and decode(result.data[0].b64_json or "").size == (256, 256)
        with pytest.raises(openai.BadRequestError) as info:
            await client.post(
                "/images/edits",
                body={"model": IMAGE_MODEL, "prompt": "merge", "images": [{"file_id": "file-missing"}]},
                cast_to=ImagesResponse,
            )
        assert info.value.param == "images[0].file_id"
    assert last(fake, "/images/edits").json is not None
    assert fake.schema_errors == []


# ---- errors, files, plumbing -----------------------------------------------------------------------------------------


async def test_enqueued_rate_limit_error(fake: FakeOpenAI) -> None:
    fake.enqueue_error(
        429,
        code="rate_limit_exceeded",
        type="requests",
        message="Rate limit reached for images per min.",
        headers={"retry-after": "1", "x-ratelimit-remaining-images": "0"},
        path="/images/generations",
    )
    async with sdk(fake) as client:
        # a request to another path does not consume it
        await client.responses.create(model=MODEL, input="no tools here")
        with pytest.raises(openai.RateLimitError) as info:
            await client.images.generate(model=IMAGE_MODEL, prompt="x", size="256x256")
        err = info.value
        assert err.status_code == 429 and err.code == "rate_limit_exceeded" and err.type == "requests"
        assert err.response.headers["retry-after"] == "1"
        assert err.response.headers["x-ratelimit-remaining-images"] == "0"
        assert err.response.headers["x-request-id"].startswith("req_")
        ok = await client.images.generate(model=IMAGE_MODEL, prompt="x", size="256x256")  # used once
        assert ok.data is not None

        fake.enqueue_error(500, message="boom", type="server_error", extra={"hint": 1})
        fake.enqueue_error(503, message="later", type="server_error")
        with pytest.raises(openai.InternalServerError) as server_info:
            await client.files.list()
        assert server_info.value.status_code == 500 and isinstance(server_info.value.body, dict)
        assert server_info.value.body["hint"] == 1
        with pytest.raises(openai.InternalServerError) as server_info:
            await client.files.list()
        assert server_info.value.status_code == 503


async def test_files_upload_retrieve_delete(fake: FakeOpenAI) -> None:
    data = make_photo_like(16, 16)
    async with sdk(fake) as client:
        created = await client.files.create(file=("pic.png", data, "image/png"), purpose="vision")
        assert created.id.startswith("file-") and created.bytes == len(data) and created.filename == "pic.png"
        assert created.purpose == "vision" and created.status == "processed"
        assert fake.files[created.id] == data
        fetched = await client.files.retrieve(created.id)
        assert fetched.id == created.id
        deleted = await client.files.delete(created.id)
        assert deleted.deleted and deleted.id == created.id
        assert created.id not in fake.files
        with pytest.raises(openai.NotFoundError):
            await client.files.delete(created.id)
    recorded = fake.requests_to("/files", "POST")[-1]
    assert recorded.form == {"purpose": ["vision"]} and recorded.files["file"][0].data == data


def test_invalid_raw_requests_are_rejected_and_recorded(fake: FakeOpenAI) -> None:
    with httpx2.Client(base_url=fake.base_url, headers={"authorization": "Bearer sk-test"}) as http:
        response = http.post("/images/generations", json={"n": 20})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and "prompt" in error["message"]
        assert response.headers["x-request-id"].startswith("req_")
        assert any("'prompt' is a required property" in e for e in fake.schema_errors)
        assert any("20 is greater than the maximum of 10" in e for e in fake.schema_errors)
        fake.schema_errors.clear()

        response = http.post("/responses", json={"model": MODEL, "input": 5})
        assert response.status_code == 400 and fake.schema_errors
        fake.schema_errors.clear()

        response = http.post("/responses", content=b"{not json", headers={"content-type": "application/json"})
        assert response.status_code == 400

        missing = http.get("/nowhere")
        assert missing.status_code == 404 and missing.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"
        assert missing.headers["x-request-id"].startswith("req_")

        fake.validate = False
        try:
            lenient = http.post("/images/generations", json={"prompt": "p", "quality": "ultra", "size": "64x64"})
        finally:
            fake.validate = True
        assert lenient.status_code == 200 and fake.schema_errors == []

        unauthorized = httpx2.get(fake.base_url + "/files")
        assert unauthorized.status_code == 401 and unauthorized.json()["error"]["type"] == "invalid_request_error"
        assert unauthorized.headers["x-request-id"].startswith("req_")
    assert [r.status for r in fake.requests] == [400, 400, 400, 404, 200, 401]
    assert fake.requests[0].json == {"n": 20} and fake.requests[0].body == b'{"n":20}'


def test_sync_client_and_photo_like_helper(fake: FakeOpenAI) -> None:
    png = make_photo_like(1024, 1024)
    assert 1_500_000 <= len(png) <= 3_200_000
    assert Image.open(io.BytesIO(png)).size == (1024, 1024)
    assert base64.b64decode(photo_like_b64(1024, 1024)) == png
    with openai.OpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0) as client:
        result = client.images.generate(model=IMAGE_MODEL, prompt="sync", size="256x256")
    assert result.data is not None and result.data[0].b64_json is not None


async def test_latency_zero_answer_is_not_delayed_and_comes_from_the_cache(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        await client.responses.create(model=MODEL, input="warm", tools=image_tool(size="1024x1024"))
        results = []
        for _ in range(3):
            resp = await client.responses.create(model=MODEL, input="fast", tools=image_tool(size="1024x1024"))
            assert last(fake, "/responses").scheduled == [0.0]
            call = resp.output[0]
            assert call.type == "image_generation_call"
            results.append(call.result)
    # every render has fresh noise, so identical images mean the cache answered (the fake's own time for such an
    # answer is measured by benchmarks.fake_latency)
    assert results == [photo_like_b64(1024, 1024)] * 3


async def test_client_timeout_is_recorded_as_disconnect(fake: FakeOpenAI) -> None:
    fake.latency = 5.0  # far beyond the client's timeout
    async with sdk(fake, timeout=0.15) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.images.generate(model=IMAGE_MODEL, prompt="slow", size="256x256")
    assert await fake.wait_for_disconnects_async(1)
    assert len(fake.disconnects) == 1
    gone = fake.disconnects[0]
    assert isinstance(gone, Disconnect) and gone.path == "/v1/images/generations"
    recorded = last(fake, "/images/generations")
    assert recorded.disconnected and recorded.status is None
    # noticed while the fake was still waiting, before its answer was due (how soon: benchmarks.fake_latency)
    assert recorded.scheduled == [5.0]
    assert recorded.received_at <= gone.at < recorded.received_at + recorded.scheduled[-1]


async def test_stream_disconnect_is_recorded(fake: FakeOpenAI) -> None:
    fake.latency = 0.5
    async with sdk(fake) as client:
        stream = await client.responses.create(
            model=MODEL, input="x", tools=image_tool(size="256x256", partial_images=2), stream=True
        )
        async for event in stream:
            if event.type == "response.image_generation_call.generating":
                break
        await stream.close()
    assert await fake.wait_for_disconnects_async(1)
    assert [d.path for d in fake.disconnects] == ["/v1/responses"]
    assert last(fake, "/responses").disconnected


async def test_many_concurrent_slow_requests(fake: FakeOpenAI) -> None:
    fake.latency = 0.3
    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
    fake.hold()
    async with httpx2.AsyncClient(base_url=fake.base_url, limits=limits, timeout=5) as http:
        calls = asyncio.gather(*[http.get("/files", headers={"authorization": "Bearer sk-test"}) for _ in range(120)])
        # all 120 are received and wait at the same time: none can be answered before release()
        assert await fake.wait_for_requests_async(120)
        assert [r.status for r in fake.requests] == [None] * 120
        fake.release()
        responses = await calls
    assert all(r.status_code == 200 for r in responses)
    # each waited out the latency (the wall time of such a burst is measured by benchmarks.fake_latency)
    assert all(r.scheduled == [0.3] for r in fake.requests)


def test_stop_does_not_wait_for_a_request_in_flight() -> None:
    fake = FakeOpenAI(latency=5.0)
    fake.start()
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/v1")
    thread_name = f"FakeOpenAI:{fake.port}"
    statuses: list[int] = []

    def call() -> None:
        with httpx2.Client(timeout=5) as http:
            statuses.append(http.get(fake.base_url + "/files", headers={"authorization": "Bearer k"}).status_code)

    worker = threading.Thread(target=call)
    worker.start()
    assert fake.wait_for_requests(1)
    fake.stop()
    worker.join(10)
    assert not worker.is_alive()
    # answered "shutting down" at once instead of after its 5 s latency (how quick: benchmarks.fake_latency)
    assert statuses == [503]
    (recorded,) = fake.requests
    assert recorded.status == 503 and recorded.scheduled == [5.0]
    assert thread_name not in [t.name for t in threading.enumerate()]


# ---- the vendored schemas --------------------------------------------------------------------------------------------


def test_openai_schemas_validate() -> None:
    assert "f85dbe22" in openai_schemas.source()
    names = openai_schemas.schema_names()
    for name in (
        "CreateResponse",
        "CreateImageRequest",
        "CreateImageEditRequest",
        "EditImageBodyJsonParam",
        "ImagesResponse",
        "Error",
        "ErrorResponse",
        "ImageGenToolCall",
    ):
        assert name in names
    ok = {"model": IMAGE_MODEL, "prompt": "x", "quality": "max", "size": "2048x1152", "output_format": "gif"}
    assert openai_schemas.validate("CreateImageRequest", ok) == []
    errors = openai_schemas.validate("CreateImageRequest", {"n": 0, "quality": "ultra"})
    assert len(errors) == 3 and any(e.startswith("quality:") for e in errors)
    tool_call = {
        "type": "image_generation_call",
        "id": "ig_1",
        "status": "completed",
        "result": "abc",
        "revised_prompt": "r",
        "quality": "xhigh",
        "size": "1536x864",
    }
    assert openai_schemas.validate("ImageGenToolCall", tool_call) == []
    envelope = {
        "error": {
            "message": "m",
            "type": "t",
            "param": None,
            "code": "moderation_blocked",
            "moderation_details": {"moderation_stage": "output", "categories": ["sexual"]},
        }
    }
    assert openai_schemas.validate("ErrorResponse", envelope) == []
    with pytest.raises(KeyError):
        openai_schemas.validate("NoSuchSchema", {})
    doc = json.loads(openai_schemas.SCHEMAS_PATH.read_text())
    assert set(doc) == {"components", "x-source"}
