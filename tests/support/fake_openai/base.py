"""The state every part of the fake shares, and the helpers the endpoint mixins and the ASGI plumbing call."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import TYPE_CHECKING, Any

from tests.support import openai_schemas
from tests.support.fake_openai.helpers import ApiError, _QueuedError
from tests.support.fake_openai.records import Disconnect, RecordedRequest

if TYPE_CHECKING:
    import uvicorn


class _FakeBase:
    """Attributes set by :meth:`FakeOpenAI.__init__ <tests.support.fake_openai.FakeOpenAI>`, declared here for the
    mixins, and the helpers they share."""

    latency: float
    validate: bool
    flat_images: bool
    requests: list[RecordedRequest]
    schema_errors: list[str]
    disconnects: list[Disconnect]
    internal_errors: list[str]
    files: dict[str, bytes]
    port: int
    #: bearer tokens answered with 401 ``invalid_api_key`` (a wrong or revoked key)
    invalid_keys: set[str]
    _file_objects: dict[str, dict[str, Any]]
    _responses: dict[str, dict[str, Any]]
    _items: dict[str, dict[str, Any]]
    _errors: collections.deque[_QueuedError]
    _lock: threading.Lock
    #: notified (under ``_lock``) whenever a request or a disconnect is recorded
    _recorded: threading.Condition
    _server: uvicorn.Server | None
    _thread: threading.Thread | None
    _loop: asyncio.AbstractEventLoop | None
    _closing: asyncio.Future[None] | None
    #: while :meth:`FakeOpenAI.hold` is in effect, a future on the fake's loop that :meth:`FakeOpenAI.release` resolves
    _gate: asyncio.Future[None] | None
    _thread_error: BaseException | None

    def _note_disconnect(self, record: RecordedRequest) -> None:
        record.disconnected = True
        record.handled_seconds = time.monotonic() - record.received_at
        with self._lock:
            self.disconnects.append(Disconnect(record.path, time.monotonic()))
            self._recorded.notify_all()

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

    @staticmethod
    def _partial_size(width: int, height: int, long_side: int = 256) -> tuple[int, int]:
        scale = min(1.0, long_side / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))
