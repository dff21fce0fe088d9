"""Sessions in Redis: a hash per session and sorted sets by last activity (all, per owner, the active ones).

Each script that reads sessions first expires the idle ones (as SQLite does in the same transaction), so a
session is never seen active past its timeout. The limit of open sessions per owner is checked and the session
written in one script: replicas creating at once cannot overshoot it. Status counts are kept as they change, so
counting does not read every session. The turns live in :mod:`.turns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.models import ImageRecord, SessionRecord, SessionStatus, TurnRecord, TurnStatus
from openai_image_mcp.store.redis import turns
from openai_image_mcp.store.redis.client import Arg, RedisClient, score
from openai_image_mcp.store.redis.images import RedisImageRepo

#: Lua shared by the session and turn scripts: status counts, idle expiry, and moving a session's activity.
SESSION_LIB = """
local function count_status(owner, from, to)
  if from then
    redis.call('HINCRBY', k('sessions:counts'), from, -1)
    redis.call('HINCRBY', k('sessions:counts', owner), from, -1)
  end
  redis.call('HINCRBY', k('sessions:counts'), to, 1)
  redis.call('HINCRBY', k('sessions:counts', owner), to, 1)
end
local function expire(now, idle)
  local ids = redis.call('ZRANGEBYSCORE', k('sessions:active'), '-inf', num(tonumber(now) - tonumber(idle)))
  for _, sid in ipairs(ids) do
    local key = k('session', sid)
    local f = redis.call('HMGET', key, 'owner', 'last_activity')
    redis.call('HSET', key, 'status', 'expired', 'closed_at', num(tonumber(f[2]) + tonumber(idle)))
    redis.call('ZREM', k('sessions:active'), sid)
    redis.call('ZREM', k('sessions:active', f[1]), sid)
    count_status(f[1], 'active', 'expired')
  end
  return ids
end
local function touch(sid, now)
  local key = k('session', sid)
  local owner = redis.call('HGET', key, 'owner')
  redis.call('HSET', key, 'last_activity', now)
  redis.call('ZADD', k('sessions'), 'XX', now, sid)
  redis.call('ZADD', k('sessions:owner', owner), 'XX', now, sid)
  redis.call('ZADD', k('sessions:active'), 'XX', now, sid)
  redis.call('ZADD', k('sessions:active', owner), 'XX', now, sid)
end
"""

_EXPIRE = """
return expire(ARGV[1], ARGV[2])
"""

# ARGV: now, idle, max_active, id, owner, status, last_activity, folder, then the hash's field/value pairs
_CREATE = """
local now, idle, max, sid, owner, status, la = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
expire(now, idle)
local active = k('sessions:active', owner)
if redis.call('ZCARD', active) >= max then
  local ids = redis.call('ZRANGE', active, 0, 4)
  table.insert(ids, 1, 'blocked')
  return ids
end
local key = k('session', sid)
if redis.call('EXISTS', key) == 1 then return {'exists'} end
redis.call('HSET', key, 'turn_count', 0, 'image_count', 0, 'turn_seq', 0, 'fence', 0, unpack(ARGV, 9))
redis.call('ZADD', k('sessions'), la, sid)
redis.call('ZADD', k('sessions:owner', owner), la, sid)
if status == 'active' then
  redis.call('ZADD', k('sessions:active'), la, sid)
  redis.call('ZADD', active, la, sid)
