"""The third store port: the :class:`Coordinator`, what server processes share beyond records.

Locks with leases and fencing tokens (a session's turns in order across replicas), messages (a job's progress, end
and cancel reach every replica), limits counted together, and the liveness of replicas (heartbeats; one survivor
cleans up after a dead one). :mod:`.local` is the in-process coordinator of a single process; :mod:`.redis`'s
``coordination`` shares it through Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Lease(Protocol):
    """A held lock. ``token`` is its fencing token: it grows with every grant of the same lock, across processes.
    ``None`` where no other process can hold the lock (the in-process coordinator): nothing to fence."""

    @property
    def token(self) -> int | None: ...

    @property
    def lost(self) -> bool:
        """The lease could not be renewed in time: another replica may hold the lock now."""
        ...


class Coordinator(Protocol):
    """What server processes share beyond records. ``shared`` is False for the in-process one."""

    @property
    def shared(self) -> bool: ...

    @property
    def replica(self) -> str: ...

    async def open(self) -> None:
        """Connect (raises :class:`~openai_image_mcp.core.errors.StorageError`) and announce this replica."""
        ...

    async def close(self) -> None:
        """Release what this replica holds and say it is gone."""
        ...

    def lock(self, name: str, *, lease: float) -> AbstractAsyncContextManager[Lease]:
        """Wait for and hold the lock ``name``; while held it is renewed every ``lease / 3`` seconds. A holder that
        dies without releasing it loses it ``lease`` seconds later."""
        ...

    async def is_locked(self, name: str) -> bool: ...

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send a JSON-able message to every current subscriber of ``channel``, on every replica."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """The messages published to ``channel`` from the moment the context is entered."""
        ...

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        """Count an event against ``limit`` per sliding ``window`` seconds: 0 when admitted (and counted), else the
        seconds until one would be (nothing counted)."""
        ...

    async def enter(self, key: str, member: str, *, limit: int, ttl: float) -> bool:
        """Add ``member`` to the bounded set ``key`` unless it has ``limit`` members; a member not removed by
        :meth:`leave` within ``ttl`` seconds drops out by itself."""
        ...

    async def leave(self, key: str, member: str) -> None: ...

    async def announce(self, *, ttl: float) -> bool:
        """This replica starts: its first heartbeat. False (and nothing done) when a live replica already goes by
        this replica's name."""
        ...

    async def alone(self) -> bool:
        """Whether no other live process uses this state, so whatever is in flight was left by dead ones (the
        in-process coordinator asks the workspace's process lock; replicas sweep each other instead: False)."""
        ...

    async def heartbeat(self, *, ttl: float) -> None:
        """This replica is alive for ``ttl`` more seconds."""
        ...

    async def dead_replicas(self) -> list[str]:
        """Replicas that announced themselves and whose heartbeat ran out."""
        ...

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        """The secret every replica uses for ``name`` (link signing): the first replica's ``candidate`` wins. The
        in-process coordinator returns ``candidate`` (its caller keeps the secret in the workspace instead)."""
        ...

    async def claim(self, name: str, *, ttl: float) -> bool:
        """True for exactly one caller among the replicas until ``ttl`` passes (one survivor cleans up)."""
        ...

    async def forget_replica(self, replica: str) -> None:
        """A dead replica's work has been cleaned up: stop reporting it."""
        ...
