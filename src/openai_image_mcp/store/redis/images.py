"""Image records in Redis: one JSON string per image, and sorted sets to find them.

Every index is a sorted set of image *paths* scored by ``created_at``: Redis orders equal scores by member, so a
range comes out exactly in SQLite's ``ORDER BY created_at, path`` (reversed for newest first), and a page or a
count over one index is a range query. A search that filters on more than its index holds (text, or the owner
within a session) reads its range in chunks and filters here, as SQLite scans with ``LIKE``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence
from typing import Any

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.models import ImageRecord
from openai_image_mcp.store.redis.client import Arg, RedisClient, dumps, esc, opt, score

_CHUNK = 500

#: Lua: check (``image_conflict``) and write (``add_images``) the images packed from ``ARGV[at]`` on (a count,
#: then 8 values per image, see :func:`pack`); ``add_images`` also takes their paths out of the journal.
IMAGE_LIB = """
local function image_conflict(at)
  local n = tonumber(ARGV[at])
  for i = 0, n - 1 do
    local b = at + 1 + i * 8
    if redis.call('EXISTS', k('image', ARGV[b])) == 1 or redis.call('HEXISTS', k('images:path'), ARGV[b + 1]) == 1 then
      return ARGV[b]
    end
  end
  return nil
end
local function add_images(at)
  local n = tonumber(ARGV[at])
  for i = 0, n - 1 do
    local b = at + 1 + i * 8
    local id, path, sid, owner, uc, t, size = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4],
      ARGV[b + 5], ARGV[b + 6]
    redis.call('SET', k('image', id), ARGV[b + 7])
    redis.call('HSET', k('images:path'), path, id)
    redis.call('ZADD', k('images'), t, path)
    redis.call('ZADD', k('images:owner', owner), t, path)
    redis.call('ZADD', k('images:use_case', uc), t, path)
    redis.call('ZADD', k('images:owner_use_case', esc(owner), uc), t, path)
    redis.call('HINCRBY', k('images:bytes'), owner, size)
    if sid ~= '' then
      redis.call('ZADD', k('images:session', sid), t, path)
      if redis.call('EXISTS', k('session', sid)) == 1 then
        redis.call('HINCRBY', k('session', sid), 'image_count', 1)
      end
    end
    redis.call('HDEL', k('journal'), path)
  end
end
"""

_ADD = """
local dup = image_conflict(1)
if dup then return dup end
add_images(1)
return ''
"""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def pack(records: Sequence[ImageRecord]) -> list[Arg]:
    """The script arguments of ``records`` (see :data:`IMAGE_LIB`)."""
    args: list[Arg] = [len(records)]
    for rec in records:
        args += [rec.id, rec.path, opt(rec.session_id), rec.owner, rec.use_case, score(rec.created_at)]
        args += [int(rec.file_size), dumps(dataclasses.asdict(rec))]
    return args


def decode_image(raw: str) -> ImageRecord:
    fields: dict[str, Any] = json.loads(raw)
    return ImageRecord(**fields)


def like(text: str, value: str | None) -> bool:
    """SQLite's ``value LIKE '%text%'``: a substring, case-insensitive for ASCII letters only."""
    return text.translate(_ASCII_LOWER) in (value or "").translate(_ASCII_LOWER)


class RedisImageRepo:
    def __init__(self, client: RedisClient) -> None:
        self._c = client

    async def add(self, records: Sequence[ImageRecord]) -> None:
        if not records:
            return
        dup = await self._c.script(IMAGE_LIB + _ADD, *pack(records), what="adding images")
        if dup:
            raise StorageError(f"State store error: image {dup} (or its path) is already recorded.")

    async def by_ids(self, ids: Sequence[str]) -> list[ImageRecord]:
        raws = await self._c.strings([self._c.k("image", i) for i in ids])
        return [decode_image(r) for r in raws if r is not None]

    async def by_paths(self, paths: Sequence[str]) -> list[ImageRecord]:
        if not paths:
            return []
        ids = await self._c.one(lambda p: p.hmget(self._c.k("images:path"), list(paths)))
        return await self.by_ids([i for i in ids if i is not None])

    async def get(self, image_id: str, *, owner: str | None) -> ImageRecord | None:
        found = await self.by_ids([image_id])
        return found[0] if found and (owner is None or found[0].owner == owner) else None

    async def by_path(self, path: str, *, owner: str | None) -> ImageRecord | None:
        found = await self.by_paths([path])
        return found[0] if found and (owner is None or found[0].owner == owner) else None

    async def for_session(self, session_id: str) -> list[ImageRecord]:
        paths = await self._c.one(lambda p: p.zrange(self._c.k("images:session", session_id), 0, -1))
        return await self.by_paths(paths)

    def _index(self, owner: str | None, session_id: str | None, use_case: str | None) -> str:
        """The narrowest sorted set holding every image that can match."""
        if session_id:
            return self._c.k("images:session", session_id)
        if use_case:
            if owner is not None:
                return self._c.k("images:owner_use_case", esc(owner), use_case)
            return self._c.k("images:use_case", use_case)
        return self._c.k("images") if owner is None else self._c.k("images:owner", owner)

    async def search(
        self,
        *,
        owner: str | None,
        session_id: str | None = None,
        use_case: str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[ImageRecord], int]:
        """Images newest first, filtered; one page and the total that match."""
        key = self._index(owner, session_id, use_case)
        low = "-inf" if since is None else score(since)
        high = "+inf" if until is None else "(" + score(until)
        if not text and (not session_id or (owner is None and not use_case)):  # the index holds exactly the matches
            total, paths = await self._c.batch(
                lambda p: [p.zcount(key, low, high), p.zrevrangebyscore(key, high, low, start=offset, num=limit)]
            )
            return await self.by_paths(paths), int(total)

        def matches(rec: ImageRecord) -> bool:
            return (
                (owner is None or rec.owner == owner)
                and (not use_case or rec.use_case == use_case)
                and (not text or like(text, rec.prompt) or like(text, rec.revised_prompt))
            )

        page: list[ImageRecord] = []
        total = 0
        for start in itertools.count(0, _CHUNK):
            paths = await self._newest(key, high, low, start, _CHUNK)
            for rec in await self.by_paths(paths):
                if matches(rec):
                    if offset <= total < offset + limit:
                        page.append(rec)
                    total += 1
            if len(paths) < _CHUNK:
                break
        return page, total

    async def _newest(self, key: str, high: str, low: str, start: int, num: int) -> list[str]:
        return list(await self._c.one(lambda p: p.zrevrangebyscore(key, high, low, start=start, num=num)))

    async def count(self, *, owner: str | None) -> int:
        key = self._c.k("images") if owner is None else self._c.k("images:owner", owner)
        return int(await self._c.one(lambda p: p.zcard(key)))

    async def total_bytes(self, *, owner: str | None) -> int:
        key = self._c.k("images:bytes")
        if owner is None:
            return sum(int(v) for v in await self._c.one(lambda p: p.hvals(key)))
        return int(await self._c.one(lambda p: p.hget(key, owner)) or 0)
