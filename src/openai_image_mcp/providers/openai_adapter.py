"""The OpenAI adapter: Responses API turns and Images API generations on ``AsyncOpenAI``.

This module imports the OpenAI SDK (about a third of a second), so the service imports it only
when the first generation needs it. Retries are the SDK's (``max_retries``, Retry-After honoured);
an ``insufficient_quota`` 429 is marked not retryable with the SDK's own ``x-should-retry``
header, and the whole call, retries included, is bounded by ``request_timeout``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import httpx2
import openai
from openai import AsyncOpenAI

from openai_image_mcp.core import errors
from openai_image_mcp.core.logs import annotate
from openai_image_mcp.core.requests import EditRequest, ImagesRequest, ProviderEvent, ProviderResult, TurnRequest
from openai_image_mcp.providers.base import EventSink
from openai_image_mcp.providers.openai_errors import map_exception, response_error
from openai_image_mcp.providers.openai_requests import build_turn_input, image_params, image_tool
from openai_image_mcp.providers.openai_responses import parse_image_events, parse_response
from openai_image_mcp.providers.sse import sse_events, sse_lines

log = logging.getLogger(__name__)

_PARTIAL_EVENTS = frozenset(
    {"response.image_generation_call.partial_image", "image_generation.partial_image", "image_edit.partial_image"}
)
_GENERATING_EVENTS = frozenset(
    {"response.image_generation_call.generating", "response.image_generation_call.in_progress"}
)
_FINAL_EVENTS = frozenset(
    {
        "response.completed",
        "response.failed",
        "response.incomplete",
        "image_generation.completed",
        "image_edit.completed",
    }
)


async def _mark_quota_not_retryable(response: httpx2.Response) -> None:
    """Event hook: an exhausted quota is a 429 that retrying cannot fix."""
    if response.status_code != 429:
        return
    await response.aread()
    try:
        code = json.loads(response.content).get("error", {}).get("code")
    except (ValueError, AttributeError):
        return
    if code == "insufficient_quota":
        response.headers["x-should-retry"] = "false"


class OpenAIProvider:
    """:class:`~openai_image_mcp.providers.base.ImageProvider` on the OpenAI API."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        organization: str | None,
        project: str | None,
        timeout: float,
        max_retries: int,
    ) -> None:
        self._timeout = timeout
        http_client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
            follow_redirects=True,
            event_hooks={"response": [_mark_quota_not_retryable]},
        )
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _stream(
        self, fn: Any, events: EventSink | None, **kwargs: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Run a streamed call: forward progress to ``events`` and return the events that carry a result
        (as plain dicts), with OpenAI's request id.

        The SDK builds and sends the request (auth, retries with Retry-After, status errors); the event
        stream is read as text lines and parsed with ``json``, because the SDK's own SSE decoder scans a
        multi-megabyte image line with a regex and costs tens of milliseconds of event-loop time per
        image. The whole call, retries included, is bounded by the timeout; on cancellation the HTTP
        stream is closed at once, which stops the work upstream.
        """
        finals: list[dict[str, Any]] = []
        request_id: str | None = None
        try:
            with anyio.fail_after(self._timeout):
                manager = fn(stream=True, **kwargs)
                raw = await manager.__aenter__()
                try:
                    request_id = raw.headers.get("x-request-id")
                    annotate(openai_request_id=request_id or "")
                    log.debug("OpenAI is streaming %s (request %s)", kwargs.get("model"), request_id)
                    async for event in sse_events(sse_lines(raw.http_response.aiter_bytes())):
                        await self._dispatch(event, events, finals, request_id)
                finally:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                        await manager.__aexit__(None, None, None)
        except TimeoutError as exc:
            raise errors.ProviderTimeout(
                f"OpenAI did not finish within {self._timeout:g} s (OPENAI_IMAGE_MCP_REQUEST_TIMEOUT).",
                request_id=request_id,
            ) from exc
        except openai.OpenAIError as exc:
            raise map_exception(exc) from exc
        except httpx2.HTTPError as exc:  # the stream broke after the status line
            raise errors.ProviderUnavailable(
                f"The connection to OpenAI broke mid-stream: {exc}", request_id=request_id
            ) from exc
        return finals, request_id

    @staticmethod
    async def _dispatch(
        event: dict[str, Any], events: EventSink | None, finals: list[dict[str, Any]], request_id: str | None
    ) -> None:
        kind = event.get("type", "")
        if kind in _PARTIAL_EVENTS:
            if events is not None:
                b64 = str(event.get("partial_image_b64") or event.get("b64_json") or "")
                await events(ProviderEvent("partial", int(event.get("partial_image_index", 0)), b64))
        elif kind in _GENERATING_EVENTS:
            if events is not None:
                await events(ProviderEvent("generating"))
        elif kind in _FINAL_EVENTS:
            finals.append(event)
        elif kind == "error" or ("error" in event and kind not in _FINAL_EVENTS):
            nested = event.get("error")
            raise response_error(nested if isinstance(nested, dict) else event, request_id)

    async def respond(self, request: TurnRequest, events: EventSink | None = None) -> ProviderResult:
        tool = image_tool(request.image_model, request.options)
        tool["partial_images"] = request.partial_images
        if request.mask is not None:
            tool["input_image_mask"] = request.mask.as_mask()
        if request.input_fidelity:
            tool["input_fidelity"] = request.input_fidelity
        kwargs: dict[str, Any] = {
            "model": request.mainline_model,
            "input": build_turn_input(request),
            "instructions": request.instructions,
            "tools": [tool],
            "tool_choice": {"type": "image_generation"} if request.tool_choice == "image_generation" else "auto",
            "store": request.store,
        }
        if request.previous_response_id:
            kwargs["previous_response_id"] = request.previous_response_id
        finals, request_id = await self._stream(self._client.responses.with_streaming_response.create, events, **kwargs)
        if not finals:
            raise errors.ProviderUnavailable("OpenAI's stream ended before the response was complete.")
        # base64-decoding megabytes of image data is CPU work: keep it off the event loop
        response = finals[-1].get("response") or {}
        return await anyio.to_thread.run_sync(parse_response, response, request.options, request_id)

    async def generate(self, request: ImagesRequest, events: EventSink | None = None) -> ProviderResult:
        opts = image_params(request.options)
        finals, request_id = await self._stream(
            self._client.images.with_streaming_response.generate,
            events,
            model=request.model,
            prompt=request.prompt,
            n=request.n,
            partial_images=request.partial_images,
            **opts,
        )
        return await anyio.to_thread.run_sync(parse_image_events, finals, request.options, request_id)

    async def edit(self, request: EditRequest, events: EventSink | None = None) -> ProviderResult:
        opts = image_params(request.options)
        opts.pop("moderation", None)  # the SDK's multipart edit has no moderation parameter
        files = [(f.filename, f.data, f.mime_type) for f in request.images]
        extra: dict[str, Any] = {}
        if request.mask is not None:
            extra["mask"] = ("mask.png", request.mask, "image/png")
        if request.input_fidelity:
            extra["input_fidelity"] = request.input_fidelity
        finals, request_id = await self._stream(
            self._client.images.with_streaming_response.edit,
            events,
            image=files[0] if len(files) == 1 else files,
            model=request.model,
            prompt=request.prompt,
            n=1,
            partial_images=request.partial_images,
            **extra,
            **opts,
        )
        return await anyio.to_thread.run_sync(parse_image_events, finals, request.options, request_id)

    async def upload_file(self, data: bytes, filename: str, mime_type: str) -> str:
        try:
            with anyio.fail_after(self._timeout):
                created = await self._client.files.create(file=(filename, data, mime_type), purpose="vision")
        except TimeoutError as exc:
            raise errors.ProviderTimeout("Uploading the image to OpenAI timed out.") from exc
        except openai.OpenAIError as exc:
            raise map_exception(exc) from exc
        return str(created.id)

    async def list_models(self) -> dict[str, str | None]:
        try:
            with anyio.fail_after(30):
                page = await self._client.models.list()
        except TimeoutError as exc:
            raise errors.ProviderTimeout("Listing the models timed out.") from exc
        except openai.OpenAIError as exc:
            raise map_exception(exc) from exc
        out: dict[str, str | None] = {}
        for model in page.data:
            extra = model.model_extra or {}
            value = extra.get("shutdown_date")
            out[str(model.id)] = str(value) if value else None
        return out

    async def delete_file(self, file_id: str) -> None:
        try:
            with anyio.fail_after(30):
                await self._client.files.delete(file_id)
        except openai.NotFoundError:
            return
        except TimeoutError as exc:
            raise errors.ProviderTimeout(f"Deleting {file_id} from OpenAI timed out.") from exc
        except openai.OpenAIError as exc:
            raise map_exception(exc) from exc
