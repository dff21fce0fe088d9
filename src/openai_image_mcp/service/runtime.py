"""Shared parts the flows are given: the provider, built on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.providers import openai_provider

if TYPE_CHECKING:
    from openai_image_mcp.providers.base import ImageProvider

ProviderFactory = Callable[[Settings], "ImageProvider"]


class ProviderHandle:
    """The provider, built on first use in a worker thread (the OpenAI SDK import takes a third of a second
    and must not stall the event loop)."""

    def __init__(self, settings: Settings, factory: ProviderFactory | None = None) -> None:
        self._settings = settings
        self._factory = factory or openai_provider
        self._provider: ImageProvider | None = None
        self._lock = anyio.Lock()

    async def get(self) -> ImageProvider:
        async with self._lock:
            if self._provider is None:
                self._provider = await anyio.to_thread.run_sync(self._factory, self._settings)
        return self._provider

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None
