"""MCP resources: the full images (one template per format) and the usage guide."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import Resource

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import EXTENSIONS
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.guide import read_guide
from openai_image_mcp.tools.redact import PathScrubber
from openai_image_mcp.tools.results import image_resource_uri, image_uri

_HEX = re.compile(r"[0-9a-f]{32}")
RECENT_IMAGES = 50


def register_resources(mcp: MCPServer, service: ImageService) -> None:
    scrub = PathScrubber(service.settings)

    @mcp.resource("openai-image://guide", name="usage_guide", title="Usage guide", mime_type="text/markdown")
    def usage_guide() -> str:
        """How to use openai-image-mcp (the same text as the get_usage_guide tool)."""
        return read_guide()

    for mime, ext in EXTENSIONS.items():
        _register_image_template(mcp, service, mime, ext)

    @mcp.resource(
        "openai-image://session/{session_id}",
        name="session",
        title="Image session",
        description="A session as JSON: its details, every turn and every image (with their resource URIs).",
        mime_type="application/json",
    )
    async def session_resource(session_id: str) -> str:
        from openai_image_mcp.tools.render import image_out, session_out, turn_out  # loads the output models

        try:
            rec, turns, images = await service.session_status(caller(), session_id)
        except errors.ImageServerError as exc:
            raise ResourceError(exc.message) from exc
        data = {
            "session": session_out(rec, service.settings.session_timeout).model_dump(mode="json"),
            "turns": [turn_out(t).model_dump(mode="json") for t in turns],
            "images": [image_out(i).model_dump(mode="json") for i in images],
        }
        return json.dumps(scrub.data(data, caller()), ensure_ascii=False)

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
        try:
            return await service.partial_preview(caller(), job_id, int(index))
        except errors.ImageServerError as exc:
            raise ResourceError(exc.message) from exc


def _register_image_template(mcp: MCPServer, service: ImageService, mime: str, ext: str) -> None:
    async def read_image(image_id: str) -> bytes:
        try:
            return await service.read_image(caller(), image_id, mime)
        except errors.ImageNotFound as exc:
            raise ResourceError(f"No {ext} image with id '{image_id}'.") from exc
        except errors.ImageServerError as exc:
            what = "its file is missing" if isinstance(exc, errors.BlobNotFound) else exc.error_type
            raise ResourceError(f"Image '{image_id}' could not be read ({what}).") from exc

    mcp.resource(
        image_uri("{image_id}") + f".{ext}",
        name=f"image_{ext}",
        title=f"Generated image ({ext})",
        description="A full-size image this server generated, by id.",
        mime_type=mime,
    )(read_image)


async def dynamic_resources(service: ImageService) -> list[Resource]:
    """What resources/list adds to the static resources: the open sessions and the newest images."""
    sessions, images = await service.recent(caller(), images=RECENT_IMAGES)
    listed = [
        Resource(
            uri=f"openai-image://session/{s.id}",
            name=f"session {s.name or s.id}",
            description=f"{s.description[:120]} ({s.image_count} images)",
            mime_type="application/json",
        )
        for s in sessions
    ]
    listed += [
        Resource(
            uri=image_resource_uri(i.id, i.mime_type),
            name=Path(i.path).name,
            description=results.cap(i.prompt, 200),
            mime_type=i.mime_type,
            size=i.file_size,
        )
        for i in images
    ]
    return listed
