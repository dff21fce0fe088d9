"""Building OpenAI request bodies from our own request values."""

from __future__ import annotations

import base64
from typing import Any

from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.core.requests import TurnRequest


def image_params(options: ImageOptions) -> dict[str, Any]:
    """The image parameters OpenAI takes, as set (compression never with PNG, which OpenAI refuses)."""
    params = options.as_dict()
    if options.output_format == "png":
        params.pop("output_compression", None)
    return params


def image_tool(model: str, options: ImageOptions) -> dict[str, Any]:
    """The ``image_generation`` tool configuration for one turn."""
    return {"type": "image_generation", "model": model, **image_params(options)}


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def build_turn_input(request: TurnRequest) -> list[dict[str, Any]]:
    """The ``input`` of a Responses call: the new user text, after the local replay if any."""
    items: list[dict[str, Any]] = [{"role": m.role, "content": m.text} for m in request.replay]
    content: list[dict[str, Any]] = [{"type": "input_text", "text": request.text}]
    content.extend(ref.as_input_part() for ref in request.input_images)
    if request.replay_image is not None:
        data, mime = request.replay_image
        content.append({"type": "input_image", "image_url": _data_url(data, mime), "detail": "auto"})
    items.append({"role": "user", "content": content})
    return items
