"""The state store's connection to Redis: key names, Lua scripts, and one mapping of Redis failures.

Every access goes through :meth:`RedisClient.script` or :meth:`RedisClient.batch`, so a refused connection or a
Redis error always surfaces as :class:`~openai_image_mcp.core.errors.StorageError` naming the server (never its
password). Scripts are how several keys change together: Redis runs a script atomically, so a reader never sees
half of a turn, and two replicas never both pass the same check (a session limit, a budget).

Scripts build their key names themselves (``k(...)`` in :data:`PRELUDE`) from the prefix they get as their first
argument, because most keys they touch are found while they run (the sessions an expiry finds, the turn's
session). That is fine on one Redis server (with replicas for failover); on Redis Cluster, put every key in one
slot with a hash-tagged prefix such as ``{oim}:``.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.logs import safe_url

Arg = str | int | float
#: a hash's fields as redis-py's ``hset(mapping=...)`` takes them
Fields = dict[FieldT, EncodableT]

#: Lua helpers every script starts with. ``P`` is the key prefix (the script's first argument, removed from ARGV);
#: ``k('a', 'b')`` is ``<P>a:b``; numbers are written with 17 significant digits so doubles round-trip exactly.
PRELUDE = """
local P = table.remove(ARGV, 1)
local function k(...) return P .. table.concat({...}, ':') end
local function esc(s) return (string.gsub(string.gsub(s, '%%', '%%25'), ':', '%%3A')) end
local function num(x) return string.format('%.17g', x) end
local function hadd(key, field, delta)
  local v = tonumber(redis.call('HGET', key, field) or '0') + delta
  redis.call('HSET', key, field, num(v))
end
"""


def esc(part: str) -> str:
    """A user-given key part that is followed by another part (``:`` and ``%`` escaped, as ``esc`` in Lua)."""
    return part.replace("%", "%25").replace(":", "%3A")


def score(x: float) -> str:
    """A float as Redis reads it back unchanged (``repr`` round-trips, ``inf`` spelled Redis's way)."""
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return repr(float(x))


def opt(value: str | None) -> str:
    """Scripts get None as an empty string; they leave such a field out of the hash."""
    return "" if value is None else value


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class RedisClient:
    """One ``redis.asyncio`` client (a connection pool) for a URL and key prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    def k(self, *parts: str) -> str:
        """The key ``<prefix>part:part``."""
        return self.prefix + ":".join(parts)

    def failed(self, what: str, exc: BaseException) -> StorageError:
        return StorageError(f"Redis at {safe_url(self.url)} failed while {what}: {exc}", suggestion=self._suggestion())

    def _suggestion(self) -> str:
        return f"Check that Redis at {safe_url(self.url)} (OPENAI_IMAGE_MCP_STATE_URL) is running and reachable."

    async def open(self) -> None:
        try:
            self._redis = aioredis.Redis.from_url(
                self.url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30
            )
            await self._redis.ping()
        except (RedisError, OSError, ValueError) as exc:
            await self.close()
            message = f"Cannot connect to the state store at {safe_url(self.url)}: {exc}"
            raise StorageError(message, suggestion=self._suggestion()) from exc

    async def close(self) -> None:
        client, self._redis, self._scripts = self._redis, None, {}
        if client is not None:
            with contextlib.suppress(RedisError, OSError):  # nothing left to flush: every write was awaited
                await client.aclose()

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise StorageError("The Redis state store is not open.")
        return self._redis

    async def script(self, body: str, *args: Arg, what: str = "running a script") -> Any:
        """Run ``PRELUDE + body`` atomically with ``args`` (after the prefix)."""
        script = self._scripts.get(body)
        if script is None:
            script = self._scripts[body] = self.redis.register_script(PRELUDE + body)
        try:
            return await script(keys=[], args=[self.prefix, *args])
        except (RedisError, OSError) as exc:
            raise self.failed(what, exc) from exc

    async def batch(
        self, build: Callable[[Pipeline], object], *, transaction: bool = False, what: str = "reading"
    ) -> list[Any]:
        """Send the commands ``build`` queues on a pipeline in one round trip (MULTI/EXEC when ``transaction``)."""
        try:
            async with self.redis.pipeline(transaction=transaction) as pipe:
                build(pipe)
                return list(await pipe.execute())
        except (RedisError, OSError) as exc:
            raise self.failed(what, exc) from exc

    async def one(self, build: Callable[[Pipeline], object], *, what: str = "reading") -> Any:
        """The answer of the one command ``build`` queues."""
        return (await self.batch(build, what=what))[0]

    async def hashes(self, keys: Sequence[str]) -> list[dict[str, str]]:
        """HGETALL of each key (an empty dict for a missing one), in one round trip."""
        if not keys:
            return []
        return await self.batch(lambda p: [p.hgetall(key) for key in keys])

    async def strings(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        return list(await self.one(lambda p: p.mget(list(keys))))
