"""The in-process :class:`~openai_image_mcp.store.ports.Coordinator`: one server process on its own state.

Locks are ``anyio`` locks (a lease cannot be lost: the process that holds it is the one that would notice it
died), messages go through memory streams, limits are counted in memory by the service's clock, and there
are no other replicas to watch. Redis's coordinator (:mod:`.redis.coordination`) keeps the same promises
across processes.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from openai_image_mcp.core.clock import Clock

#: Messages a slow subscriber may have queued before newer ones are dropped for it.
BUFFER = 256


@dataclass
class LocalLease:
    """No other process shares these locks, so there is nothing to fence (``token`` None); ``number`` counts the
    grants of the lock in this process."""

    number: int
    token: None = None
    lost: bool = False


class _Gate:
    """A lock with a count of the tasks holding or waiting for it (so an idle one can be forgotten)."""

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.users = 0


class LocalCoordinator:
    shared = False

    def __init__(self, *, replica: str = "local", clock: Clock, lock_path: Path | None = None) -> None:
        """``lock_path``: the workspace's process lock (see :meth:`alone`); None: always alone."""
        self._replica = replica
        self._clock = clock
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._gates: dict[str, _Gate] = {}
        self._fences: defaultdict[str, int] = defaultdict(int)
        self._channels: defaultdict[str, set[MemoryObjectSendStream[dict[str, Any]]]] = defaultdict(set)
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)
        self._sets: defaultdict[str, dict[str, float]] = defaultdict(dict)

    @property
    def replica(self) -> str:
        return self._replica

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the process lock
            self._lock_fd = None

    # -- locks ----------------------------------------------------------------------------
    @asynccontextmanager
    async def lock(self, name: str, *, lease: float) -> AsyncIterator[LocalLease]:
        gate = self._gates.setdefault(name, _Gate())
        gate.users += 1
        try:
            async with gate.lock:
                self._fences[name] += 1
                yield LocalLease(self._fences[name])
        finally:
            gate.users -= 1
            if not gate.users:
                self._gates.pop(name, None)

    async def is_locked(self, name: str) -> bool:
        gate = self._gates.get(name)
        return gate is not None and gate.lock.locked()

    # -- messages -------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for stream in list(self._channels.get(channel, ())):
            try:
                stream.send_nowait(message)
            except anyio.WouldBlock:  # a subscriber that stopped reading misses messages, the publisher never waits
                continue
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._channels[channel].discard(stream)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](BUFFER)
        self._channels[channel].add(send)
        try:
            async with receive:
                yield receive
        finally:
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                subscribers.discard(send)
                if not subscribers:
                    del self._channels[channel]
            send.close()

    # -- limits ---------------------------------------------------------------------------
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = self._clock.monotonic()
        events = self._hits[key]
        while events and events[0] <= now - window:
            events.popleft()
        if len(events) >= limit:
            return max(0.001, events[0] + window - now)
        events.append(now)
        return 0.0

    async def enter(self, key: str, member: str, *, limit: int, ttl: float) -> bool:
        now = self._clock.monotonic()
        members = self._sets[key]
        for old in [m for m, until in members.items() if until <= now]:
            del members[old]
        if member not in members and len(members) >= limit:
            return False
        members[member] = now + ttl
        return True

    async def leave(self, key: str, member: str) -> None:
        members = self._sets.get(key)
        if members is not None:
            members.pop(member, None)
            if not members:
                del self._sets[key]

    # -- replicas -------------------------------------------------------------------------
    async def announce(self, *, ttl: float) -> bool:
        return True

    async def alone(self) -> bool:
        if self._lock_path is None:
            return True
        return await anyio.to_thread.run_sync(self._take_process_lock)

    def _take_process_lock(self) -> bool:
        """Every process on a workspace holds a shared lock on its lock file for its life; a starting process that
        can get it exclusively is the only one alive. (No ``fcntl`` on Windows: assumed alone, as before.)"""
        try:
            import fcntl
        except ImportError:
            return True
        assert self._lock_path is not None
        if self._lock_fd is not None:
            return False
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        fcntl.flock(fd, fcntl.LOCK_SH)
        self._lock_fd = fd
        return alone

    async def heartbeat(self, *, ttl: float) -> None:
        return None

    async def dead_replicas(self) -> list[str]:
        return []

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        return candidate

    async def claim(self, name: str, *, ttl: float) -> bool:
        return True

    async def forget_replica(self, replica: str) -> None:
        return None
