"""MCP resources: the full images (one template per format) and the usage guide."""

from __future__ import annotations

import re

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from openai_image_mcp.guide import read_guide
from openai_image_mcp.results import image_uri
from openai_image_mcp.service import ImageService
from openai_image_mcp.tools.render import EXTENSIONS

_HEX = re.compile(r"[0-9a-f]{32}")


def register_resources(mcp: MCPServer, service: ImageService) -> None:
    @mcp.resource("openai-image://guide", name="usage_guide", title="Usage guide", mime_type="text/markdown")
    def usage_guide() -> str:
        """How to use openai-image-mcp (the same text as the get_usage_guide tool)."""
        return read_guide()

    for mime, ext in EXTENSIONS.items():
        _register_image_template(mcp, service, mime, ext)

    @mcp.resource(
        "openai-image://preview/{job_id}/{index}",
        name="partial_preview",
        title="Partial image preview",
        description="A partial image streamed while a generation runs (named in its progress notifications).",
        mime_type="image/webp",
    )
    async def partial_preview(job_id: str, index: str) -> bytes:
        if not (_HEX.fullmatch(job_id) and index.isdigit()):
            raise ResourceError("Not a partial preview URI.")
        path = service.workspace.previews_root / job_id / f"partial_{int(index)}.webp"
        try:
            return await anyio.Path(path).read_bytes()
        except OSError as exc:
            raise ResourceError(f"No partial preview {index} for job '{job_id}' (previews are kept a day).") from exc


def _register_image_template(mcp: MCPServer, service: ImageService, mime: str, ext: str) -> None:
    async def read_image(image_id: str) -> bytes:
        rec = await service.images.get(image_id)
        if rec is None or rec.mime_type != mime:
            raise ResourceError(f"No {ext} image with id '{image_id}'.")
        try:
            return await anyio.Path(rec.path).read_bytes()
        except OSError as exc:
            raise ResourceError(f"Image '{image_id}' is recorded but its file is missing: {rec.path}") from exc

    mcp.resource(
        image_uri("{image_id}") + f".{ext}",
        name=f"image_{ext}",
        title=f"Generated image ({ext})",
        description="A full-size image this server generated, by id.",
        mime_type=mime,
    )(read_image)
