"""Streaming and ASGI plumbing: racing waits against a disconnect or shutdown, and the SSE response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from tests.support.fake_openai.helpers import _Stream
from tests.support.fake_openai.records import Receive, RecordedRequest, Scope, Send

if TYPE_CHECKING:
    from tests.support.fake_openai.base import _FakeBase


class _Watch:
    """Races waits against the client disconnecting and the fake shutting down. ``gate`` returns the future of
    :meth:`FakeOpenAI.hold <tests.support.fake_openai.FakeOpenAI.hold>` (None when nothing is held): once the time is
    up, a wait also waits for it."""

    def __init__(
        self,
        receive: Receive,
        closing: asyncio.Future[None],
        gate: Callable[[], asyncio.Future[None] | None] | None = None,
    ) -> None:
        self._receive = receive
        self._closing = closing
        self._gate = gate
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
        gate = self._gate() if self._gate is not None else None
        if gate is not None:
            await asyncio.wait({self._task, self._closing, gate}, return_when=asyncio.FIRST_COMPLETED)
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
    def __init__(self, fake: _FakeBase, record: RecordedRequest, stream: _Stream, watch: _Watch | None) -> None:
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
