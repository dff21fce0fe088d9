"""Link tools for clients that cannot read resources: create_download_link, create_upload_link.

The links are served by the HTTP transport beside ``/mcp`` (``/download/<link>``, ``/upload/<link>``),
at the base of ``OPENAI_IMAGE_MCP_PUBLIC_URL``; with images in S3 a download link is the bucket's presigned URL
instead, fetched straight from the store (over stdio too).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import iso_utc
from openai_image_mcp.core.refs import image_uri
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.service.transfer import is_direct
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.schemas import READ_ONLY, ToolOutput

ExpiresArg = Annotated[
    int | None,
    Field(ge=60, le=7 * 86_400, description="Seconds it stays valid (default 3600)."),
]


class LinkOutput(ToolOutput):
    url: str | None = None
    expires_at: str | None = None
    image_id: str | None = None
    resource_uri: str | None = None
    next_step: str | None = None


def links_base(public_url: str | None) -> str:
    """The URL the link routes live under: the public MCP URL without its ``/mcp``."""
    if not public_url:
        raise errors.NotConfigured(
            "Links are served by the HTTP transport: run 'openai-image-mcp serve --transport http' (or set "
            "OPENAI_IMAGE_MCP_PUBLIC_URL). Over stdio, read the image's resource or its file_path instead.",
            suggestion="Use resources/read on the image's resource_uri, or serve over HTTP.",
        )
    base = public_url.rstrip("/")
    return base[: -len("/mcp")] if base.endswith("/mcp") else base


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="Create download link", annotations=READ_ONLY)
    async def create_download_link(
        image_id: Annotated[str, Field(min_length=1, max_length=200, description="The image's id or resource URI.")],
        expires_in: ExpiresArg = None,
    ) -> Annotated[CallToolResult, LinkOutput]:
        """A URL that downloads one of your images without a token until it expires."""

        async def body() -> CallToolResult:
            rec = await service.find_images(caller(), [image_id])
            token, link = await service.download_link(caller(), rec[0].id, expires_in)
            # a presigned URL of the blob store (S3) needs no HTTP transport; the server's own route does
            url = token if is_direct(token) else f"{links_base(service.settings.public_url)}/download/{token}"
            return results.success(
                LinkOutput(
                    url=url,
                    expires_at=iso_utc(link.expires_at, "seconds"),
                    image_id=link.image_id,
                    next_step="Open or fetch the url (GET); no token needed until expires_at.",
                )
            )

        return await results.guarded("create_download_link", body)

    @mcp.tool(
        title="Create upload link",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    )
    async def create_upload_link(expires_in: ExpiresArg = None) -> Annotated[CallToolResult, LinkOutput]:
        """A URL to PUT an image to (curl -T photo.png URL); it becomes the image_id returned here."""

        async def body() -> CallToolResult:
            base = links_base(service.settings.public_url)
            token, link = service.upload_link(caller(), expires_in)
            return results.success(
                LinkOutput(
                    url=f"{base}/upload/{token}",
                    expires_at=iso_utc(link.expires_at, "seconds"),
                    image_id=link.image_id,
                    resource_uri=image_uri(link.image_id),
                    next_step=f"PUT the image's bytes to url (curl -T photo.png '<url>'), then pass image_id "
                    f"'{link.image_id}' to edit_image or any tool that takes an image.",
                )
            )

        return await results.guarded("create_upload_link", body)
