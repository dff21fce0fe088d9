"""The provider port: what the service needs from an image backend, in our own values."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from openai_image_mcp.core.requests import EditRequest, ImagesRequest, ProviderEvent, ProviderResult, TurnRequest

#: Receives streaming events; awaited in order, so it should be quick (hand heavy work to a thread).
EventSink = Callable[[ProviderEvent], Awaitable[None]]


class ImageProvider(Protocol):
    """A backend that draws images. The OpenAI adapter is the production one."""

    async def respond(self, request: TurnRequest, events: EventSink | None = None) -> ProviderResult:
        """One conversational turn (Responses API with the image tool forced), streamed to ``events``."""
        ...

    async def generate(self, request: ImagesRequest, events: EventSink | None = None) -> ProviderResult:
        """A one-shot generation (Images API), streamed to ``events``."""
        ...

    async def edit(self, request: EditRequest, events: EventSink | None = None) -> ProviderResult:
        """An Images API edit (multipart: image or image[], mask), streamed to ``events``."""
        ...

    async def upload_file(self, data: bytes, filename: str, mime_type: str) -> str:
        """Upload an input image once (Files API, purpose vision); returns the file id."""
        ...

    async def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file; a file that is already gone is not an error."""
        ...

    async def list_models(self) -> dict[str, str | None]:
        """The models this key can use, with their announced shutdown date (``YYYY-MM-DD``) or None."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
