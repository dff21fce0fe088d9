"""openai-image-mcp: an MCP server for making and refining images with OpenAI's image models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The one place the version lives (pyproject.toml reads it from here).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from openai_image_mcp.core.settings import Settings
    from openai_image_mcp.server import create_server, main

__all__ = ["Settings", "__version__", "create_server", "main"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from openai_image_mcp.core.settings import Settings

        return Settings
    if name in ("create_server", "main"):
        from openai_image_mcp import server

        return getattr(server, name)
    raise AttributeError(name)
