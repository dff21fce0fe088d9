"""Files uploaded to OpenAI, in Redis: a hash per upload, the live ones, and the live ones by (session, hash).

A deleted upload is kept for :data:`DELETED_TTL` (what was deleted when, for support) and then expires by itself.
"""

from __future__ import annotations

from openai_image_mcp.store.redis.client import Fields, RedisClient, esc, score

DELETED_TTL = 30 * 86_400

_DELETE = """
local key = k('upload', ARGV[1])
local f = redis.call('HMGET', key, 'session_id', 'sha256')
if not f[2] then return 0 end
redis.call('HSET', key, 'deleted_at', ARGV[2])
redis.call('SREM', k('uploads:live'), ARGV[1])
redis.call('SREM', k('uploads:by', esc(f[1] or ''), f[2]), ARGV[1])
redis.call('EXPIRE', key, ARGV[3])
return 1
"""


class RedisUploadRepo:
    def __init__(self, client: RedisClient) -> None:
        self._c = client

    def _by(self, session_id: str | None, sha256: str) -> str:
        return self._c.k("uploads:by", esc(session_id or ""), sha256)

    async def find(self, session_id: str | None, sha256: str) -> str | None:
        found = await self._c.one(lambda p: p.srandmember(self._by(session_id, sha256)))
        return None if found is None else str(found)

    async def add(
        self, file_id: str, session_id: str | None, sha256: str, size: int, *, owner: str, now: float
    ) -> None:
        fields: Fields = {
            "file_id": file_id,
            "sha256": sha256,
            "bytes": str(size),
            "created_at": score(now),
            "owner": owner,
        }
        if session_id is not None:
            fields["session_id"] = session_id
        await self._c.batch(
            lambda p: [
                p.hset(self._c.k("upload", file_id), mapping=fields),
                p.sadd(self._c.k("uploads:live"), file_id),
                p.sadd(self._by(session_id, sha256), file_id),
            ],
            transaction=True,
            what="recording an upload",
        )

    async def stale(self, *, one_off_before: float) -> list[str]:
        """Live uploads whose session is no longer active (or gone), and one-off uploads older than
        ``one_off_before`` (a newer one may still be in use by the call that made it)."""
        ids = sorted(await self._c.one(lambda p: p.smembers(self._c.k("uploads:live"))))
        uploads = [h for h in await self._c.hashes([self._c.k("upload", i) for i in ids]) if h]
        sessions = {h["session_id"] for h in uploads if "session_id" in h}
        keys = {sid: self._c.k("session", sid) for sid in sessions}
        statuses = await self._c.batch(lambda p: [p.hget(key, "status") for key in keys.values()])
        status_of = dict(zip(keys, statuses, strict=True))
        return [
            h["file_id"]
            for h in uploads
            if ("session_id" not in h and float(h["created_at"]) < one_off_before)
            or ("session_id" in h and status_of[h["session_id"]] != "active")
        ]

    async def mark_deleted(self, file_id: str, *, now: float) -> None:
        await self._c.script(_DELETE, file_id, score(now), DELETED_TTL, what="marking an upload deleted")
