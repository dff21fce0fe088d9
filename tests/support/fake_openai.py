"""A loopback fake of the OpenAI API for tests and benchmarks.

A Starlette app served by uvicorn on ``127.0.0.1`` (an OS-chosen port) in a background thread with its own event loop,
so sync tests, async tests and benchmark scripts can all point the real ``openai`` client at it::

    with FakeOpenAI(latency=0.05) as fake:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0)
        ...
        assert fake.schema_errors == []

Served under ``/v1``: ``POST /responses`` (+ SSE), ``GET``/``DELETE /responses/{id}``, ``POST /images/generations``
(+ SSE), ``POST /images/edits`` (multipart or JSON, + SSE), ``POST``/``GET /files``, ``GET``/``DELETE /files/{id}``,
``GET /files/{id}/content``. Anything else is a 404 error envelope.

Images are real (Pillow): smooth gradients plus per-pixel noise, so a 1024x1024 PNG weighs about 2.5 MB like a photo.
They are cached per (width, height, format, transparent), base64 included, so after the first request the fake's own
time is a few milliseconds.

Keyword triggers in the prompt (Images API) or the newest user text (Responses API):

* ``[moderation]``: Images API -> HTTP 400 ``moderation_blocked``; Responses -> a failed ``image_generation_call``.
* ``[no-image]`` (Responses): no image call, only a message "I can't draw that, but here is a description: ...".
* ``[text-too]`` (Responses): the image call plus a message with a longer text.

Every request sleeps ``latency`` seconds counted from its receipt (asyncio, so hundreds can wait at once); streams
spread it (first partial image at 30 %, the others evenly up to 90 %, the final events at 100 %). A client that goes
away while waiting is recorded in ``disconnects``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import io
import itertools
import json
import math
import re
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import uvicorn
from PIL import Image, ImageChops
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import openai_schemas

__all__ = [
    "Disconnect",
    "FakeOpenAI",
    "RecordedRequest",
    "UploadedPart",
    "make_photo_like",
    "photo_like_b64",
]

Json = Any
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# --------------------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class UploadedPart:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """A request as the fake received it. ``handled_seconds`` (and ``status``) are filled in when the answer's last
    byte has been written: the fake's own time from receipt, including the configured latency."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: dict[str, Any] | None
    form: dict[str, list[str]] | None
    files: dict[str, list[UploadedPart]]
    received_at: float
    handled_seconds: float = 0.0
    query: str = ""
    request_id: str = ""
    status: int | None = None
    disconnected: bool = False

    @property
    def bearer(self) -> str | None:
        """The bearer token of the ``Authorization`` header, if any."""
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class Disconnect:
    """A request whose client went away before the answer was complete."""

    path: str
    at: float


# --------------------------------------------------------------------------------------------------------------------
# Photo-like images


class _B64(str):
    """A base64 string that also keeps its ASCII bytes, so JSON answers can splice it in (see ``_dumps``)."""

    raw: bytes

    @classmethod
    def of(cls, data: bytes) -> _B64:
        raw = base64.b64encode(data)
        value = cls(raw.decode("ascii"))
        value.raw = raw
        return value


_IMAGE_CACHE: collections.OrderedDict[tuple[int, int, str, bool, bool], tuple[bytes, str]] = collections.OrderedDict()
_IMAGE_CACHE_BUDGET = 256 * 1024 * 1024  # bytes of images + base64 kept; least recently used go first
_IMAGE_LOCK = threading.Lock()
_FORMATS = ("png", "jpeg", "webp", "gif", "svg")
MAX_SIDE = 4096


def _norm_format(fmt: str) -> str:
    fmt = fmt.lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in _FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    return fmt


def _render(width: int, height: int, fmt: str, transparent: bool, flat: bool = False) -> bytes:
    if fmt == "svg":
        opacity = ' fill-opacity="0.6"' if transparent else ""
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            '<defs><linearGradient id="g"><stop offset="0" stop-color="#2a6f97"/>'
            '<stop offset="1" stop-color="#f4a261"/>'
            f'</linearGradient></defs><rect width="{width}" height="{height}" fill="url(#g)"{opacity}/></svg>'
        )
        return svg.encode()
    size = (width, height)
    resample = Image.Resampling.BILINEAR
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size, resample),
            Image.linear_gradient("L").rotate(90).resize(size, resample),
            Image.radial_gradient("L").resize(size, resample),
        ],
    )
    img: Image.Image = base
    if not flat:  # per-pixel noise makes the PNG as large as a photo's; flat images are small and cheap
        noise = Image.merge("RGB", [Image.effect_noise(size, 8) for _ in range(3)])
        img = ImageChops.add(base, noise, 1.0, -128)
    if transparent:
        # opaque disc in the middle, fully transparent corners, a soft ring between
        lut = [255 if v < 100 else 0 if v > 140 else (140 - v) * 6 for v in range(256)]
        alpha = Image.radial_gradient("L").resize(size, resample).point(lut)
        img = img.convert("RGBA")
        img.putalpha(alpha)
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=1)
    elif fmt == "jpeg":
        img.save(buf, format="JPEG", quality=90)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=90, method=0)
    else:  # gif
        img.save(buf, format="GIF")
    return buf.getvalue()


