"""Generation jobs in Redis: a hash per job, and the running ones by replica.

A job is looked up by its id only (a handle the caller keeps), so it needs no index. A finished job is kept for
:data:`FINISHED_TTL` and then expires by itself: its result summary only matters while someone may still ask.
"""

from __future__ import annotations

import json
from typing import Any

from openai_image_mcp.core.models import JobRecord
from openai_image_mcp.store.redis.client import Fields, RedisClient, score

FINISHED_TTL = 30 * 86_400
_INTERRUPTED = "The server stopped before this generation finished."

# ARGV: id, status, now, ttl, then field/value pairs to set, then '--', then fields to remove
_FINISH = """
local key = k('job', ARGV[1])
if redis.call('HGET', key, 'status') ~= 'running' then return 0 end
redis.call('HSET', key, 'status', ARGV[2], 'finished_at', ARGV[3])
local i = 5
while ARGV[i] ~= '--' do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = i + 1, #ARGV do redis.call('HDEL', key, ARGV[j]) end
redis.call('HDEL', k('jobs:running'), ARGV[1])
if ARGV[2] ~= 'running' then redis.call('EXPIRE', key, ARGV[4]) end
return 1
"""

# ARGV: every replica ('1'/'0'), replica, now, ttl, error
_MARK = """
local all = redis.call('HGETALL', k('jobs:running'))
local ids = {}
for i = 1, #all, 2 do
  local id = all[i]
  if ARGV[1] == '1' or all[i + 1] == ARGV[2] then
    local key = k('job', id)
    if redis.call('HGET', key, 'status') == 'running' then
      redis.call('HSET', key, 'status', 'interrupted', 'finished_at', ARGV[3], 'error_type', 'interrupted',
        'error', ARGV[5])
      redis.call('EXPIRE', key, ARGV[4])
      table.insert(ids, id)
    end
    redis.call('HDEL', k('jobs:running'), id)
  end
end
return ids
"""


def _decode(h: dict[str, str]) -> JobRecord:
    finished, result = h.get("finished_at"), h.get("result_json")
    return JobRecord(
        id=h["id"],
        kind=h["kind"],
        status=h["status"],
        session_id=h.get("session_id"),
        created_at=float(h["created_at"]),
        finished_at=None if finished is None else float(finished),
        message=h.get("message", ""),
        error_type=h.get("error_type"),
        error=h.get("error"),
        result=json.loads(result) if result else None,
        owner=h["owner"],
    )


class RedisJobRepo:
    def __init__(self, client: RedisClient, replica: str) -> None:
        self._c = client
        self._replica = replica

    async def create(self, job_id: str, kind: str, session_id: str | None, *, owner: str, now: float) -> None:
        fields: Fields = {"id": job_id, "kind": kind, "status": "running", "created_at": score(now), "owner": owner}
        fields |= {"replica": self._replica, "message": ""}
        if session_id is not None:
            fields["session_id"] = session_id
        key = self._c.k("job", job_id)
        await self._c.batch(
            lambda p: [p.hset(key, mapping=fields), p.hset(self._c.k("jobs:running"), job_id, self._replica)],
            transaction=True,
            what="creating a job",
        )

    async def finish(
        self,
        job_id: str,
        status: str,
        *,
        now: float,
        message: str = "",
        error_type: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        values = {"message": message, "error_type": error_type, "error": error}
        values["result_json"] = json.dumps(result) if result else None
        pairs = [x for name, v in values.items() if v is not None for x in (name, v)]
        gone = [name for name, v in values.items() if v is None]
        ended = await self._c.script(
            _FINISH, job_id, status, score(now), FINISHED_TTL, *pairs, "--", *gone, what="finishing a job"
        )
        return bool(ended)

    async def get(self, job_id: str, *, owner: str | None) -> JobRecord | None:
        (h,) = await self._c.hashes([self._c.k("job", job_id)])
        return _decode(h) if h and (owner is None or h["owner"] == owner) else None

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> list[str]:
        ids = await self._c.script(
            _MARK,
            "1" if replica is None else "0",
            replica or "",
            score(now),
            FINISHED_TTL,
            _INTERRUPTED,
            what="marking jobs interrupted",
        )
        return [str(i) for i in ids]
