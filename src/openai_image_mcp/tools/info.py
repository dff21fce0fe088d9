"""Utility tools: the usage guide and server statistics."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult

from openai_image_mcp import __version__
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.guide import read_guide
from openai_image_mcp.tools.schemas import READ_ONLY, ServerStatsOutput, UsageGuideOutput


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="Usage guide", annotations=READ_ONLY)
    async def get_usage_guide() -> Annotated[CallToolResult, UsageGuideOutput]:
        """How to use this server well (also the resource openai-image://guide)."""

        async def body() -> CallToolResult:
            return results.success(UsageGuideOutput(guide=read_guide()))

        return await results.guarded("get_usage_guide", body)

    @mcp.tool(title="Server statistics", annotations=READ_ONLY)
    async def get_server_stats() -> Annotated[CallToolResult, ServerStatsOutput]:
        """Health, counts, OpenAI latency, spend and budgets."""

        async def body() -> CallToolResult:
            settings = service.settings
            figures = await service.server_stats(caller())
            return results.success(
                ServerStatsOutput(
                    version=__version__,
                    **figures,
                    workspace=str(settings.workspace),
                    api_key_configured=settings.api_key is not None,
                    defaults={
                        "mainline_model": settings.mainline_model,
                        "image_model": settings.image_model,
                        "store_responses": settings.store_responses,
                        "result_budget_bytes": settings.result_budget_bytes,
                        "max_sessions": settings.max_sessions,
                        "session_timeout_seconds": settings.session_timeout,
                    },
                )
            )

        return await results.guarded("get_server_stats", body)
