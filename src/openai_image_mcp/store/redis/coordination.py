"""The :class:`~openai_image_mcp.store.ports.Coordinator` of replicas that share one Redis.

Keys (under the ``<prefix>co:`` namespace, apart from the state store's records):

- ``lock:<name>``: the holder (``<replica>:<random>``), with a TTL of the lease; renewed every third of it by the
  holder, deleted (and ``unlocked:<name>`` published) on release. ``fence:<name>`` counts grants: a grant and its
  fencing token come from one script, so tokens grow in the order the lock was granted.
- ``ch:<channel>``: pub/sub channels (job progress, job end, cancels). Waiters subscribe before they look at the
  state, so a message cannot slip between the look and the wait.
- ``hits:<key>``: sorted sets of event times for sliding-window limits; ``set:<key>``: members with their expiry
  (concurrency caps). Both judged by Redis's own clock (``TIME``), so replicas with skewed clocks agree.
- ``replica:<id>``: a replica's heartbeat, with a TTL of the lease; ``replicas``: every replica announced and not
  yet forgotten. A member whose heartbeat has expired is dead; ``claim:<name>`` lets one survivor clean up after it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.logs import safe_url

log = logging.getLogger(__name__)

#: Seconds a Redis command may take before it fails (a blackholed Redis must not hang the server). Blocking
#: reads of pub/sub messages are not commands: they wait as long as their caller wants.
SOCKET_TIMEOUT = 10.0

_ACQUIRE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('incr', KEYS[2])
end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('publish', KEYS[2], '{}')
  return 1
end
return 0
"""
_HIT = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('zadd', KEYS[1], now, ARGV[3])
redis.call('pexpire', KEYS[1], window)
return 0
"""
_ENTER = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
if not redis.call('zscore', KEYS[1], ARGV[1]) and redis.call('zcard', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('pexpire', KEYS[1], tonumber(ARGV[3]))
return 1
"""


@dataclass
class RedisLease:
    token: int
    lost: bool = False