def _photo(
    width: int, height: int, fmt: str = "png", transparent: bool = False, flat: bool = False
) -> tuple[bytes, str]:
    fmt = _norm_format(fmt)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} out of range")
    key = (width, height, fmt, bool(transparent), flat)
    with _IMAGE_LOCK:
        hit = _IMAGE_CACHE.get(key)
        if hit is not None:
            _IMAGE_CACHE.move_to_end(key)
            return hit
    data = _render(width, height, fmt, bool(transparent), flat)
    value = (data, _B64.of(data))
    with _IMAGE_LOCK:
        _IMAGE_CACHE[key] = value
        total = sum(3 * len(d) for d, _ in _IMAGE_CACHE.values())  # data + base64 str + base64 bytes ~ 3x data
        while total > _IMAGE_CACHE_BUDGET and len(_IMAGE_CACHE) > 1:
            _, (old, _) = _IMAGE_CACHE.popitem(last=False)
            total -= 3 * len(old)
    return value


def make_photo_like(width: int, height: int, *, fmt: str = "png", transparent: bool = False) -> bytes:
    """A real, photo-like image (gradients plus noise) of the given size and format (png, jpeg, webp, gif or svg).
    With ``transparent`` the image is RGBA and its corners have alpha 0. Cached."""
    return _photo(width, height, fmt, transparent)[0]


def photo_like_b64(width: int, height: int, *, fmt: str = "png", transparent: bool = False) -> str:
    """Base64 of :func:`make_photo_like` (cached too)."""
    return _photo(width, height, fmt, transparent)[1]


async def _photo_async(width: int, height: int, fmt: str, transparent: bool, flat: bool = False) -> tuple[bytes, str]:
    key = (width, height, _norm_format(fmt), bool(transparent), flat)
    with _IMAGE_LOCK:
        hit = _IMAGE_CACHE.get(key)
    if hit is not None:
        return hit
    return await asyncio.to_thread(_photo, width, height, fmt, transparent, flat)


# --------------------------------------------------------------------------------------------------------------------
# Errors and small helpers


class ApiError(Exception):
    """Raised by handlers; answered as an OpenAI error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "error": {"message": message, "type": type, "param": param, "code": code, **(extra or {})}
        }
        self.headers = dict(headers or {})


@dataclass
class _QueuedError:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    path: str | None


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Stream:
    """SSE steps: (seconds after receipt, encoded events)."""

    steps: list[tuple[float, list[bytes]]]
    headers: dict[str, str] = field(default_factory=dict)


def _hex(n: int = 24) -> str:
    return secrets.token_hex(n // 2)


_B64_TOKEN = "@@fake-openai-b64-" + secrets.token_hex(8) + "@@"
_B64_SPLIT = b'"' + _B64_TOKEN.encode() + b'"'


def _swap_b64(obj: Any, blobs: list[bytes]) -> Any:
    if isinstance(obj, _B64):
        blobs.append(obj.raw)
        return _B64_TOKEN
    if isinstance(obj, dict):
        return {k: _swap_b64(v, blobs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_swap_b64(v, blobs) for v in obj]
    return obj


def _dumps(obj: Any) -> bytes:
    """Compact JSON. Cached base64 images (``_B64``) are spliced in as bytes: JSON-encoding a 3 MB string would take
    ~7 ms, splicing ~0.3 ms."""
    blobs: list[bytes] = []
    text = json.dumps(_swap_b64(obj, blobs), separators=(",", ":"), ensure_ascii=False).encode()
    if not blobs:
        return text
    pieces = text.split(_B64_SPLIT)
    if len(pieces) != len(blobs) + 1:  # the token occurred in user text: fall back to plain encoding
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    out: list[bytes] = [pieces[0]]
    for blob, piece in zip(blobs, pieces[1:], strict=True):
        out += (b'"', blob, b'"', piece)
    return b"".join(out)


def _sse(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + _dumps(event) + b"\n\n"


def _partial_offsets(latency: float, count: int) -> list[float]:
    if count <= 0:
        return []
    if count == 1:
        return [0.3 * latency]
    return [latency * (0.3 + 0.6 * i / (count - 1)) for i in range(count)]


_SIZE_RE = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
_OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
_INT_FORM_FIELDS = frozenset({"n", "output_compression", "partial_images", "frame_count", "frame_duration_ms"})
_BOOL_FORM_FIELDS = frozenset({"stream"})
_FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
_MODERATION_MESSAGE = (
    "Your request was rejected by the safety system. If you believe this is an error, contact us at "
    "help.openai.com and include the request ID {request_id}. safety_violations=[{category}]."
)


def _parse_size(value: Any, param: str) -> tuple[int, int]:
    if value is None or value == "auto":
        return 1024, 1024
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ApiError(
            400, f"Invalid value: '{value}'. Size must be 'auto' or WIDTHxHEIGHT.", param=param, code="invalid_value"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ApiError(
            400,
            f"Invalid size '{value}': the longest edge may be at most {MAX_SIDE}.",
            param=param,
            code="invalid_value",
        )
    return width, height


def _resolve_quality(value: Any) -> str:
    if value in (None, "auto", "standard"):
        return "medium"
    if value == "hd":
        return "high"
    return str(value)


def _resolve_format(value: Any, param: str) -> str:
    fmt = "png" if value is None else str(value)
    if fmt not in _FORMATS:
        raise ApiError(
            400,
            f"Invalid value: '{fmt}'. Supported values are: {', '.join(_FORMATS)}.",
            param=param,
            code="invalid_value",
        )
    return fmt


def _resolve_background(value: Any, fmt: str, param: str) -> str:
    if value == "transparent":
        if fmt not in ("png", "webp", "gif", "svg"):
            raise ApiError(
                400,
                "Transparent background is only supported for png and webp output formats.",
                param=param,
                code="invalid_value",
            )
        return "transparent"
    return "opaque"


def _image_output_tokens(quality: str, width: int, height: int) -> int:
    base = _OUTPUT_TOKENS_1024.get(quality, _OUTPUT_TOKENS_1024["medium"])
    return max(1, round(base * width * height / (1024 * 1024)))


def _image_input_tokens(size: tuple[int, int] | None) -> int:
    if size is None:
        return 765
    tiles = math.ceil(size[0] / 512) * math.ceil(size[1] / 512)
    return 85 + 170 * tiles


def _text_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _last(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[-1] if values else None


def _decode_image(data: bytes) -> tuple[int, int]:
    """Size of an image that Pillow can read; raises ValueError otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            img.verify()
    except Exception as exc:
        raise ValueError(str(exc)) from exc
    return size


