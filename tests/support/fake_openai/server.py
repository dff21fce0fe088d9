"""The fake itself: state, lifecycle (uvicorn in a background thread) and the controls tests use."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from tests.support.fake_openai.helpers import _QueuedError
from tests.support.fake_openai.models_api import default_models
from tests.support.fake_openai.records import Disconnect, RecordedRequest
from tests.support.fake_openai.routing import _Endpoints


class FakeOpenAI(_Endpoints):
    """A loopback fake of the OpenAI API; see the docstring of the package, ``tests.support.fake_openai``."""

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
        #: the Models API catalogue (id -> model object); edit it to announce a shutdown date or remove a model
        self.models: dict[str, dict[str, Any]] = default_models()
        #: model ids whose ``GET /models/{id}`` answers 403 "Your organization must be verified to use the model"
        self.unverified_models: set[str] = set()
        #: bearer tokens answered with 401 ``invalid_api_key`` on every request (a wrong or revoked key)
        self.invalid_keys: set[str] = set()
        self._file_objects: dict[str, dict[str, Any]] = {}
        self._responses: dict[str, dict[str, Any]] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._errors: collections.deque[_QueuedError] = collections.deque()
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Future[None] | None = None
        self._gate: asyncio.Future[None] | None = None
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
        """Forget recorded requests, errors, disconnects, queued errors, stored responses and files, restore the
        model catalogue, the verified organisation and the valid keys, and :meth:`release` held answers."""
        with self._lock:
            self.models = default_models()
            self.unverified_models.clear()
            self.invalid_keys.clear()
            self.requests.clear()
            self.schema_errors.clear()
            self.disconnects.clear()
            self.internal_errors.clear()
            self._errors.clear()
            self._responses.clear()
            self._items.clear()
            self.files.clear()
            self._file_objects.clear()
        loop = self._loop
        if self._gate is not None and loop is not None and not loop.is_closed():
            self.release()

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``path_suffix`` (and with that method)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix) and (method is None or r.method == method)]

    def wait_for_requests(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests are recorded (the fake notifies as it records each one, before it
        answers). False if ``timeout`` seconds pass first: a safety net against a hang, not a measurement."""
        return self._wait_until(lambda: len(self.requests) >= count, timeout)

    def wait_for_disconnects(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` disconnects are recorded in :attr:`disconnects` (the fake notifies as it
        records each one). False if ``timeout`` seconds pass first: a safety net against a hang, not a measurement."""
        return self._wait_until(lambda: len(self.disconnects) >= count, timeout)

    async def wait_for_requests_async(self, count: int = 1, timeout: float = 10.0) -> bool:
        """:meth:`wait_for_requests` in a worker thread, so the caller's event loop keeps running its clients."""
        return await asyncio.to_thread(self.wait_for_requests, count, timeout)

    async def wait_for_disconnects_async(self, count: int = 1, timeout: float = 10.0) -> bool:
        """:meth:`wait_for_disconnects` in a worker thread, so the caller's event loop keeps running its clients."""
        return await asyncio.to_thread(self.wait_for_disconnects, count, timeout)

    def hold(self) -> None:
        """From now on hold every answer back, once its latency is over, until :meth:`release`: requests are recorded
        and then wait, so a test can see many in flight at once. While held, every request waits this way, even with
        latency 0, and so does each step of a stream. A client that goes away meanwhile is still recorded in
        :attr:`disconnects`, and :meth:`stop` still answers 503. Takes effect before it returns."""

        def close_gate() -> None:
            if self._gate is None:
                self._gate = asyncio.get_running_loop().create_future()

        self._on_loop(close_gate)

    def release(self) -> None:
        """Let the answers held by :meth:`hold` go (each at once, or when its latency is over); no-op if not held."""

        def open_gate() -> None:
            gate, self._gate = self._gate, None
            if gate is not None and not gate.done():
                gate.set_result(None)

        self._on_loop(open_gate)

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the fake's event loop and wait until it has run."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("FakeOpenAI is not started")

        async def run() -> None:
            action()

        asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._recorded:
            return self._recorded.wait_for(predicate, timeout)
