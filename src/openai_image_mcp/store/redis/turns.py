"""Turns in Redis: a hash per turn, the session's turns by number, and the pending ones by replica.

A turn's number comes from the session's counter (``HINCRBY``), so two replicas beginning turns at once never
share one and a number is never reused. Beginning and completing check the session's fence and the turn's status
inside the script that writes, so a replica that lost the session's lock cannot commit over the newer holder:
the script answers ``lease_lost`` having written nothing (every check comes before the first write).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

from openai_image_mcp.core.errors import LeaseLost, SessionNotFound, StorageError
from openai_image_mcp.core.models import ImageRecord, TurnRecord, TurnStatus
from openai_image_mcp.store.redis.client import RedisClient, dumps, score
from openai_image_mcp.store.redis.images import IMAGE_LIB, pack

_INTERRUPTED = "The server stopped before this turn finished."

_FENCE_LIB = """
local function fence_refused(skey, fence)
  if fence == '' then return nil end
  local seen = tonumber(redis.call('HGET', skey, 'fence') or '0')
  if tonumber(fence) < seen then return 'fence ' .. fence .. ' < ' .. num(seen) end
  return nil
end
"""

# ARGV: session, turn, now, replica, fence ('' for none), then the turn's field/value pairs
_BEGIN = """
local sid, tid, now, replica, fence = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local skey = k('session', sid)
local owner = redis.call('HGET', skey, 'owner')
if not owner then return {'no_session'} end
local refused = fence_refused(skey, fence)
if refused then return {'lease_lost', refused} end
if fence ~= '' then redis.call('HSET', skey, 'fence', fence) end
local seq = redis.call('HINCRBY', skey, 'turn_seq', 1)
redis.call('HSET', k('turn', tid), 'id', tid, 'session_id', sid, 'seq', seq, 'status', 'pending', 'created_at', now,
  'owner', owner, 'replica', replica, unpack(ARGV, 6))
redis.call('ZADD', k('session_turns', sid), seq, tid)
redis.call('HSET', k('pending_turns'), tid, replica)
touch(sid, now)
return {'ok', seq}
"""

# ARGV: turn, session, now, fence, has response ('1'/'0'), response, model text, usage, then the images
_COMPLETE = """
local tid, sid, now, fence, has_resp, resp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local tkey, skey = k('turn', tid), k('session', sid)
local status = redis.call('HGET', tkey, 'status')
if status ~= 'pending' then return {'lease_lost', 'turn ' .. (status or 'unknown')} end
if redis.call('EXISTS', skey) == 0 then return {'no_session'} end
local refused = fence_refused(skey, fence)
if refused then return {'lease_lost', refused} end
local dup = image_conflict(9)
if dup then return {'duplicate', dup} end
if fence ~= '' then redis.call('HSET', skey, 'fence', fence) end
add_images(9)
redis.call('HSET', tkey, 'status', 'completed', 'finished_at', now, 'model_text', ARGV[7], 'usage_json', ARGV[8])
if has_resp == '1' then
  redis.call('HSET', tkey, 'response_id', resp)
  redis.call('HSET', skey, 'last_response_id', resp)
else
  redis.call('HDEL', tkey, 'response_id')
end
redis.call('HDEL', skey, 'pending_image_id')
redis.call('HINCRBY', skey, 'turn_count', 1)
redis.call('HDEL', k('pending_turns'), tid)
touch(sid, now)
return {'ok'}
"""

_END = """
local tkey = k('turn', ARGV[1])
if redis.call('HGET', tkey, 'status') ~= 'pending' then return 0 end
redis.call('HSET', tkey, 'status', ARGV[2], 'error_type', ARGV[3], 'error', ARGV[4], 'finished_at', ARGV[5])
redis.call('HDEL', k('pending_turns'), ARGV[1])
return 1
"""

# ARGV: every replica ('1'/'0'), replica, now, error
_MARK = """
local all = redis.call('HGETALL', k('pending_turns'))
local n = 0
for i = 1, #all, 2 do
  local tid = all[i]
  if ARGV[1] == '1' or all[i + 1] == ARGV[2] then
    local tkey = k('turn', tid)
    if redis.call('HGET', tkey, 'status') == 'pending' then
      redis.call('HSET', tkey, 'status', 'interrupted', 'finished_at', ARGV[3], 'error_type', 'interrupted',
        'error', ARGV[4])
      n = n + 1
    end
    redis.call('HDEL', k('pending_turns'), tid)
  end