def _decode_data_url(url: str) -> bytes | None:
    """Bytes of a base64 ``data:`` URL; None for other URLs. Raises ValueError for a broken data URL."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("not a base64 data URL")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid base64") from exc


# --------------------------------------------------------------------------------------------------------------------
# Disconnect watching


class _Watch:
    """Races waits against the client disconnecting and the fake shutting down."""

    def __init__(self, receive: Receive, closing: asyncio.Future[None]) -> None:
        self._receive = receive
        self._closing = closing
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message.get("type") == "http.disconnect":
                return

    async def wait(self, seconds: float) -> Literal["ok", "disconnect", "closing"]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())
        if self._task.done():
            return "disconnect"
        if self._closing.done():
            return "closing"
        if seconds > 0:
            await asyncio.wait({self._task, self._closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            if self._task.done():
                return "disconnect"
            if self._closing.done():
                return "closing"
        return "ok"

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class _NoResponse:
    """An ASGI 'response' that sends nothing (the client is gone)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class _SSEResponse:
    def __init__(self, fake: FakeOpenAI, record: RecordedRequest, stream: _Stream, watch: _Watch | None) -> None:
        self._fake = fake
        self._record = record
        self._stream = stream
        self._watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *[(k.lower().encode(), v.encode()) for k, v in self._stream.headers.items()],
        ]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for offset, chunks in self._stream.steps:
                if self._watch is not None:
                    state = await self._watch.wait(self._record.received_at + offset - time.monotonic())
                    if state == "disconnect":
                        self._fake._note_disconnect(self._record)
                        return
                    if state == "closing":
                        break
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            self._fake._note_disconnect(self._record)
        finally:
            if self._watch is not None:
                self._watch.close()


# --------------------------------------------------------------------------------------------------------------------
# The fake


