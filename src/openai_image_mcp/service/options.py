"""Checks on generation options that OpenAI would refuse, made before any call (no API cost)."""

from __future__ import annotations

from datetime import date

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.service.image_models import ModelCatalog


def is_images_api_model(model: str) -> bool:
    """Image model names (``gpt-image-*``, ``chatgpt-image-*``, ``dall-e-*``) take the Images API path."""
    name = model.lower()
    return "image" in name or name.startswith("dall-e")


def check_options(
    image_model: str, options: ImageOptions, catalog: ModelCatalog | None = None, *, today: date | None = None
) -> str | None:
    """Reject what OpenAI would refuse (a shut-down model, a size or quality the model does not take, a
    transparent JPEG), before any call is made; returns a warning for a model about to be shut down."""
    catalog = catalog or ModelCatalog()
    warning = catalog.check(image_model, today=today)
    if options.background == "transparent" and options.output_format == "jpeg":
        raise errors.InvalidInput("background='transparent' needs output_format 'png' or 'webp' (JPEG has no alpha).")
    model = catalog.get(image_model)
    if options.background == "transparent" and model is not None and not model.transparency:
        raise errors.InvalidInput(f"{image_model} cannot draw a transparent background; use gpt-image-2 or newer.")
    catalog.check_size(image_model, options.size)
    catalog.check_quality(image_model, options.quality)
    if options.output_compression is not None and options.output_format == "png":
        raise errors.InvalidInput("output_compression applies to jpeg and webp only.")
    return warning


def input_fidelity_for(image_model: str, requested: str | None, catalog: ModelCatalog | None = None) -> str | None:
    """``input_fidelity`` where the model takes it (:mod:`.image_models`: gpt-image-1 and 1.5 take low/high,
    gpt-image-1-mini only low); gpt-image-2 and newer do not accept it, so it is left out rather than
    failing the call."""
    if requested is None:
        return None
    model = (catalog or ModelCatalog()).get(image_model)
    allowed = model.input_fidelity if model is not None else ()
    if requested in allowed:
        return requested
    return allowed[0] if allowed else None
