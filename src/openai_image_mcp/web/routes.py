"""HTTP routes beside ``/mcp``: health and readiness (no auth), Prometheus metrics (admin tokens only),
and the signed download and upload links (the link is the credential)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import extension
from openai_image_mcp.core.principal import SCOPE_ADMIN
from openai_image_mcp.server import ImageMCPServer
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.web.metrics import Metrics

log = logging.getLogger(__name__)


def _error(exc: errors.ImageServerError, status: int) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": exc.message, "error_type": exc.error_type, "suggestion": exc.suggestion},
        status_code=status,
    )


def _status_of(exc: errors.ImageServerError) -> int:
    if exc.error_type == "invalid_link":
        return 403
    if isinstance(exc, errors.ImageTooLarge):
        return 413
    if isinstance(exc, errors.InvalidInput):
        return 415 if isinstance(exc, errors.NotAnImage) else 400
    return 500


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, refusing it as soon as it passes ``limit`` bytes (never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.ImageTooLarge(f"The upload is {int(declared):,} bytes; the limit is {limit:,}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.ImageTooLarge(f"The upload is over the limit of {limit:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def add_routes(mcp: ImageMCPServer, service: ImageService, metrics: Metrics, *, auth_required: bool) -> None:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            checks = await service.readiness()
        except errors.ImageServerError as exc:
            log.warning("not ready: %s", exc.message)
            return JSONResponse({"status": "unavailable", "error_type": exc.error_type}, status_code=503)
        return JSONResponse({"status": "ready", **checks})

    async def metrics_route(request: Request) -> Response:
        token = getattr(request.scope.get("user"), "access_token", None)
        if auth_required and token is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if auth_required and (token is None or SCOPE_ADMIN not in token.scopes):
            return JSONResponse({"error": "insufficient_scope", "scope": SCOPE_ADMIN}, status_code=403)
        body, content_type = await metrics.render(service)
        return Response(body, media_type=content_type)

    async def download(request: Request) -> Response:
        try:
            rec, data = await service.download(request.path_params["link"])
        except errors.ImageServerError as exc:
            return _error(exc, _status_of(exc) if exc.error_type != "file_missing" else 404)
        name = f"{rec.id}.{extension(rec.mime_type)}"
        headers = {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, max-age=300"}
        return Response(data, media_type=rec.mime_type, headers=headers)

    async def upload(request: Request) -> Response:
        try:
            data = await read_capped(request, service.settings.max_input_bytes)
            rec = await service.upload(request.path_params["link"], data)
        except errors.ImageServerError as exc:
            return _error(exc, _status_of(exc))
        return JSONResponse(
            {
                "success": True,
                "image_id": rec.id,
                "resource_uri": f"openai-image://image/{rec.id}.{extension(rec.mime_type)}",
                "width": rec.width,
                "height": rec.height,
                "mime_type": rec.mime_type,
            },
            status_code=201,
        )

    mcp.custom_route("/healthz", methods=["GET"], include_in_schema=False)(healthz)
    mcp.custom_route("/readyz", methods=["GET"], include_in_schema=False)(readyz)
    mcp.custom_route("/metrics", methods=["GET"], include_in_schema=False)(metrics_route)
    mcp.custom_route("/download/{link}", methods=["GET"], include_in_schema=False)(download)
    mcp.custom_route("/upload/{link}", methods=["PUT", "POST"], include_in_schema=False)(upload)
