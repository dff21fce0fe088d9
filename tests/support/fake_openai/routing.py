"""The fake's ASGI app: receipt time and request ids, recording, latency, error envelopes and routing."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.fake_openai.asgi import _NoResponse, _SSEResponse, _Watch
from tests.support.fake_openai.files_api import _FilesMixin
from tests.support.fake_openai.helpers import ApiError, _dumps, _hex, _Reply, _Stream
from tests.support.fake_openai.images_api import _ImagesMixin
from tests.support.fake_openai.models_api import _ModelsMixin
from tests.support.fake_openai.records import Message, Receive, RecordedRequest, Scope, Send, UploadedPart
from tests.support.fake_openai.responses_api import _ResponsesMixin


class _Endpoints(_FilesMixin, _ImagesMixin, _ModelsMixin, _ResponsesMixin):
    """The app and the router in front of the endpoint mixins."""

    def _build_app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
        starlette = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=methods)])

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await starlette(scope, receive, send)
                return
            received_at = time.monotonic()
            request_id = "req_" + _hex(32)
            holder: dict[str, Any] = {"received_at": received_at, "request_id": request_id, "record": None}
            scope["fake_openai"] = holder

            async def timed_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    if not any(k.lower() == b"x-request-id" for k, _ in headers):
                        headers.append((b"x-request-id", request_id.encode()))
                    ms = int((time.monotonic() - received_at) * 1000)
                    headers.append((b"openai-processing-ms", str(ms).encode()))
                    message = {**message, "headers": headers}
                    holder["status"] = message["status"]
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    # Filled in just before the last write, so a client that has read the whole answer always sees it.
                    record: RecordedRequest | None = holder["record"]
                    if record is not None:
                        record.status = holder.get("status")
                        record.handled_seconds = time.monotonic() - received_at
                await send(message)

            await starlette(scope, receive, timed_send)

        return app

    async def _read_form(self, request: Request) -> tuple[dict[str, list[str]], dict[str, list[UploadedPart]]]:
        form: dict[str, list[str]] = {}
        files: dict[str, list[UploadedPart]] = {}
        async with request.form(max_files=1000, max_fields=1000, max_part_size=64 * 1024 * 1024) as data:
            for key, value in data.multi_items():
                if isinstance(value, UploadFile):
                    content = await value.read()
                    files.setdefault(key, []).append(UploadedPart(value.filename, value.content_type, content))
                else:
                    form.setdefault(key, []).append(value)
        return form, files

    async def _endpoint(self, request: Request) -> Any:
        holder: dict[str, Any] = request.scope["fake_openai"]
        received_at: float = holder["received_at"]
        body = await request.body()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}
        content_type = headers.get("content-type", "")
        parsed_json: Any = None
        json_error = False
        form: dict[str, list[str]] | None = None
        files: dict[str, list[UploadedPart]] = {}
        form_error: str | None = None
        if body and "json" in content_type:
            try:
                parsed_json = json.loads(body)
            except ValueError:
                json_error = True
        elif content_type.startswith("multipart/form-data"):
            try:
                form, files = await self._read_form(request)
            except Exception as exc:
                form_error = str(exc)
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers=headers,
            body=body,
            json=parsed_json if isinstance(parsed_json, dict) else None,
            form=form,
            files=files,
            received_at=received_at,
            query=request.url.query,
            request_id=holder["request_id"],
        )
        holder["record"] = record
        with self._lock:
            self.requests.append(record)
            self._recorded.notify_all()

        latency = max(0.0, float(self.latency))
        assert self._closing is not None
        held = self._gate is not None
        watch = _Watch(request.receive, self._closing, lambda: self._gate) if latency > 0 or held else None
        try:
            try:
                result = await self._route(request, record, latency, json_error, form_error)
            except ApiError as err:
                result = _Reply(err.status, err.body, err.headers)
            except Exception:
                trace = traceback.format_exc()
                with self._lock:
                    self.internal_errors.append(trace)
                result = _Reply(500, ApiError(500, "FakeOpenAI internal error:\n" + trace, type="server_error").body)
            record.scheduled = [offset for offset, _ in result.steps] if isinstance(result, _Stream) else [latency]
            if isinstance(result, _Stream):
                response = _SSEResponse(self, record, result, watch)
                watch = None  # owned by the response now
                return response
            if watch is not None:
                state = await watch.wait(received_at + latency - time.monotonic())
                if state == "disconnect":
                    self._note_disconnect(record)
                    return _NoResponse()
                if state == "closing":
                    result = _Reply(503, ApiError(503, "FakeOpenAI is shutting down.", type="server_error").body)
            if isinstance(result.body, bytes):
                return Response(
                    result.body,
                    status_code=result.status,
                    headers=result.headers,
                    media_type="application/octet-stream",
                )
            return Response(
                _dumps(result.body), status_code=result.status, headers=result.headers, media_type="application/json"
            )
        finally:
            if watch is not None:
                watch.close()

    async def _route(
        self, request: Request, record: RecordedRequest, latency: float, json_error: bool, form_error: str | None
    ) -> _Reply | _Stream:
        method, path = record.method, record.path
        auth = record.headers.get("authorization")
        if not auth:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if record.bearer is None or record.bearer in self.invalid_keys:
            raise ApiError(
                401,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        queued = self._pop_error(path)
        if queued is not None:
            return _Reply(queued.status, queued.body, queued.headers)
        if json_error:
            raise ApiError(400, "We could not parse the JSON body of your request.")
        if form_error is not None:
            raise ApiError(400, f"Could not parse the multipart form: {form_error}")

        parts = path.rstrip("/").split("/")
        if len(parts) < 2 or parts[1] != "v1":
            raise self._not_found(method, path)
        rest = parts[2:]
        if rest == ["responses"] and method == "POST":
            return await self._responses_create(record, latency)
        if len(rest) == 2 and rest[0] == "responses":
            if method == "GET":
                return self._responses_get(rest[1])
            if method == "DELETE":
                return self._responses_delete(rest[1])
        if rest == ["models"] and method == "GET":
            return self._models_list()
        if len(rest) == 2 and rest[0] == "models" and method == "GET":
            return self._models_get(rest[1])
        if rest == ["images", "generations"] and method == "POST":
            return await self._images(record, latency, edit=False)
        if rest == ["images", "edits"] and method == "POST":
            return await self._images(record, latency, edit=True)
        if rest == ["files"]:
            if method == "POST":
                return self._files_create(record)
            if method == "GET":
                with self._lock:
                    data = list(self._file_objects.values())
                return _Reply(200, {"object": "list", "data": data, "has_more": False})
        if len(rest) == 2 and rest[0] == "files":
            if method == "GET":
                return _Reply(200, self._file_object(rest[1]))
            if method == "DELETE":
                self._file_object(rest[1])
                with self._lock:
                    self._file_objects.pop(rest[1], None)
                    self.files.pop(rest[1], None)
                return _Reply(200, {"id": rest[1], "object": "file", "deleted": True})
        if len(rest) == 3 and rest[0] == "files" and rest[2] == "content" and method == "GET":
            self._file_object(rest[1])
            return _Reply(200, self.files[rest[1]])
        raise self._not_found(method, path)

    @staticmethod
    def _not_found(method: str, path: str) -> ApiError:
        return ApiError(404, f"Invalid URL ({method} {path})")
