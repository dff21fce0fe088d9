"""Checks on generation options that OpenAI would refuse, made before any call (no API cost)."""

from __future__ import annotations

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import BASE_SIZES, ImageOptions


def is_images_api_model(model: str) -> bool:
    """Image model names (``gpt-image-*``, ``chatgpt-image-*``) take the Images API path."""
    return "image" in model.lower()


def check_options(image_model: str, options: ImageOptions) -> None:
    """Reject combinations OpenAI would refuse, before any call is made."""
    if options.background == "transparent" and options.output_format == "jpeg":
        raise errors.InvalidInput("background='transparent' needs output_format 'png' or 'webp' (JPEG has no alpha).")
    if options.size not in BASE_SIZES and image_model.startswith(("gpt-image-1", "dall-e")):
        raise errors.InvalidInput(
            f"size '{options.size}' needs gpt-image-2 or newer; {image_model} accepts "
            "auto, 1024x1024, 1536x1024 and 1024x1536."
        )
    if options.output_compression is not None and options.output_format == "png":
        raise errors.InvalidInput("output_compression applies to jpeg and webp only.")


def input_fidelity_for(image_model: str, requested: str | None) -> str | None:
    """``input_fidelity`` where the model supports it: gpt-image-1 and 1.5 take low/high, gpt-image-1-mini
    only low; gpt-image-2 and newer do not accept it, so it is left out rather than failing the call."""
    if requested is None:
        return None
    name = image_model.lower()
    if name.startswith("gpt-image-1-mini"):
        return "low"
    if name.startswith("gpt-image-1"):
        return requested
    return None
