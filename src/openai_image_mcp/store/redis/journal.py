"""The write-ahead journal of image files, in Redis: one hash, ref -> the replica writing it.

An image is named here before its bytes are written and unnamed by the script that commits its record, so a ref
still named with no record is an orphan of a crash; a survivor cleans up exactly a dead replica's orphans.
"""

from __future__ import annotations

from collections.abc import Sequence

from openai_image_mcp.store.redis.client import RedisClient

#: Lua: claim every ref (ARGV[1..n-1]) for the replica ARGV[n], unless one is named already or is an image's path.
_INTEND = """
local replica = table.remove(ARGV)
for _, ref in ipairs(ARGV) do
  if redis.call('HEXISTS', k('journal'), ref) == 1 or redis.call('HEXISTS', k('images:path'), ref) == 1 then
    return 0
  end
end
for _, ref in ipairs(ARGV) do
  redis.call('HSET', k('journal'), ref, replica)
end
return 1
"""


class RedisJournalRepo:
    def __init__(self, client: RedisClient, replica: str) -> None:
        self._c = client
        self._replica = replica

    async def intend(self, refs: Sequence[str]) -> bool:
        if not refs:
            return True
        claimed = await self._c.script(_INTEND, *[str(r) for r in refs], self._replica, what="naming image files")
        return bool(claimed)

    async def clear(self, refs: Sequence[str]) -> None:
        if refs:
            await self._c.one(lambda p: p.hdel(self._c.k("journal"), *refs), what="clearing image files")

    async def orphans(self, *, replica: str | None = None) -> list[str]:
        named: dict[str, str] = await self._c.one(lambda p: p.hgetall(self._c.k("journal")))
        refs = sorted(ref for ref, owner in named.items() if replica is None or owner == replica)
        if not refs:
            return []
        ids = await self._c.one(lambda p: p.hmget(self._c.k("images:path"), refs))
        return [ref for ref, image_id in zip(refs, ids, strict=True) if image_id is None]
