"""Turning outcomes into MCP tool results, within the result byte budget.

A generation result carries, in this order: one small preview per image (``ImageContent``,
WebP), a ``ResourceLink`` to each full image (readable with ``resources/read``), and the
structured content with its JSON text mirror (absolute file paths, ids, revised prompt,
parameters, usage). The full image is never inlined. Errors become ``isError`` results that keep
the same structured shape (``success: false``, ``error``, ``error_type``, ``suggestion``); this
module is the one place where exceptions turn into tool errors.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel

from openai_image_mcp.core.errors import ContentRejected, ImageServerError, NoImageReturned, ProviderError
from openai_image_mcp.core.refs import cap, image_resource_uri, image_uri, json_size, preview_budget

log = logging.getLogger(__name__)

__all__ = ["cap", "failure", "guarded", "image_resource_uri", "image_uri", "json_size", "preview_budget", "success"]


def success(
    structured: BaseModel,
    *,
    previews: list[tuple[bytes, str]] | None = None,
    links: list[ResourceLink] | None = None,
) -> CallToolResult:
    data = structured.model_dump(mode="json", exclude_none=True)
    content: list[ContentBlock] = []
    for data_bytes, mime in previews or []:
        content.append(ImageContent(type="image", data=base64.b64encode(data_bytes).decode("ascii"), mime_type=mime))
    content.extend(links or [])
    content.append(TextContent(type="text", text=json.dumps(data, ensure_ascii=False)))
    return CallToolResult(content=content, structured_content=data)


def failure(exc: ImageServerError) -> CallToolResult:
    data: dict[str, Any] = {
        "success": False,
        "error": exc.message,
        "error_type": exc.error_type,
        "suggestion": exc.suggestion,
    }
    if isinstance(exc, ProviderError) and exc.request_id:
        data["openai_request_id"] = exc.request_id
    if isinstance(exc, ContentRejected):
        data["moderation_categories"] = exc.categories
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        data.update(details)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        data["retry_after_seconds"] = retry_after
    if isinstance(exc, NoImageReturned) and exc.model_text:
        data["model_text"] = cap(exc.model_text, 4_000)
    text = f"Error ({exc.error_type}): {exc.message}\nWhat to do: {exc.suggestion}"
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=json.dumps(data))],
        structured_content=data,
        is_error=True,
    )


async def guarded(tool: str, body: Callable[[], Awaitable[CallToolResult]]) -> CallToolResult:
    """Run a tool body; our errors become ``isError`` results, anything else is logged and masked."""
    try:
        return await body()
    except ImageServerError as exc:
        log.info("tool %s failed: %s: %s", tool, exc.error_type, exc.message)
        return failure(exc)
    except Exception:
        log.exception("tool %s crashed", tool)
        return failure(
            ImageServerError(f"Internal error in {tool}; the server log has the details.", error_type="internal_error")
        )
