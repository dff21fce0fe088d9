"""The studio as an MCP App (the ``io.modelcontextprotocol/ui`` extension, through the SDK's ``Apps``).

* One ``ui://`` resource, :data:`STUDIO_URI`: the page of :mod:`openai_image_mcp.studio` (HTML, CSS and JS
  inlined, ``text/html;profile=mcp-app``) under the strictest CSP (no origin at all).
* The generating and browsing tools (:data:`UI_TOOLS`) carry ``_meta.ui.resourceUri``: a host that supports
  apps shows the studio with their result; a host that does not gets the same result as before, since
  nothing in a result depends on the client.
* Four app-only tools (``_meta.ui.visibility: ["app"]``, so hosts keep them from the model, and ``tools/list``
  leaves them out for a client that did not negotiate the extension, :class:`HideAppTools`): ``studio_image``
  (one image's details: prompts, parameters, cost, lineage, and which resource holds its pixels),
  ``studio_thread`` (a session as a thread of turns), ``studio_gallery`` (a page of the caller's images,
  searched) and ``studio_mask_edit`` (the mask painter's submit, the edit path of ``edit_image``).
* The pixels travel by ``resources/read``, which the result budget does not cut: an image up to
  :data:`FULL_MAX_BYTES` is read whole from its own resource (``openai-image://image/<id>.<ext>``), a larger
  one as a downscaled WebP copy (``openai-image://studio/display/<id>``: longest side 2048, under 3 MiB); the
  gallery's thumbnails are ``openai-image://studio/thumb/<id>`` (256 px WebP).
* The painted mask comes back as a PNG of the painted area (transparent = change, opaque black = keep) at the
  image's size, downscaled by the page when the image is larger than 2048 px (the edit scales masks back),
  base64 in the call: a few KB to a few hundred KB, far below the 4 MiB request limit. It is filed as an
  upload image of the caller (checked like any input image), and ``service.edit`` runs with its id as the
  mask, exactly as ``edit_image(mask_path=<id>)`` would.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.apps import Apps, ResourceCsp, Visibility, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import ToolBinding
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, ListToolsResult
from pydantic import BaseModel, Field

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageOptions, ImageRecord
from openai_image_mcp.core.refs import parse_image_ref
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.studio.page import STUDIO_URI, studio_html
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.jobs import finish
from openai_image_mcp.tools.render import image_out, iso, session_cost, session_out, turn_out
from openai_image_mcp.tools.schemas import (
    GENERATES,
    READ_ONLY,
    GenerationOutput,
    ImageInputArg,
    ImageOut,
    PromptArg,
    QualityArg,
    SessionOut,
    ToolOutput,
    TurnOut,
    WaitArg,
)

__all__ = ["APP_TOOLS", "STUDIO_URI", "UI_TOOLS", "HideAppTools", "register", "studio_binding", "studio_extension"]

#: The model's tools whose results the studio shows.
UI_TOOLS = frozenset(
    {
        "generate_image",
        "generate_image_in_session",
        "edit_image",
        "analyze_and_improve_image",
        "promote_image_to_session",
        "generate_product_image",
        "generate_ui_asset",
        "list_images",
        "view_image",
        "get_session_status",
        "get_generation_result",
    }
)
#: The studio's own tools, hidden from the model.
APP_TOOLS = frozenset({"studio_image", "studio_thread", "studio_gallery", "studio_mask_edit"})
#: Images up to this size reach the page whole; larger ones as a downscaled WebP copy.
FULL_MAX_BYTES = 3 * 1024 * 1024
DISPLAY_SIDE, DISPLAY_BYTES = 2048, 3 * 1024 * 1024
THUMB_SIDE, THUMB_BYTES = 256, 24_000
#: The painted mask, base64 (a PNG of a few solid areas is far smaller).
MAX_MASK_BASE64 = 3 * 1024 * 1024
STUDIO_RESOURCE = "openai-image://studio/{variant}/{image_id}"
_VARIANTS = {"thumb": (THUMB_SIDE, THUMB_BYTES), "display": (DISPLAY_SIDE, DISPLAY_BYTES)}
_DATA_URL = re.compile(r"^data:image/png;base64,", re.IGNORECASE)
_CSP = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[])


def studio_extension() -> Apps:
    """The Apps extension with the studio page; the tools are bound as they register (:func:`studio_binding`)."""
    apps = Apps()
    apps.add_html_resource(
        STUDIO_URI,
        studio_html(),
        name="studio",
        title="Image studio",
        description="Viewer, gallery and mask painter for the images of this server (an MCP App).",
        csp=_CSP,
        prefers_border=True,
    )
    return apps


class HideAppTools:
    """Server middleware: ``tools/list`` answers a client that did not negotiate MCP Apps without the app-only
    tools (they would be the model's to call there, and it has no use for them); calls are not refused."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or client_supports_apps(ctx):
            return result
        if isinstance(result, ListToolsResult):
            return result.model_copy(update={"tools": [t for t in result.tools if t.name not in APP_TOOLS]})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            tools = [t for t in result["tools"] if not (isinstance(t, dict) and t.get("name") in APP_TOOLS)]
            return {**result, "tools": tools}
        return result


def studio_binding(
    apps: Apps, fn: Callable[..., Any], name: str, meta: dict[str, Any] | None, kwargs: dict[str, Any]
) -> ToolBinding | None:
    """How a tool registers when the studio shows it: declared through the Apps extension, which stamps
    ``_meta.ui`` (the page's URI, and ``visibility: ["app"]`` for the studio's own tools); ``None`` for the
    other tools."""
    if name not in UI_TOOLS and name not in APP_TOOLS:
        return None
    visibility: Sequence[Visibility] | None = ["app"] if name in APP_TOOLS else None
    apps.tool(resource_uri=STUDIO_URI, visibility=visibility, meta=meta, **kwargs)(fn)
    return next(b for b in reversed(apps.tools()) if b.fn is fn)


class StudioImage(ImageOut):
    prompt: str = ""
    created_at: str = ""
    session_id: str | None = None
    turn: int | None = None
    use_case: str = ""
    model: str | None = None
    image_model: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    cost: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None
    pixels_uri: str = Field(default="", description="Read it with resources/read: the image, or its display copy.")
    pixels_full: bool = Field(default=True, description="False: pixels_uri is a downscaled WebP copy.")


class StudioImageOutput(ToolOutput):
    image: StudioImage | None = None


class ThreadOutput(ToolOutput):
    session: SessionOut | None = None
    total_cost_usd: float | None = None
    turns: list[TurnOut] = Field(default_factory=list)
    images: list[StudioImage] = Field(default_factory=list)


class GallerySession(BaseModel):
    session_id: str
    name: str | None = None
    description: str = ""
    status: str = ""
    image_count: int = 0


class GalleryOutput(ToolOutput):
    images: list[StudioImage] = Field(default_factory=list)
    total: int = 0
    offset: int = 0
    next_offset: int | None = None
    sessions: list[GallerySession] = Field(default_factory=list)


def studio_image(rec: ImageRecord) -> StudioImage:
    meta = rec.metadata if isinstance(rec.metadata, dict) else {}
    full = rec.file_size <= FULL_MAX_BYTES
    cost = meta.get("cost") if isinstance(meta.get("cost"), dict) else None
    usage = meta.get("usage")
    if cost is None and isinstance(usage, dict) and isinstance(usage.get("cost"), dict):
        cost = usage["cost"]
    lineage = meta.get("lineage") if isinstance(meta.get("lineage"), dict) else None
    params = meta.get("generation_params") if isinstance(meta.get("generation_params"), dict) else {}
    turn = meta.get("turn") if isinstance(meta.get("turn"), int) else None
    return StudioImage(
        **image_out(rec).model_dump(),
        prompt=results.cap(rec.prompt, 2_000) or "",
        created_at=iso(rec.created_at) or "",
        session_id=rec.session_id,
        turn=turn,
        use_case=rec.use_case,
        model=rec.model or None,
        image_model=meta.get("image_model") if isinstance(meta.get("image_model"), str) else None,
        parameters=params,
        cost=cost,
        lineage=lineage,
        pixels_uri=image_out(rec).resource_uri if full else f"openai-image://studio/display/{rec.id}",
        pixels_full=full,
    )


def _moment(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise errors.InvalidInput(f"{name} must be an ISO date or date-time, such as 2026-11-24.") from exc
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def decode_mask(text: str) -> bytes:
    """The painted mask's bytes from base64 (a ``data:image/png;base64,`` prefix is allowed)."""
    raw = _DATA_URL.sub("", text.strip(), count=1)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidMask("mask_png is not base64: send the painted mask as a base64 PNG.") from exc
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise errors.InvalidMask("mask_png is not a PNG: send the painted mask as a base64 PNG.")
    return data


ImageIdArg = Annotated[str, Field(min_length=1, max_length=200, description="Image id or resource URI.")]


def register(mcp: MCPServer, service: ImageService) -> None:
    """The app-only tools and the studio's image resource (thumbnails and display copies)."""

    @mcp.tool(name="studio_image", title="Studio: image", annotations=READ_ONLY)
    async def studio_image_tool(image_id: ImageIdArg) -> Annotated[CallToolResult, StudioImageOutput]:
        """For the studio: one image's prompts, parameters, cost and lineage, and the resource of its pixels
        (whole up to 3 MiB, else a downscaled WebP copy)."""

        async def body() -> CallToolResult:
            recs = await service.find_images(caller(), [image_id])
            return results.success(StudioImageOutput(image=studio_image(recs[0])))

        return await results.guarded("studio_image", body)

    @mcp.tool(name="studio_thread", title="Studio: thread", annotations=READ_ONLY)
    async def studio_thread(
        session_id: Annotated[str, Field(min_length=1, max_length=200)],
    ) -> Annotated[CallToolResult, ThreadOutput]:
        """For the studio: a session as a thread of turns, with its images."""

        async def body() -> CallToolResult:
            rec, turns, images = await service.session_status(caller(), session_id)
            return results.success(
                ThreadOutput(
                    session=session_out(rec, service.settings.session_timeout),
                    total_cost_usd=session_cost(turns),
                    turns=[turn_out(t) for t in turns],
                    images=[studio_image(i) for i in images],
                )
            )

        return await results.guarded("studio_thread", body)

    @mcp.tool(name="studio_gallery", title="Studio: gallery", annotations=READ_ONLY)
    async def studio_gallery(
        text: Annotated[str | None, Field(max_length=500)] = None,
        session_id: Annotated[str | None, Field(max_length=200)] = None,
        use_case: Annotated[str | None, Field(max_length=40)] = None,
        since: Annotated[str | None, Field(max_length=40)] = None,
        until: Annotated[str | None, Field(max_length=40)] = None,
        limit: Annotated[int, Field(ge=1, le=48)] = 24,
        offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0,
        with_sessions: bool = False,
    ) -> Annotated[CallToolResult, GalleryOutput]:
        """For the studio: a page of the caller's images, newest first, searched by text, session, use case and
        date; with_sessions adds the 30 latest sessions."""

        async def body() -> CallToolResult:
            who = caller()
            recs, total = await service.browse(
                who, session_id=session_id or None, use_case=use_case or None, text=text or None,
                since=_moment(since, "since"), until=_moment(until, "until"), limit=limit, offset=offset,
            )  # fmt: skip
            sessions = []
            if with_sessions:
                listed = await service.list_sessions(who, None)
                sessions = [
                    GallerySession(
                        session_id=s.id,
                        name=s.name,
                        description=results.cap(s.description, 80) or "",
                        status=s.status,
                        image_count=s.image_count,
                    )
                    for s in listed[:30]
                ]
            nxt = offset + len(recs)
            return results.success(
                GalleryOutput(
                    images=[studio_image(r) for r in recs],
                    total=total,
                    offset=offset,
                    next_offset=nxt if nxt < total else None,
                    sessions=sessions,
                )
            )

        return await results.guarded("studio_gallery", body)

    @mcp.tool(name="studio_mask_edit", title="Studio: edit in a mask", annotations=GENERATES)
    async def studio_mask_edit(
        image_id: ImageInputArg,
        prompt: PromptArg,
        mask_png: Annotated[
            str,
            Field(
                min_length=8,
                max_length=MAX_MASK_BASE64,
                description="Base64 PNG of the painted area: transparent = change, opaque = keep; the image's size, "
                "or smaller with its proportions.",
            ),
        ],
        ctx: Context,
        session_id: Annotated[str | None, Field(max_length=200, description="Do it as a turn of this session.")] = None,
        quality: QualityArg = "auto",
        wait_seconds: WaitArg = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """For the studio's mask painter: edit_image inside the painted mask (the mask is filed as an upload of
        yours and named in the edit's lineage)."""

        async def body() -> CallToolResult:
            who = caller()
            data = decode_mask(mask_png)
            token, _ = service.upload_link(who, None)
            mask = await service.upload(token, data)
            job = await service.edit(
                who, image_id, prompt, ImageOptions(quality=quality), references=[], mask=mask.id,
                input_fidelity=None, session_id=session_id or None,
            )  # fmt: skip
            step = "Paint again to refine it, or ask the model to continue from this image."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("studio_mask_edit", body)

    @mcp.resource(
        STUDIO_RESOURCE,
        name="studio_image_copy",
        title="Studio image copy",
        description="For the studio: a 256 px WebP thumbnail (thumb) or a display copy of at most 2048 px (display).",
        mime_type="image/webp",
    )
    async def studio_copy(variant: str, image_id: str) -> bytes:
        size = _VARIANTS.get(variant)
        if size is None or parse_image_ref(image_id) != image_id:
            raise ResourceError("Not a studio image URI: openai-image://studio/thumb|display/<image id>.")
        try:
            recs = await service.find_images(caller(), [image_id])
            preview = await service.preview(recs, max_side=size[0], max_bytes=size[1])
        except errors.ImageServerError as exc:
            raise ResourceError(f"Image '{image_id}' could not be read ({exc.error_type}).") from exc
        return preview.data