class RedisCoordinator:
    shared = True

    def __init__(self, url: str, *, replica: str, prefix: str = "oim:", client: aioredis.Redis | None = None) -> None:
        self._url = url
        self._replica = replica
        self._ns = f"{prefix}co:"
        self._redis: aioredis.Redis = client or aioredis.Redis.from_url(
            url, health_check_interval=30, socket_connect_timeout=5, socket_timeout=SOCKET_TIMEOUT
        )
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._hit = self._redis.register_script(_HIT)
        self._enter = self._redis.register_script(_ENTER)

    @property
    def replica(self) -> str:
        return self._replica

    def _k(self, *parts: str) -> str:
        return self._ns + ":".join(parts)

    def _failed(self, what: str, exc: Exception) -> StorageError:
        return StorageError(f"Redis at {safe_url(self._url)} failed while {what}: {exc}")

    async def open(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise self._failed("connecting", exc) from exc

    async def close(self) -> None:
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(3):
                await self._redis.delete(self._k("replica", self._replica))
                await self._redis.srem(self._k("replicas"), self._replica)
        except (RedisError, OSError):
            log.info("could not say goodbye to Redis; this replica's heartbeat will simply run out")
        finally:
            await self._redis.aclose()

    # -- locks ----------------------------------------------------------------------------
    @asynccontextmanager
    async def lock(self, name: str, *, lease: float) -> AsyncIterator[RedisLease]:
        key, fence, unlocked = self._k("lock", name), self._k("fence", name), self._k("unlocked", name)
        holder = f"{self._replica}:{secrets.token_hex(6)}"
        ms = max(1, int(lease * 1000))
        try:
            token = await self._grant(key, fence, unlocked, holder, ms, lease)
        except (RedisError, OSError) as exc:
            raise self._failed(f"taking the lock {name}", exc) from exc
        held = RedisLease(token)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._keep, key, holder, ms, lease, held)
                try:
                    yield held
                finally:
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:  # the holder's own error, not a group of one (the renewal never raises)
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(3):
                try:
                    await self._release(keys=[key, unlocked], args=[holder])
                except (RedisError, OSError):
                    log.warning("could not release lock %s; it runs out with its lease", name)

    async def _grant(self, key: str, fence: str, unlocked: str, holder: str, ms: int, lease: float) -> int:
        """Wait until the lock is ours; its fencing token. Cancelled while waiting (or between the grant and its
        answer), it gives back whatever it may have been granted, so the lock is not held for a lease by nobody."""
        try:
            token = int(await self._acquire(keys=[key, fence], args=[holder, ms]))  # the usual case: free at once
            if token:
                return token
            # listen before trying again, so a release between the try and the wait still wakes us; the timeout
            # covers a holder that died (its key expires without a message). A new subscription for each wait: the
            # timeout cancels the message generator, which cannot be resumed after that.
            while True:
                async with self._pubsub(unlocked) as messages:
                    token = int(await self._acquire(keys=[key, fence], args=[holder, ms]))
                    if token:
                        return token
                    with anyio.move_on_after(min(lease / 3, 1.0)):
                        await messages.__anext__()
        except BaseException:
            with anyio.CancelScope(shield=True), anyio.move_on_after(3), contextlib.suppress(RedisError, OSError):
                await self._release(keys=[key, unlocked], args=[holder])
            raise

    async def _keep(self, key: str, holder: str, ms: int, lease: float, held: RedisLease) -> None:
        """Renew the lease every third of it; a renewal that finds another holder (or none) marks it lost."""
        while True:
            await anyio.sleep(lease / 3)
            try:
                if not await self._renew(keys=[key], args=[holder, ms]):
                    held.lost = True
                    log.warning("lost the lease of %s: another replica may hold it now", key)
                    return
            except (RedisError, OSError) as exc:
                log.warning("could not renew the lease of %s: %s", key, exc)

    async def is_locked(self, name: str) -> bool:
        try:
            return bool(await self._redis.exists(self._k("lock", name)))
        except (RedisError, OSError) as exc:
            raise self._failed("looking at a lock", exc) from exc

    # -- messages -------------------------------------------------------------------------
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await self._redis.publish(self._k("ch", channel), json.dumps(message))
        except (RedisError, OSError) as exc:
            raise self._failed("publishing a message", exc) from exc

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self._pubsub(self._k("ch", channel)) as messages:
            yield messages

    @asynccontextmanager
    async def _pubsub(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            # the confirmation: from here on, every message published to the channel reaches us
            await pubsub.get_message(ignore_subscribe_messages=False, timeout=5)

            async def messages() -> AsyncIterator[dict[str, Any]]:
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if msg is None or msg.get("type") != "message":
                        continue
                    data = msg["data"]
                    try:
                        decoded = json.loads(data)
                    except (TypeError, ValueError):
                        continue
                    if isinstance(decoded, dict):
                        yield decoded

            yield messages()
        except (RedisError, OSError) as exc:
            raise self._failed("listening for messages", exc) from exc
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2), contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    # -- limits ---------------------------------------------------------------------------
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        member = secrets.token_hex(8)
        try:
            wait_ms = await self._hit(keys=[self._k("hits", key)], args=[limit, int(window * 1000), member])
        except (RedisError, OSError) as exc:
            raise self._failed("counting a rate limit", exc) from exc
        return float(wait_ms) / 1000

    async def enter(self, key: str, member: str, *, limit: int, ttl: float) -> bool:
        try:
            return bool(await self._enter(keys=[self._k("set", key)], args=[member, limit, int(ttl * 1000)]))
        except (RedisError, OSError) as exc:
            raise self._failed("counting running generations", exc) from exc

    async def leave(self, key: str, member: str) -> None:
        try:
            await self._redis.zrem(self._k("set", key), member)
        except (RedisError, OSError) as exc:  # the member drops out by itself when its ttl passes
            log.warning("could not release a concurrency slot: %s", exc)

    # -- replicas -------------------------------------------------------------------------
    async def announce(self, *, ttl: float) -> bool:
        try:
            fresh = await self._redis.set(self._k("replica", self._replica), b"1", nx=True, px=max(1, int(ttl * 1000)))
            if fresh:
                await self._redis.sadd(self._k("replicas"), self._replica)
        except (RedisError, OSError) as exc:
            raise self._failed("announcing this replica", exc) from exc
        return bool(fresh)

    async def alone(self) -> bool:
        return False

    async def heartbeat(self, *, ttl: float) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._k("replica", self._replica), b"1", px=max(1, int(ttl * 1000)))
                pipe.sadd(self._k("replicas"), self._replica)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._failed("sending the heartbeat", exc) from exc

    async def dead_replicas(self) -> list[str]:
        try:
            raw = await self._redis.smembers(self._k("replicas"))
            names = (m.decode() if isinstance(m, bytes) else str(m) for m in raw)
            others = sorted(n for n in names if n != self._replica)
            if not others:
                return []
            async with self._redis.pipeline(transaction=False) as pipe:
                for m in others:
                    pipe.exists(self._k("replica", m))
                alive = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._failed("looking for dead replicas", exc) from exc
        return [m for m, up in zip(others, alive, strict=True) if not up]

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        key = self._k("secret", name)
        try:
            await self._redis.set(key, candidate, nx=True)
            value = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise self._failed(f"reading the shared {name}", exc) from exc
        if isinstance(value, str):
            return value.encode()
        return value or candidate

    async def claim(self, name: str, *, ttl: float) -> bool:
        try:
            px = max(1, int(ttl * 1000))
            return bool(await self._redis.set(self._k("claim", name), self._replica, nx=True, px=px))
        except (RedisError, OSError) as exc:
            raise self._failed("claiming a clean-up", exc) from exc

    async def forget_replica(self, replica: str) -> None:
        try:
            await self._redis.srem(self._k("replicas"), replica)
        except (RedisError, OSError) as exc:
            raise self._failed("forgetting a replica", exc) from exc
