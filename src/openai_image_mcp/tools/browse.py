"""Browsing past work: list_images (filtered, newest first, paged) and view_image (a preview, or a
labelled contact sheet of several images, within the result budget)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageRecord
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.render import image_out, iso, resource_links
from openai_image_mcp.tools.schemas import READ_ONLY, ImageOut, ToolOutput

if TYPE_CHECKING:
    pass

MAX_VIEW = 16


class ListedImage(ImageOut):
    prompt: str
    created_at: str
    session_id: str | None = None
    use_case: str


class ImageListOutput(ToolOutput):
    images: list[ListedImage] = Field(default_factory=list)
    total: int = 0
    offset: int = 0
    next_offset: int | None = Field(default=None, description="Pass as offset for the next page; null at the end.")


class ViewOutput(ToolOutput):
    images: list[ImageOut] = Field(default_factory=list, description="In the order of the sheet's labels 1..n.")
    preview: str | None = None


def listed(rec: ImageRecord) -> ListedImage:
    return ListedImage(
        **image_out(rec).model_dump(),
        prompt=results.cap(rec.prompt, 300) or "",
        created_at=iso(rec.created_at) or "",
        session_id=rec.session_id,
        use_case=rec.use_case,
    )


def _timestamp(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise errors.InvalidInput(
            f"{name} must be an ISO date or date-time, such as 2026-11-24 or 2026-11-24T10:00Z."
        ) from exc
    # Without a zone it is UTC, like every time this server shows (not the server's local time).
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="List images", annotations=READ_ONLY)
    async def list_images(
        session_id: Annotated[str | None, Field(max_length=200)] = None,
        use_case: Annotated[
            str | None, Field(max_length=40, description="general, product, ui_asset, style_series, edit, promoted.")
        ] = None,
        text: Annotated[str | None, Field(max_length=500, description="Words in the prompt or revised prompt.")] = None,
        since: Annotated[
            str | None, Field(max_length=40, description="ISO date/time (UTC unless it names a zone), inclusive.")
        ] = None,
        until: Annotated[
            str | None, Field(max_length=40, description="ISO date/time (UTC unless it names a zone), exclusive.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0,
    ) -> Annotated[CallToolResult, ImageListOutput]:
        """Past images, newest first, filterable. Next: view_image."""

        async def body() -> CallToolResult:
            recs, total = await service.browse(
                caller(), session_id=session_id, use_case=use_case, text=text, since=_timestamp(since, "since"),
                until=_timestamp(until, "until"), limit=limit, offset=offset,
            )  # fmt: skip
            nxt = offset + len(recs)
            return results.success(
                ImageListOutput(
                    images=[listed(r) for r in recs],
                    total=total,
                    offset=offset,
                    next_offset=nxt if nxt < total else None,
                )
            )

        return await results.guarded("list_images", body)

    @mcp.tool(title="View image", annotations=READ_ONLY)
    async def view_image(
        image_ids: Annotated[
            list[str],
            Field(
                min_length=1,
                max_length=MAX_VIEW,
                description="Image ids or URIs; several give one contact sheet labelled 1..n.",
            ),
        ],
        preview_size: Annotated[int, Field(ge=64, le=1024, description="Longest side of the preview, pixels.")] = 512,
    ) -> Annotated[CallToolResult, ViewOutput]:
        """Look at stored images again: a small preview, or one contact sheet of several."""

        async def body() -> CallToolResult:
            recs = await service.find_images(caller(), list(image_ids))
            outs = [image_out(r) for r in recs]
            links = resource_links(outs)
            # The structured part as it will be sent (it appears twice, so each link is counted as half its size).
            text_bytes = (
                results.json_size([o.model_dump() for o in outs])
                + results.json_size([link.model_dump(exclude_none=True) for link in links]) // 2
                + 500
            )
            budget = results.preview_budget(service.settings.result_budget_bytes, text_bytes, 1)
            preview = await service.preview(recs, max_side=preview_size, max_bytes=budget)
            what = "a contact sheet labelled 1..n" if len(recs) > 1 else "a preview"
            return results.success(
                ViewOutput(images=outs, preview=f"{what}, {preview.width}x{preview.height} WebP"),
                previews=[(preview.data, preview.mime_type)],
                links=links,
            )

        return await results.guarded("view_image", body)