end
redis.call('SADD', k('sessions:folders'), ARGV[8])
count_status(owner, false, status)
return {'ok'}
"""

_CLOSE = """
local key = k('session', ARGV[1])
if redis.call('HGET', key, 'status') ~= 'active' then return 0 end
local owner = redis.call('HGET', key, 'owner')
redis.call('HSET', key, 'status', 'closed', 'closed_at', ARGV[2])
redis.call('ZREM', k('sessions:active'), ARGV[1])
redis.call('ZREM', k('sessions:active', owner), ARGV[1])
count_status(owner, 'active', 'closed')
return 1
"""


def _pairs(rec: SessionRecord) -> list[Arg]:
    fields: dict[str, str | None] = {
        "id": rec.id,
        "name": rec.name,
        "description": rec.description,
        "model": rec.model,
        "image_model": rec.image_model,
        "status": rec.status,
        "created_at": score(rec.created_at),
        "last_activity": score(rec.last_activity),
        "closed_at": None if rec.closed_at is None else score(rec.closed_at),
        "last_response_id": rec.last_response_id,
        "folder": rec.folder,
        "use_case": rec.use_case,
        "pending_image_id": rec.pending_image_id,
        "style_series": rec.style_series,
        "owner": rec.owner,
    }
    return [x for name, value in fields.items() if value is not None for x in (name, value)]


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def decode_session(h: dict[str, str]) -> SessionRecord:
    return SessionRecord(
        id=h["id"],
        name=h.get("name"),
        description=h["description"],
        model=h["model"],
        image_model=h["image_model"],
        status=cast(SessionStatus, h["status"]),
        created_at=float(h["created_at"]),
        last_activity=float(h["last_activity"]),
        closed_at=_float(h.get("closed_at")),
        last_response_id=h.get("last_response_id"),
        folder=h["folder"],
        use_case=h["use_case"],
        turn_count=int(h.get("turn_count", 0)),
        image_count=int(h.get("image_count", 0)),
        pending_image_id=h.get("pending_image_id"),
        style_series=h.get("style_series"),
        owner=h["owner"],
    )


class RedisSessionRepo:
    def __init__(self, client: RedisClient, images: RedisImageRepo, replica: str) -> None:
        self._c = client
        self._images = images
        self._replica = replica

    async def _expire(self, now: float, idle_timeout: float) -> list[str]:
        ids = await self._c.script(SESSION_LIB + _EXPIRE, score(now), score(idle_timeout), what="expiring sessions")
        return [str(i) for i in ids]

    async def _load(self, ids: Sequence[str]) -> list[SessionRecord]:
        found = await self._c.hashes([self._c.k("session", i) for i in ids])
        return [decode_session(h) for h in found if h]

    async def create(
        self, rec: SessionRecord, *, max_active: int, now: float, idle_timeout: float
    ) -> list[SessionRecord]:
        """Insert ``rec`` unless its owner has ``max_active`` sessions open; then return the most idle ones."""
        head, *rest = await self._c.script(
            SESSION_LIB + _CREATE,
            score(now),
            score(idle_timeout),
            max_active,
            rec.id,
            rec.owner,
            rec.status,
            score(rec.last_activity),
            rec.folder,
            *_pairs(rec),
            what="creating a session",
        )
        if head == "exists":
            raise StorageError(f"State store error: session {rec.id} exists already.")
        return await self._load(rest) if head == "blocked" else []

    async def get(self, session_id: str, *, owner: str | None, now: float, idle_timeout: float) -> SessionRecord | None:
        await self._expire(now, idle_timeout)
        found = await self._load([session_id])
        return found[0] if found and (owner is None or found[0].owner == owner) else None

    async def list_sessions(
        self, *, owner: str | None, now: float, idle_timeout: float, status: str | None = "active"
    ) -> list[SessionRecord]:
        await self._expire(now, idle_timeout)
        if status == "active":
            key = self._c.k("sessions:active") if owner is None else self._c.k("sessions:active", owner)
        else:
            key = self._c.k("sessions") if owner is None else self._c.k("sessions:owner", owner)
        ids = await self._c.one(lambda p: p.zrevrange(key, 0, -1))
        return [s for s in await self._load(ids) if status is None or s.status == status]

    async def folders(self) -> set[str]:
        return set(await self._c.one(lambda p: p.smembers(self._c.k("sessions:folders"))))

    async def counts(self, *, owner: str | None) -> dict[str, int]:
        key = self._c.k("sessions:counts") if owner is None else self._c.k("sessions:counts", owner)
        raw: dict[str, str] = await self._c.one(lambda p: p.hgetall(key))
        return {status: int(n) for status, n in raw.items() if int(n) > 0}

    async def expire_idle(self, *, now: float, idle_timeout: float) -> list[str]:
        return await self._expire(now, idle_timeout)

    async def close(self, session_id: str, *, now: float) -> bool:
        return bool(await self._c.script(SESSION_LIB + _CLOSE, session_id, score(now), what="closing a session"))

    async def begin_turn(
        self,
        session_id: str,
        prompt: str,
        params: dict[str, Any],
        previous_response_id: str | None,
        *,
        now: float,
        fence: int | None = None,
    ) -> TurnRecord:
        return await turns.begin(
            self._c,
            SESSION_LIB,
            session_id,
            prompt,
            params,
            previous_response_id,
            now=now,
            fence=fence,
            replica=self._replica,
        )

    async def complete_turn(
        self,
        turn: TurnRecord,
        *,
        response_id: str | None,
        model_text: str,
        usage: dict[str, Any],
        images: Sequence[ImageRecord],
        now: float,
        fence: int | None = None,
    ) -> None:
        await turns.complete(
            self._c,
            SESSION_LIB,
            turn,
            response_id=response_id,
            model_text=model_text,
            usage=usage,
            images=images,
            now=now,
            fence=fence,
        )

    async def end_turn(self, turn_id: str, status: TurnStatus, *, error_type: str, error: str, now: float) -> None:
        await turns.end(self._c, turn_id, status, error_type=error_type, error=error, now=now)

    async def turns(self, session_id: str) -> list[TurnRecord]:
        return await turns.of_session(self._c, session_id, await self._images.for_session(session_id))

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> int:
        return await turns.mark_interrupted(self._c, now=now, replica=replica)
