"""Image providers: the port (:mod:`.base`) and the OpenAI adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openai_image_mcp.core import errors

if TYPE_CHECKING:
    from openai_image_mcp.core.settings import Settings
    from openai_image_mcp.providers.base import ImageProvider


def openai_provider(settings: Settings) -> ImageProvider:
    """The production provider. Imports the OpenAI SDK on first use, not at server start."""
    if not settings.api_key:
        raise errors.NotConfigured("OPENAI_API_KEY is not set, so the server cannot call OpenAI.")
    from openai_image_mcp.providers.openai_adapter import OpenAIProvider

    return OpenAIProvider(
        api_key=settings.api_key,
        base_url=settings.openai_base_url,
        organization=settings.openai_org_id,
        project=settings.openai_project_id,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
    )
