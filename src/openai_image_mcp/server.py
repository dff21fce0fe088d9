"""Assembly: build the MCPServer from Settings. ``python -m openai_image_mcp.server`` runs it on stdio.

The tools are registered at start, as the SDK expects. Nothing heavy is imported here: the OpenAI SDK
loads with the first generation and Pillow with the first image, so the server answers ``tools/list``
about as fast as a bare MCPServer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import MCPServer
from mcp.server.apps import Apps
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, Icon, InputRequiredResult, Resource, Tool, ToolAnnotations

from openai_image_mcp import __version__
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore
from openai_image_mcp.tools import register_tools
from openai_image_mcp.tools.compact import compact_tool
from openai_image_mcp.tools.middleware import ToolCallMiddleware
from openai_image_mcp.tools.resources import dynamic_resources, register_resources

if TYPE_CHECKING:
    from openai_image_mcp.providers.base import ImageProvider

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Makes and refines images with OpenAI's image models. For iterative work, create_image_session then "
    "generate_image_in_session (each turn refines the last image); for one picture, generate_image. Results "
    "carry a small preview, a resource link and the absolute path of the full image. get_usage_guide explains more."
)


class ImageMCPServer(MCPServer[ImageService]):
    """MCPServer whose resources/list also names the open sessions and the newest images."""

    def __init__(self, service: ImageService, *, apps: Apps | None = None, **kwargs: Any) -> None:
        self._apps = apps  # set first: the SDK registers the extension's tools through add_tool
        super().__init__(**kwargs, extensions=[apps] if apps is not None else None)
        self._service = service
        self._compact_tools: list[Tool] | None = None
        self._tool_names: frozenset[str] = frozenset()

    @property
    def service(self) -> ImageService:
        return self._service

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """The SDK's add_tool; a tool the studio shows is declared through the Apps extension first, which
        stamps its ``_meta.ui`` (:func:`openai_image_mcp.tools.studio.studio_binding`)."""
        kwargs: dict[str, Any] = {"name": name, "title": title, "description": description}
        kwargs |= {"annotations": annotations, "icons": icons, "structured_output": structured_output}
        if self._apps is not None and not (meta and "ui" in meta):
            from openai_image_mcp.tools.studio import studio_binding

            binding = studio_binding(self._apps, fn, name or fn.__name__, meta, kwargs)
            if binding is not None:
                fn, meta, kwargs = binding.fn, binding.meta, dict(binding.kwargs)
        super().add_tool(fn, meta=meta, **kwargs)

    async def list_tools(self) -> list[Tool]:
        """The registered tools, with model-facing definitions kept small (:mod:`openai_image_mcp.tools.compact`)."""
        if self._compact_tools is None:
            self._compact_tools = [compact_tool(t) for t in await super().list_tools()]
            self._tool_names = frozenset(t.name for t in self._compact_tools)
        return list(self._compact_tools)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """The SDK's call, counted by tool and outcome for /metrics (an unknown name counts as ``unknown``, so
        callers cannot mint metric labels)."""
        if self._compact_tools is None:
            await self.list_tools()
        known = name in self._tool_names
        outcome = "error"
        try:
            result = await super().call_tool(name, arguments, context)
            outcome = "error" if getattr(result, "is_error", False) else "ok"
            return result
        finally:
            self._service.stats.record_tool_call(name if known else "unknown", outcome)

    async def list_resources(self) -> list[Resource]:
        return [*await super().list_resources(), *await dynamic_resources(self._service)]


def create_server(
    settings: Settings,
    *,
    provider_factory: Callable[[Settings], ImageProvider] | None = None,
    state: StateStore | None = None,
    blobs: BlobStore | None = None,
    clock: Clock | None = None,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
    coordinator: Coordinator | None = None,
) -> ImageMCPServer:
    """A ready-to-run server. The keywords swap collaborators (tests: a clock they move, a blob store that
    pauses); by default the OpenAI adapter, SQLite and the workspace folder."""
    service = ImageService(
        settings, provider_factory=provider_factory, state=state, blobs=blobs, clock=clock, coordinator=coordinator
    )

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[ImageService]:
        if settings.api_key is None and provider_factory is None:
            log.warning("OPENAI_API_KEY is not set: tools that call OpenAI will say how to set it")
        try:
            async with anyio.create_task_group() as tg:  # generations run here, beyond their tool call
                service.jobs.bind(tg)
                service.background.bind(tg)
                tg.start_soon(service.lifecycle.start_in_background)  # opening the state is off the start-up path
                tg.start_soon(service.lifecycle.housekeeping)
                tg.start_soon(service.lifecycle.watch_replicas)
                yield service
                await service.jobs.stop()
                await service.background.drain()  # the last conversation logs, before the task group goes
                tg.cancel_scope.cancel()
        finally:
            await service.lifecycle.stop()

    from openai_image_mcp.tools.studio import HideAppTools, studio_extension

    mcp = ImageMCPServer(
        service,
        apps=studio_extension(),
        name="openai-image-mcp",
        title="OpenAI Image MCP",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        middleware=[ToolCallMiddleware(service), HideAppTools()],
        token_verifier=token_verifier,
        auth=auth,
    )
    register_tools(mcp, service)
    register_resources(mcp, service)
    return mcp


def main() -> None:
    """Entry point of ``python -m openai_image_mcp.server``: stdio with settings from the environment."""
    from openai_image_mcp.cli import main as cli_main

    cli_main([])


if __name__ == "__main__":
    main()
