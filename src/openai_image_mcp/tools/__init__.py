"""The MCP surface: thin tool functions whose signatures are the schemas.

The tool modules are imported by :func:`register_tools`, not with this package, so that reading
:mod:`openai_image_mcp.tools.render` from a resource does not load them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server import MCPServer

if TYPE_CHECKING:
    from openai_image_mcp.service.facade import ImageService


def register_tools(mcp: MCPServer, service: ImageService) -> None:
    from openai_image_mcp.tools import browse, editing, generate, info, jobs, links, sessions, studio, usage

    sessions.register(mcp, service)
    generate.register(mcp, service)
    editing.register(mcp, service)
    jobs.register(mcp, service)
    browse.register(mcp, service)
    info.register(mcp, service)
    links.register(mcp, service)
    usage.register(mcp, service)
    studio.register(mcp, service)