end
return n
"""


def _refusal(answer: Sequence[Any], what: str) -> None:
    head = answer[0]
    if head == "lease_lost":
        raise LeaseLost(f"Cannot {what}: the session's lock was lost ({answer[1]}).")
    if head == "no_session":
        raise SessionNotFound(f"Cannot {what}: the session does not exist.")
    if head == "duplicate":
        raise StorageError(f"State store error: image {answer[1]} (or its path) is already recorded.")


async def begin(
    c: RedisClient,
    lib: str,
    session_id: str,
    prompt: str,
    params: dict[str, Any],
    previous_response_id: str | None,
    *,
    now: float,
    fence: int | None,
    replica: str,
) -> TurnRecord:
    turn_id = uuid.uuid4().hex
    params_json = json.dumps(params)
    pairs = ["prompt", prompt, "params_json", params_json]
    if previous_response_id is not None:
        pairs += ["previous_response_id", previous_response_id]
    answer = await c.script(
        lib + _FENCE_LIB + _BEGIN,
        session_id,
        turn_id,
        score(now),
        replica,
        "" if fence is None else str(fence),
        *pairs,
        what="beginning a turn",
    )
    _refusal(answer, "begin the turn")
    return TurnRecord(
        id=turn_id,
        session_id=session_id,
        seq=int(answer[1]),
        prompt=prompt,
        params=json.loads(params_json),
        status="pending",
        created_at=now,
        previous_response_id=previous_response_id,
    )


async def complete(
    c: RedisClient,
    lib: str,
    turn: TurnRecord,
    *,
    response_id: str | None,
    model_text: str,
    usage: dict[str, Any],
    images: Sequence[ImageRecord],
    now: float,
    fence: int | None,
) -> None:
    answer = await c.script(
        lib + IMAGE_LIB + _FENCE_LIB + _COMPLETE,
        turn.id,
        turn.session_id,
        score(now),
        "" if fence is None else str(fence),
        "0" if response_id is None else "1",
        response_id or "",
        model_text,
        dumps(usage),
        *pack(images),
        what="completing a turn",
    )
    _refusal(answer, "commit the turn")


async def end(c: RedisClient, turn_id: str, status: TurnStatus, *, error_type: str, error: str, now: float) -> None:
    await c.script(_END, turn_id, status, error_type, error, score(now), what="ending a turn")


async def mark_interrupted(c: RedisClient, *, now: float, replica: str | None) -> int:
    every = "1" if replica is None else "0"
    return int(await c.script(_MARK, every, replica or "", score(now), _INTERRUPTED, what="marking turns interrupted"))


def _decode(h: dict[str, str], image_ids: Sequence[str]) -> TurnRecord:
    finished = h.get("finished_at")
    return TurnRecord(
        id=h["id"],
        session_id=h["session_id"],
        seq=int(h["seq"]),
        prompt=h["prompt"],
        params=json.loads(h["params_json"]),
        status=cast(TurnStatus, h["status"]),
        created_at=float(h["created_at"]),
        finished_at=None if finished is None else float(finished),
        response_id=h.get("response_id"),
        previous_response_id=h.get("previous_response_id"),
        model_text=h.get("model_text", ""),
        error_type=h.get("error_type"),
        error=h.get("error"),
        usage=json.loads(h.get("usage_json", "{}")),
        image_ids=tuple(image_ids),
    )


async def of_session(c: RedisClient, session_id: str, images: Sequence[ImageRecord]) -> list[TurnRecord]:
    """The session's turns by number, each with its images' ids (``images``: the session's, oldest first)."""
    by_turn: dict[str, list[str]] = {}
    for rec in images:
        if rec.turn_id is not None:
            by_turn.setdefault(rec.turn_id, []).append(rec.id)
    ids = await c.one(lambda p: p.zrange(c.k("session_turns", session_id), 0, -1))
    found = await c.hashes([c.k("turn", i) for i in ids])
    return [_decode(h, by_turn.get(h["id"], [])) for h in found if h]
