"""Shared parts the flows are given: the provider, built on first use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.providers import openai_provider

if TYPE_CHECKING:
    from openai_image_mcp.providers.base import ImageProvider

#: The task group of the generation under way (a job's), where side work such as saving partial images runs
#: beside the main line; the job waits for it before it ends.
SIDE_TASKS: ContextVar[TaskGroup | None] = ContextVar("side_tasks", default=None)

A = TypeVar("A")
B = TypeVar("B")

ProviderFactory = Callable[[Settings], "ImageProvider"]


class ProviderHandle:
    """The provider, built on first use in a worker thread (the OpenAI SDK import takes a third of a second
    and must not stall the event loop)."""

    def __init__(self, settings: Settings, factory: ProviderFactory | None = None) -> None:
        self._settings = settings
        self._factory = factory or openai_provider
        self._provider: ImageProvider | None = None
        self._lock = anyio.Lock()

    async def get(self) -> ImageProvider:
        async with self._lock:
            if self._provider is None:
                self._provider = await anyio.to_thread.run_sync(self._factory, self._settings)
        return self._provider

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None


class Background:
    """Best-effort writes that leave a call's path (a remote store's conversation log), run in the server's task
    group, one at a time per key: asked again while running, the work runs once more after (so the last state
    wins). Unbound (no task group yet) the work runs inline. :meth:`drain` waits for what is left (at stop)."""

    def __init__(self) -> None:
        self._tg: TaskGroup | None = None
        self._running: dict[str, bool] = {}  # key -> asked again while running
        self._idle = anyio.Event()
        self._idle.set()

    def bind(self, tg: TaskGroup) -> None:
        self._tg = tg

    async def run(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        if self._tg is None:
            await work()
            return
        if key in self._running:
            self._running[key] = True
            return
        self._running[key] = False
        if self._idle.is_set():
            self._idle = anyio.Event()
        self._tg.start_soon(self._loop, key, work, name=f"background {key}")

    async def _loop(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        try:
            while True:
                await work()
                if not self._running.get(key):
                    break
                self._running[key] = False
        finally:
            self._running.pop(key, None)
            if not self._running:
                self._idle.set()

    async def drain(self, seconds: float = 10.0) -> None:
        with anyio.move_on_after(seconds):
            await self._idle.wait()


async def gather2(first: Callable[[], Awaitable[A]], second: Callable[[], Awaitable[B]]) -> tuple[A, B]:
    """Run two steps side by side (a round trip to a store beside CPU work in a thread); the first error raised
    (not a group of one), the other step cancelled."""
    results: dict[int, Any] = {}

    async def run(i: int, fn: Callable[[], Awaitable[Any]]) -> None:
        results[i] = await fn()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, 0, first)
            tg.start_soon(run, 1, second)
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None
    return results[0], results[1]


async def with_side_tasks(fn: Callable[[], Awaitable[A]]) -> A:
    """Run ``fn`` with a task group for its side work (:data:`SIDE_TASKS`: partial images saved beside it), waited
    for before this returns; inside one already (a job's), that one is used. ``fn``'s own error is raised, not a
    group of one."""
    if SIDE_TASKS.get() is not None:
        return await fn()
    try:
        async with anyio.create_task_group() as tg:
            token = SIDE_TASKS.set(tg)
            try:
                result = await fn()
            finally:
                SIDE_TASKS.reset(token)
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None
    return result
