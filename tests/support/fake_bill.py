"""What the loopback fake billed, worked out again from the requests it recorded.

The fake does not record its answers, so each answer's ``usage`` is computed again here from the request
alone, with the fake's own token rules (``parsing.py``: ``_image_output_tokens``, ``_image_input_tokens``,
``_text_tokens``) and the shape of its Responses and Images API answers. It is then priced with the
packaged ``prices.json`` (plus an override file, as ``OPENAI_IMAGE_MCP_PRICES_FILE`` would add),
with arithmetic written out here independently of ``service/pricing.py``: tokens times dollars per 1M.

One assumption: a Responses request chained with ``previous_response_id`` has an earlier image in its
chain (the server chains only on turns that produced an image, or on a promoted image's response).
:func:`tests.tools.test_cost.test_fake_bill_matches_the_fakes_stored_responses` checks this module
against the answers the fake stores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_openai.parsing import (
    _decode_data_url,
    _decode_image,
    _image_input_tokens,
    _image_output_tokens,
    _parse_size,
    _resolve_quality,
    _text_tokens,
)
from tests.support.fake_openai.records import RecordedRequest

PER = 1_000_000


def price_table(override: Path | None = None) -> dict[str, dict[str, float] | None]:
    """The packaged prices.json's models, with an override file's on top."""
    models: dict[str, Any] = json.loads(files("openai_image_mcp").joinpath("prices.json").read_text())["models"]
    if override is not None:
        models.update(json.loads(override.read_text())["models"])
    return models


@dataclass(frozen=True)
class Bill:
    """One billed request: its usage as the fake answered it, its models and its price (None: unpriced)."""

    path: str
    usage: dict[str, Any]
    image_model: str
    mainline_model: str | None
    usd: float | None


def price(
    usage: dict[str, Any], *, image_model: str, mainline_model: str | None, prices: dict[str, Any]
) -> float | None:
    """Dollars for a usage ``{"image_generation": ..., "mainline": ...}``; None when a model has no price."""
    total = 0.0
    image = usage.get("image_generation")
    if image:
        p = prices.get(image_model)
        if p is None:
            return None
        details = image["input_tokens_details"]
        total += details["text_tokens"] * p.get("text_input", 0.0) / PER
        total += details["image_tokens"] * p.get("image_input", 0.0) / PER
        total += image["output_tokens"] * p.get("image_output", 0.0) / PER
    main = usage.get("mainline")
    if main and mainline_model:
        p = prices.get(mainline_model)
        if p is None:
            return None
        total += main["input_tokens"] * p["text_input"] / PER + main["output_tokens"] * p["text_output"] / PER
    return total


def _image_usage(text_in: int, image_in: int, out: int) -> dict[str, Any]:
    return {
        "input_tokens": text_in + image_in,
        "input_tokens_details": {"text_tokens": text_in, "image_tokens": image_in},
        "output_tokens": out,
        "output_tokens_details": {"image_tokens": out, "text_tokens": 0},
        "total_tokens": text_in + image_in + out,
    }


def _file_size(fake: FakeOpenAI, file_id: str) -> tuple[int, int]:
    data = fake.files.get(file_id)
    if data is None:
        raise LookupError(f"{file_id} was deleted from the fake: its size (and so its tokens) is unknown")
    return _decode_image(data)


def _ref_size(fake: FakeOpenAI, part: dict[str, Any]) -> tuple[int, int] | None:
    if part.get("file_id"):
        return _file_size(fake, str(part["file_id"]))
    data = _decode_data_url(str(part.get("image_url", "")))
    return None if data is None else _decode_image(data)


def _messages(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
    items = []
    for item in raw or []:
        item = dict(item)
        if "role" in item and "type" not in item:
            item["type"] = "message"
        if item.get("type") == "message" and isinstance(item.get("content"), str):
            kind = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": item["content"]}]
        items.append(item)
    return items


def _latest_user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("type") == "message" and item.get("role") == "user":
            parts = item.get("content") or []
            return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "input_text")
    return ""


def responses_usage(fake: FakeOpenAI, record: RecordedRequest) -> dict[str, Any]:
    """The ``usage`` (mainline) and ``tool_usage.image_gen`` the fake answered a ``POST /responses`` with."""
    body = record.json or {}
    items = _messages(body.get("input"))
    text = _latest_user_text(items)
    tool = next((t for t in body.get("tools") or [] if t.get("type") == "image_generation"), None)
    make_image = tool is not None and body.get("tool_choice") != "none" and "[no-image]" not in text
    image = _image_usage(0, 0, 0)
    failed = False
    if make_image:
        assert tool is not None
        sizes = [
            _ref_size(fake, part)
            for item in items
            if item.get("type") == "message"
            for part in item.get("content") or []
            if isinstance(part, dict) and part.get("type") == "input_image"
        ]
        earlier = body.get("previous_response_id") is not None or any(
            item.get("type") in ("image_generation_call", "item_reference") for item in items
        )
        image_in = sum(_image_input_tokens(s) for s in sizes)
        if earlier and not sizes:
            image_in += _image_input_tokens((1024, 1024))
        failed = "[moderation]" in text
        if failed:
            out = 0
        else:
            width, height = _parse_size(tool.get("size"), "size")
            partials = max(0, min(3, int(tool.get("partial_images") or 0))) if body.get("stream") is True else 0
            out = _image_output_tokens(_resolve_quality(tool.get("quality")), width, height) + 100 * partials
        image = _image_usage(_text_tokens("Revised: " + text), image_in, out)
    if tool is None or body.get("tool_choice") == "none":
        reply = "I can only answer in words here: " + text
    elif "[no-image]" in text:
        reply = "I can't draw that, but here is a description: " + text
    elif failed:
        reply = "I couldn't create that image: it was blocked by the safety system."
    elif "[text-too]" in text:
        reply = (
            "Here is your image. I went for soft, even light and a shallow depth of field, kept the palette "
            "warm, and left some empty space on the left so a title can go there. Tell me what to change."
        )
    else:
        reply = "Here is your image."
    main_in = max(1, len(record.body) // 4)
    main_out = _text_tokens(reply) + (20 if make_image else 0)
    mainline = {
        "input_tokens": main_in,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": main_out,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": main_in + main_out,
    }
    return {"mainline": mainline, "image_generation": image}


def images_usage(fake: FakeOpenAI, record: RecordedRequest) -> dict[str, Any]:
    """The ``usage`` the fake answered a ``POST /images/generations`` or ``/images/edits`` with."""
    sizes: list[tuple[int, int] | None] = []
    if record.json is not None:
        params: dict[str, Any] = dict(record.json)
        sizes = [_ref_size(fake, ref) for ref in params.get("images") or []]
    else:
        params = {k: v[-1] for k, v in (record.form or {}).items()}
        parts = [*record.files.get("image", []), *record.files.get("image[]", [])]
        sizes = [_decode_image(p.data) for p in parts]
    n = int(params.get("n") or 1)
    width, height = _parse_size(params.get("size"), "size")
    stream = params.get("stream") in (True, "true", "True")
    partials = max(0, min(3, int(params.get("partial_images") or 0))) if stream else 0
    out = _image_output_tokens(_resolve_quality(params.get("quality")), width, height) * n + 100 * partials * n
    image_in = sum(_image_input_tokens(s) for s in sizes)
    return {"image_generation": _image_usage(_text_tokens(str(params["prompt"])), image_in, out)}


def bill_of(fake: FakeOpenAI, record: RecordedRequest, prices: dict[str, Any]) -> Bill:
    if record.path.endswith("/responses"):
        body = record.json or {}
        tool = next((t for t in body.get("tools") or [] if t.get("type") == "image_generation"), {})
        usage = responses_usage(fake, record)
        image_model, mainline = str(tool.get("model") or ""), str(body["model"])
    else:
        usage = images_usage(fake, record)
        params = record.json if record.json is not None else {k: v[-1] for k, v in (record.form or {}).items()}
        image_model, mainline = str(params["model"]), None
    usd = price(usage, image_model=image_model, mainline_model=mainline, prices=prices)
    return Bill(record.path, usage, image_model, mainline, usd)


BILLED_PATHS = ("/responses", "/images/generations", "/images/edits")


def billed_requests(fake: FakeOpenAI) -> list[RecordedRequest]:
    """The generation requests the fake answered with a 2xx (a refused one costs nothing), in order."""
    return [
        r
        for r in fake.requests
        if r.method == "POST"
        and r.path.endswith(BILLED_PATHS)
        and not r.disconnected
        and (r.status is None or 200 <= r.status < 300)
    ]


def bills(fake: FakeOpenAI, prices: dict[str, Any] | None = None) -> list[Bill]:
    """Every billed generation request the fake recorded, priced."""
    table = prices if prices is not None else price_table()
    return [bill_of(fake, r, table) for r in billed_requests(fake)]
