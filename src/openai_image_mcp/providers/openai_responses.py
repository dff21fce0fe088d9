"""Reading OpenAI's final stream events into our own :class:`ProviderResult` (CPU work: base64 decoding;
called from a worker thread)."""

from __future__ import annotations

import base64
from typing import Any

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.core.requests import ProviderImage, ProviderResult
from openai_image_mcp.providers.openai_errors import failed_call_error, response_error


def parse_response(response: dict[str, Any], options: ImageOptions, request_id: str | None) -> ProviderResult:
    """Images, text and usage from a final Responses API ``response`` object."""
    if response.get("status") == "failed" and response.get("error"):
        raise response_error(response["error"], request_id)
    images: list[ProviderImage] = []
    texts: list[str] = []
    failure: errors.ProviderError | None = None
    for item in response.get("output") or []:
        if item.get("type") == "image_generation_call":
            if item.get("status") == "failed" or item.get("error"):
                failure = failed_call_error(item.get("error"), request_id)
            elif item.get("result"):
                images.append(
                    ProviderImage(
                        data=base64.b64decode(item["result"]),
                        output_format=item.get("output_format") or options.output_format,
                        revised_prompt=item.get("revised_prompt"),
                        size=item.get("size"),
                        quality=item.get("quality"),
                        background=item.get("background"),
                        call_id=item.get("id"),
                    )
                )
        elif item.get("type") == "message":
            texts.extend(p.get("text", "") for p in item.get("content") or [] if p.get("type") == "output_text")
    model_text = "\n".join(t for t in texts if t).strip()
    usage: dict[str, Any] = {"mainline": response.get("usage") or {}}
    image_gen = (response.get("tool_usage") or {}).get("image_gen")
    if image_gen:
        usage["image_generation"] = image_gen
    if not images:
        error = failure or errors.NoImageReturned(
            "OpenAI answered without an image" + (f": {model_text}" if model_text else "."),
            model_text=model_text,
            request_id=request_id,
        )
        error.usage = usage  # billed all the same
        raise error
    return ProviderResult(
        images=tuple(images), response_id=response.get("id"), model_text=model_text, usage=usage, request_id=request_id
    )


def parse_image_events(finals: list[dict[str, Any]], options: ImageOptions, request_id: str | None) -> ProviderResult:
    """Images and usage from the Images API's ``*.completed`` stream events."""
    images = tuple(
        ProviderImage(
            data=base64.b64decode(event["b64_json"]),
            output_format=event.get("output_format") or options.output_format,
            size=event.get("size"),
            quality=event.get("quality"),
            background=event.get("background"),
        )
        for event in finals
        if event.get("b64_json")
    )
    if not images:
        raise errors.NoImageReturned("OpenAI's Images API returned no image.", request_id=request_id)
    return ProviderResult(
        images=images, usage={"image_generation": finals[-1].get("usage") or {}}, request_id=request_id
    )
