"""The MCP surface: thin tool functions whose signatures are the schemas."""

from __future__ import annotations

from mcp.server import MCPServer

from openai_image_mcp.service import ImageService
from openai_image_mcp.tools import browse, editing, generate, info, jobs, sessions


def register_tools(mcp: MCPServer, service: ImageService) -> None:
    sessions.register(mcp, service)
    generate.register(mcp, service)
    editing.register(mcp, service)
    jobs.register(mcp, service)
    browse.register(mcp, service)
    info.register(mcp, service)
