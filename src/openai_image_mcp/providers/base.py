"""The provider port: what the service needs from an image backend, in our own values."""

from __future__ import annotations

from typing import Protocol

from openai_image_mcp.models import ImagesRequest, ProviderResult, TurnRequest


class ImageProvider(Protocol):
    """A backend that draws images. The OpenAI adapter is the production one."""

    async def respond(self, request: TurnRequest) -> ProviderResult:
        """One conversational turn (Responses API with the image tool forced)."""
        ...

    async def generate(self, request: ImagesRequest) -> ProviderResult:
        """A one-shot generation (Images API)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