class FakeOpenAI:
    """A loopback fake of the OpenAI API; see the module docstring."""

    def __init__(self, *, latency: float = 0.0, validate: bool = True, flat_images: bool = False) -> None:
        self.latency = latency
        self.validate = validate
        #: smooth images without noise (tens of KB instead of megabytes), for load runs
        self.flat_images = flat_images
        self.requests: list[RecordedRequest] = []
        self.schema_errors: list[str] = []
        self.disconnects: list[Disconnect] = []
        self.internal_errors: list[str] = []
        self.files: dict[str, bytes] = {}
        self._file_objects: dict[str, dict[str, Any]] = {}
        self._responses: dict[str, dict[str, Any]] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._errors: collections.deque[_QueuedError] = collections.deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Future[None] | None = None
        self._thread_error: BaseException | None = None
        self.port = 0
        self.app = self._build_app()

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        if self._thread is not None:
            return self
        # proto=IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections (it checks sock.proto); without
        # it, Nagle's algorithm plus delayed ACKs add ~40 ms to every answer after the first on a connection.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            limit_concurrency=None,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            backlog=2048,
        )
        server = uvicorn.Server(config)
        self._server = server

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._closing = self._loop.create_future()
            await server.serve(sockets=[sock])

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # reported by start()/stop()
                self._thread_error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"FakeOpenAI:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(1)
                self._thread = None
                raise RuntimeError(f"FakeOpenAI did not start: {self._thread_error!r}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return
        if loop is not None and self._closing is not None and not loop.is_closed():
            closing = self._closing

            def _set_closing() -> None:
                if not closing.done():
                    closing.set_result(None)

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set_closing)
        server.should_exit = True
        thread.join(2)
        if thread.is_alive():
            server.force_exit = True
            thread.join(2)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- test controls ---------------------------------------------------------------------------------------------

    def enqueue_error(
        self,
        status: int,
        *,
        code: str | None = None,
        message: str = "Injected error from FakeOpenAI.",
        type: str = "invalid_request_error",
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next request whose path ends with ``path`` (any request when None) with this error envelope.
        FIFO; each entry is used once."""
        body = {"error": {"message": message, "type": type, "param": param, "code": code, **(extra or {})}}
        with self._lock:
            self._errors.append(_QueuedError(status, body, dict(headers or {}), path))

    def reset(self) -> None:
        """Forget recorded requests, errors, disconnects, queued errors, stored responses and files."""
        with self._lock:
            self.requests.clear()
            self.schema_errors.clear()
            self.disconnects.clear()
            self.internal_errors.clear()
            self._errors.clear()
            self._responses.clear()
            self._items.clear()
            self.files.clear()
            self._file_objects.clear()

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``path_suffix`` (and with that method)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix) and (method is None or r.method == method)]

    # ---- plumbing --------------------------------------------------------------------------------------------------

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

    def _note_disconnect(self, record: RecordedRequest) -> None:
        record.disconnected = True
        record.handled_seconds = time.monotonic() - record.received_at
        with self._lock:
            self.disconnects.append(Disconnect(record.path, time.monotonic()))

    def _schema_check(self, record: RecordedRequest, schema: str, body: Any) -> None:
        if not self.validate:
            return
        errors = openai_schemas.validate(schema, body)
        if errors:
            with self._lock:
                self.schema_errors.extend(f"{record.method} {record.path} ({schema}): {e}" for e in errors)
            first = errors[0]
            param = first.split(":", 1)[0].replace("/", ".") if not first.startswith("<body>") else None
            raise ApiError(
                400,
                f"Invalid request ({len(errors)} schema errors): " + "; ".join(errors)[:2000],
                param=param,
                code="invalid_request_body",
            )

    def _pop_error(self, path: str) -> _QueuedError | None:
        with self._lock:
            for i, queued in enumerate(self._errors):
                if queued.path is None or path.endswith(queued.path):
                    del self._errors[i]
                    return queued
        return None

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

        latency = max(0.0, float(self.latency))
        assert self._closing is not None
        watch = _Watch(request.receive, self._closing) if latency > 0 else None
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
        if record.bearer is None:
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
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

    # ---- files -----------------------------------------------------------------------------------------------------

    def _file_object(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            obj = self._file_objects.get(file_id)
        if obj is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return obj

    def _files_create(self, record: RecordedRequest) -> _Reply:
        if record.form is None:
            raise ApiError(400, "Expected a multipart/form-data body.")
        uploads = record.files.get("file")
        if not uploads:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = _last(record.form, "purpose")
        if purpose is None:
            raise ApiError(
                400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if purpose not in _FILE_PURPOSES:
            raise ApiError(400, f"Invalid value for 'purpose': '{purpose}'.", param="purpose", code="invalid_value")
        upload = uploads[0]
        file_id = "file-" + _hex(22)
        created = int(time.time())
        expires_at: int | None = None
        seconds = _last(record.form, "expires_after[seconds]")
        if seconds is not None and seconds.isdigit():
            expires_at = created + int(seconds)
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(upload.data),
            "created_at": created,
            "filename": upload.filename or "upload",
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": expires_at,
        }
        with self._lock:
            self.files[file_id] = upload.data
            self._file_objects[file_id] = obj
        return _Reply(200, obj)

    # ---- images API ------------------------------------------------------------------------------------------------

    def _image_ref(self, ref: Any, param: str) -> tuple[int, int] | None:
        """Check one JSON image reference ({image_url} | {file_id}); its size when known."""
        if not isinstance(ref, dict):
            raise ApiError(400, "Invalid image reference.", param=param)
        if ref.get("file_id") is not None:
            file_id = str(ref["file_id"])
            with self._lock:
                data = self.files.get(file_id)
            if data is None:
                raise ApiError(400, f"File '{file_id}' not found.", param=f"{param}.file_id", code="file_not_found")
        else:
            try:
                data = _decode_data_url(str(ref.get("image_url", "")))
            except ValueError as exc:
                raise ApiError(
                    400,
                    f"Invalid base64 image data URL: {exc}",
                    param=f"{param}.image_url",
                    code="invalid_base64_image",
                ) from exc
            if data is None:
                return None  # a remote URL: the fake cannot fetch it
        try:
            return _decode_image(data)
        except ValueError as exc:
            raise ApiError(
                400, f"Invalid image file or mode for {param}: {exc}", param=param, code="invalid_image_format"
            ) from exc

    def _edit_inputs(self, record: RecordedRequest) -> tuple[dict[str, Any], list[tuple[int, int] | None]]:
        """The edit parameters and the input image sizes, for multipart or JSON edits."""
        if record.form is not None:
            params: dict[str, Any] = {}
            for key, values in record.form.items():
                value: Any = values if len(values) > 1 else values[0]
                if key in _INT_FORM_FIELDS and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
                    value = int(value)
                elif key in _BOOL_FORM_FIELDS and isinstance(value, str) and value.lower() in ("true", "false"):
                    value = value.lower() == "true"
                params[key] = value
            images = [*record.files.get("image", []), *record.files.get("image[]", [])]
            for key, parts in record.files.items():
                if key in ("image", "image[]"):
                    continue
                params[key] = [f"<binary {len(p.data)} bytes>" for p in parts] if len(parts) > 1 else "<binary>"
            if images:
                as_list = "image[]" in record.files or len(images) > 1
                params["image"] = [f"<binary {len(p.data)} bytes>" for p in images] if as_list else "<binary>"
            self._schema_check(record, "CreateImageEditRequest", params)
            if not images:
                raise ApiError(
                    400, "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
                )
            sizes: list[tuple[int, int] | None] = []
            for i, part in enumerate(images):
                try:
                    sizes.append(_decode_image(part.data))
                except ValueError as exc:
                    raise ApiError(
                        400,
                        f"Invalid image file or mode for image {i + 1}, please check your image file: {exc}",
                        param="image",
                        code="invalid_image_format",
                    ) from exc
            masks = record.files.get("mask", [])
            if masks:
                try:
                    mask_size: tuple[int, int] | None = _decode_image(masks[0].data)
                except ValueError as exc:
                    raise ApiError(
                        400, f"Invalid mask image file: {exc}", param="mask", code="invalid_image_format"
                    ) from exc
                self._check_mask(mask_size, sizes[0])
            for part in record.files.get("markup", []):
                try:
                    _decode_image(part.data)
                except ValueError as exc:
                    raise ApiError(
                        400, f"Invalid markup image file: {exc}", param="markup", code="invalid_image_format"
                    ) from exc
            return params, sizes
        if record.json is None:
            raise ApiError(400, "Expected a multipart/form-data or JSON body.")
        params = dict(record.json)
        self._schema_check(record, "EditImageBodyJsonParam", params)
        refs = params.get("images")
        if not isinstance(refs, list) or not refs:
            raise ApiError(
                400, "Missing required parameter: 'images'.", param="images", code="missing_required_parameter"
            )
        sizes = [self._image_ref(ref, f"images[{i}]") for i, ref in enumerate(refs)]
        if params.get("mask") is not None:
            self._check_mask(self._image_ref(params["mask"], "mask"), sizes[0])
        return params, sizes

    @staticmethod
    def _check_mask(mask_size: tuple[int, int] | None, image_size: tuple[int, int] | None) -> None:
        if mask_size is not None and image_size is not None and mask_size != image_size:
            raise ApiError(400, "Invalid mask image: mask size must match image size", param="mask")

    async def _images(self, record: RecordedRequest, latency: float, *, edit: bool) -> _Reply | _Stream:
        input_sizes: list[tuple[int, int] | None] = []
        if edit:
            params, input_sizes = self._edit_inputs(record)
        else:
            if record.json is None:
                raise ApiError(400, "Expected a JSON object body.")
            params = record.json
            self._schema_check(record, "CreateImageRequest", params)
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise ApiError(
                400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
            )
        n = params.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 10:
            raise ApiError(
                400, f"Invalid value for 'n': {n!r}. Must be between 1 and 10.", param="n", code="invalid_value"
            )
        width, height = _parse_size(params.get("size"), "size")
        fmt = _resolve_format(params.get("output_format"), "output_format")
        background = _resolve_background(params.get("background"), fmt, "background")
        quality = _resolve_quality(params.get("quality"))
        if "[moderation]" in prompt:
            raise ApiError(
                400,
                _MODERATION_MESSAGE.format(request_id=record.request_id, category="sexual"),
                type="image_generation_user_error",
                code="moderation_blocked",
                extra={"moderation_details": {"moderation_stage": "output", "categories": ["sexual"]}},
            )
        stream = params.get("stream") is True
        partials = params.get("partial_images") or 0
        partials = max(0, min(3, int(partials))) if stream else 0
        _, b64 = await _photo_async(width, height, fmt, background == "transparent", self.flat_images)
        size = f"{width}x{height}"
        image_tokens = sum(_image_input_tokens(s) for s in input_sizes)
        text_tokens = _text_tokens(prompt)
        out_tokens = _image_output_tokens(quality, width, height) * n + 100 * partials * n
        usage = {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": out_tokens,
            "output_tokens_details": {"image_tokens": out_tokens, "text_tokens": 0},
            "total_tokens": text_tokens + image_tokens + out_tokens,
        }
        created = int(time.time())
        rate_headers = {
            "x-ratelimit-limit-images": "250",
            "x-ratelimit-remaining-images": "249",
            "x-ratelimit-reset-images": "240ms",
        }
        if not stream:
            body: dict[str, Any] = {
                "created": created,
                "background": background,
                "output_format": fmt,
                "quality": quality,
                "size": size,
                "data": [{"b64_json": b64} for _ in range(n)],
                "usage": usage,
            }
            safety = params.get("safety_identifier") or params.get("user")
            if safety:
                body["safety_identifier"] = safety
            return _Reply(200, body, rate_headers)

        prefix = "image_edit" if edit else "image_generation"
        common = {
            "created_at": created,
            "size": size,
            "quality": quality,
            "background": background,
            "output_format": fmt,
        }
        steps: list[tuple[float, list[bytes]]] = []
        if partials:
            pw, ph = self._partial_size(width, height)
            pfmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
            _, partial_b64 = await _photo_async(pw, ph, pfmt, background == "transparent", self.flat_images)
            for i, offset in enumerate(_partial_offsets(latency, partials)):
                events = [
                    _sse(
                        {"type": f"{prefix}.partial_image", "b64_json": partial_b64, "partial_image_index": i, **common}
                    )
                    for _ in range(n)
                ]
                steps.append((offset, events))
        final = [_sse({"type": f"{prefix}.completed", "b64_json": b64, **common, "usage": usage}) for _ in range(n)]
        steps.append((latency, final))
        return _Stream(steps, rate_headers)

    @staticmethod
    def _partial_size(width: int, height: int, long_side: int = 256) -> tuple[int, int]:
        scale = min(1.0, long_side / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))

    # ---- responses API ---------------------------------------------------------------------------------------------

    def _responses_get(self, response_id: str) -> _Reply:
        with self._lock:
            stored = self._responses.get(response_id)
        if stored is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.", param="response_id")
        return _Reply(200, stored["response"])

    def _responses_delete(self, response_id: str) -> _Reply:
        with self._lock:
            stored = self._responses.pop(response_id, None)
        if stored is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.", param="response_id")
        return _Reply(200, {"id": response_id, "object": "response.deleted", "deleted": True})

    @staticmethod
    def _normalize_input(raw: Any) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if isinstance(raw, str):
            return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
        if not isinstance(raw, list):
            raise ApiError(400, "Invalid type for 'input': expected a string or an array.", param="input")
        items: list[dict[str, Any]] = []
        for item in raw:
            if not isinstance(item, dict):
                raise ApiError(400, "Invalid input item.", param="input")
            item = dict(item)
            if "role" in item and "type" not in item:
                item["type"] = "message"
            if item.get("type") == "message" and isinstance(item.get("content"), str):
                text_type = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": text_type, "text": item["content"]}]
            items.append(item)
        return items

    @staticmethod
    def _latest_user_text(items: list[dict[str, Any]]) -> str:
        for item in reversed(items):
            if item.get("type") == "message" and item.get("role") == "user":
                texts = [
                    str(part.get("text", ""))
                    for part in item.get("content") or []
                    if isinstance(part, dict) and part.get("type") == "input_text"
                ]
                return "\n".join(texts)
        return ""

    def _chain(self, previous_id: str | None) -> list[dict[str, Any]]:
        """Stored responses from the oldest to ``previous_id``."""
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        with self._lock:
            while previous_id and previous_id not in seen:
                seen.add(previous_id)
                stored = self._responses.get(previous_id)
                if stored is None:
                    break
                chain.append(stored)
                previous_id = stored["previous_response_id"]
        chain.reverse()
        return chain

    def _input_images(
        self, items: Iterable[dict[str, Any]], *, check: bool
    ) -> tuple[list[tuple[int, int] | None], bool]:
        """Sizes of input_image parts in ``items``, and whether an earlier generated image is referenced."""
        sizes: list[tuple[int, int] | None] = []
        earlier = False
        for item in items:
            kind = item.get("type")
            if kind == "message":
                for part in item.get("content") or []:
                    if isinstance(part, dict) and part.get("type") == "input_image":
                        sizes.append(self._input_image(part) if check else None)
            elif kind == "image_generation_call" and item.get("result"):
                earlier = True
            elif kind == "item_reference":
                item_id = str(item.get("id"))
                with self._lock:
                    ref = self._items.get(item_id)
                if ref is None:
                    if check:
                        raise ApiError(400, f"Item with id '{item_id}' not found.", param="input")
                elif ref.get("type") == "image_generation_call" and ref.get("result"):
                    earlier = True
        return sizes, earlier

    def _input_image(self, part: dict[str, Any]) -> tuple[int, int] | None:
        file_id = part.get("file_id")
        if file_id:
            with self._lock:
                data = self.files.get(str(file_id))
            if data is None:
                raise ApiError(400, f"File '{file_id}' not found.", param="file_id", code="file_not_found")
        else:
            url = part.get("image_url")
            if not url:
                raise ApiError(400, "An input_image needs 'image_url' or 'file_id'.", param="input")
            try:
                data = _decode_data_url(str(url))
            except ValueError as exc:
                raise ApiError(
                    400, f"Invalid base64 image data URL: {exc}", param="input", code="invalid_base64_image"
                ) from exc
            if data is None:
                return None
        try:
            return _decode_image(data)
        except ValueError as exc:
            raise ApiError(
                400,
                f"The image data you provided does not represent a valid image: {exc}",
                param="input",
                code="invalid_image_format",
            ) from exc

    async def _responses_create(self, record: RecordedRequest, latency: float) -> _Reply | _Stream:
        body = record.json
        if body is None:
            raise ApiError(400, "Expected a JSON object body.")
        self._schema_check(record, "CreateResponse", body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        previous_id = body.get("previous_response_id")
        if previous_id is not None:
            with self._lock:
                known = previous_id in self._responses
            if not known:
                raise ApiError(
                    400,
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        chain = self._chain(previous_id)
        new_input = self._normalize_input(body.get("input"))
        input_sizes, earlier_image = self._input_images(new_input, check=True)
        for stored in chain:
            chain_sizes, chain_earlier = self._input_images(stored["input"], check=False)
            earlier_image = earlier_image or chain_earlier or bool(chain_sizes)
            earlier_image = earlier_image or any(
                o.get("type") == "image_generation_call" and o.get("result") for o in stored["output"]
            )

        tools = body.get("tools") or []
        tool_index, tool = next(
            ((i, t) for i, t in enumerate(tools) if isinstance(t, dict) and t.get("type") == "image_generation"),
            (-1, None),
        )
        text = self._latest_user_text(new_input)
        stream = body.get("stream") is True
        make_image = tool is not None and body.get("tool_choice") != "none" and "[no-image]" not in text

        output: list[dict[str, Any]] = []
        image_usage = {
            "input_tokens": 0,
            "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
            "output_tokens": 0,
            "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
            "total_tokens": 0,
        }
        partial_b64 = ""
        partials = 0
        if make_image:
            assert tool is not None
            param = f"tools[{tool_index}]"
            width, height = _parse_size(tool.get("size"), f"{param}.size")
            fmt = _resolve_format(tool.get("output_format"), f"{param}.output_format")
            background = _resolve_background(tool.get("background"), fmt, f"{param}.background")
            quality = _resolve_quality(tool.get("quality"))
            mask = tool.get("input_image_mask")
            if isinstance(mask, dict) and mask:
                self._input_image({"type": "input_image", **mask})
            action = tool.get("action")
            if action not in ("generate", "edit"):
                action = "edit" if input_sizes or earlier_image else "generate"
            item: dict[str, Any] = {
                "id": "ig_" + _hex(48),
                "type": "image_generation_call",
                "status": "completed",
                "result": None,
                "revised_prompt": "Revised: " + text,
                "action": action,
                "background": background,
                "output_format": fmt,
                "quality": quality,
                "size": f"{width}x{height}",
            }
            image_in = sum(_image_input_tokens(s) for s in input_sizes)
            if earlier_image and not input_sizes:
                image_in += _image_input_tokens((1024, 1024))
            text_in = _text_tokens(item["revised_prompt"])
            if "[moderation]" in text:
                item["status"] = "failed"
                item["error"] = {
                    "code": "moderation_blocked",
                    "message": "Your request was rejected by the safety system. safety_violations=[violence].",
                    "param": None,
                    "type": "image_generation_user_error",
                    "moderation_details": {"moderation_stage": "input", "categories": ["violence"]},
                }
                out_image = 0
            else:
                _, item["result"] = await _photo_async(
                    width, height, fmt, background == "transparent", self.flat_images
                )
                partials = max(0, min(3, int(tool.get("partial_images") or 0))) if stream else 0
                if partials:
                    pw, ph = self._partial_size(width, height)
                    pfmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
                    _, partial_b64 = await _photo_async(pw, ph, pfmt, background == "transparent", self.flat_images)
                out_image = _image_output_tokens(quality, width, height) + 100 * partials
            image_usage = {
                "input_tokens": text_in + image_in,
                "input_tokens_details": {"text_tokens": text_in, "image_tokens": image_in},
                "output_tokens": out_image,
                "output_tokens_details": {"image_tokens": out_image, "text_tokens": 0},
                "total_tokens": text_in + image_in + out_image,
            }
            output.append(item)

        if tool is None or body.get("tool_choice") == "none":
            reply = "I can only answer in words here: " + text
        elif "[no-image]" in text:
            reply = "I can't draw that, but here is a description: " + text
        elif output and output[0]["status"] == "failed":
            reply = "I couldn't create that image: it was blocked by the safety system."
        elif "[text-too]" in text:
            reply = (
                "Here is your image. I went for soft, even light and a shallow depth of field, kept the palette "
                "warm, and left some empty space on the left so a title can go there. Tell me what to change."
            )
        else:
            reply = "Here is your image."
        message = {
            "id": "msg_" + _hex(48),
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": reply, "annotations": [], "logprobs": []}],
        }
        output.append(message)

        input_tokens = max(1, len(record.body) // 4)
        output_tokens = _text_tokens(reply) + (20 if make_image else 0)
        now = int(time.time())
        response: dict[str, Any] = {
            "id": "resp_" + _hex(48),
            "object": "response",
            "created_at": now,
            "status": "completed",
            "completed_at": now,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "model": model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": previous_id,
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True) is not False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": tools,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
            "tool_usage": {"image_gen": image_usage, "web_search": {"num_requests": 0}},
            "user": None,
        }
        if response["store"]:
            with self._lock:
                self._responses[response["id"]] = {
                    "response": response,
                    "input": new_input,
                    "output": output,
                    "instructions": body.get("instructions"),
                    "model": model,
                    "previous_response_id": previous_id,
                }
                for out in output:
                    self._items[out["id"]] = out
        if not stream:
            return _Reply(200, response)
        return _Stream(self._response_events(response, latency, partials, partial_b64))

    @staticmethod
    def _response_events(
        response: dict[str, Any], latency: float, partials: int, partial_b64: str
    ) -> list[tuple[float, list[bytes]]]:
        seq = itertools.count()

        def ev(event: dict[str, Any]) -> bytes:
            event["sequence_number"] = next(seq)
            return _sse(event)

        snapshot = {
            **response,
            "status": "in_progress",
            "completed_at": None,
            "output": [],
            "usage": None,
            "tool_usage": None,
        }
        first = [
            ev({"type": "response.created", "response": snapshot}),
            ev({"type": "response.in_progress", "response": snapshot}),
        ]
        steps: list[tuple[float, list[bytes]]] = [(0.0, first)]
        final: list[bytes] = []
        for index, item in enumerate(response["output"]):
            if item["type"] == "image_generation_call":
                ids = {"item_id": item["id"], "output_index": index}
                added = {"id": item["id"], "type": "image_generation_call", "status": "in_progress", "result": None}
                first.append(ev({"type": "response.output_item.added", "output_index": index, "item": added}))
                first.append(ev({"type": "response.image_generation_call.in_progress", **ids}))
                first.append(ev({"type": "response.image_generation_call.generating", **ids}))
                if item["status"] == "completed":
                    extras = {k: item[k] for k in ("background", "output_format", "quality", "size")}
                    for i, offset in enumerate(_partial_offsets(latency, partials)):
                        event = {
                            "type": "response.image_generation_call.partial_image",
                            **ids,
                            "partial_image_b64": partial_b64,
                            "partial_image_index": i,
                            **extras,
                        }
                        steps.append((offset, [ev(event)]))
                    final.append(ev({"type": "response.image_generation_call.completed", **ids}))
                final.append(ev({"type": "response.output_item.done", "output_index": index, "item": item}))
            elif item["type"] == "message":
                part = item["content"][0]
                text: str = part["text"]
                ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
                added = {**item, "status": "in_progress", "content": []}
                final.append(ev({"type": "response.output_item.added", "output_index": index, "item": added}))
                empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                final.append(ev({"type": "response.content_part.added", **ids, "part": empty_part}))
                for delta in re.findall(r"\S+\s*", text) or [text]:
                    final.append(ev({"type": "response.output_text.delta", **ids, "delta": delta, "logprobs": []}))
                final.append(ev({"type": "response.output_text.done", **ids, "text": text, "logprobs": []}))
                final.append(ev({"type": "response.content_part.done", **ids, "part": part}))
                final.append(ev({"type": "response.output_item.done", "output_index": index, "item": item}))
        final.append(ev({"type": "response.completed", "response": response}))
        steps.append((latency, final))
        return steps
