"""The cost ledger in Redis: a hash per entry, calls and reservations by time, and running totals.

Budgets are checked against running totals kept per scope (everyone, and each owner) by UTC month and by UTC day
within a month, so a check reads at most a month's days and the list of months, whatever the size of the ledger.
:meth:`RedisLedgerRepo.reserve` checks every limit and inserts the reservation in one script: replicas reserving at
once cannot overshoot a budget together. Totals are written with 17 significant digits, so sums are the same
doubles SQLite would add up.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from openai_image_mcp.core.models import BudgetExceededInfo, BudgetLimit, LedgerEntry
from openai_image_mcp.store.redis.client import Arg, RedisClient, dumps, score

#: Lua: spending totals. ``scope`` is ``all`` or ``o:<owner>``; an entry is packed as 7 values (see :func:`_pack`).
_LEDGER_LIB = """
local function add_spend(owner, day, month, delta)
  for _, scope in ipairs({'all', 'o:' .. owner}) do
    hadd(k('ledger:months', scope), month, delta)
    hadd(k('ledger:days', month, scope), day, delta)
  end
end
local function spent(scope, day, month)
  local total = 0
  local months = redis.call('HGETALL', k('ledger:months', scope))
  for i = 1, #months, 2 do
    if months[i] > month then total = total + tonumber(months[i + 1]) end
  end
  local days = redis.call('HGETALL', k('ledger:days', month, scope))
  for i = 1, #days, 2 do
    if days[i] >= day then total = total + tonumber(days[i + 1]) end
  end
  return math.max(0, total)
end
local function insert(b)
  local id, kind, owner, t, cost, day, json = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4],
    ARGV[b + 5], ARGV[b + 6]
  redis.call('HSET', k('ledger:entry', id), 'kind', kind, 'owner', owner, 'created_at', t, 'cost', cost,
    'day', day, 'json', json)
  if kind == 'call' then
    redis.call('ZADD', k('ledger:calls'), t, id)
    redis.call('ZADD', k('ledger:calls', owner), t, id)
  else
    redis.call('ZADD', k('ledger:reservations'), t, id)
  end
  if cost ~= '' and tonumber(cost) ~= 0 then add_spend(owner, day, string.sub(day, 1, 7), tonumber(cost)) end
end
local function drop(id)
  local key = k('ledger:entry', id)
  local f = redis.call('HMGET', key, 'kind', 'owner', 'cost', 'day')
  if f[1] ~= 'reservation' then return 0 end
  if f[3] ~= '' and tonumber(f[3]) ~= 0 then add_spend(f[2], f[4], string.sub(f[4], 1, 7), -tonumber(f[3])) end
  redis.call('DEL', key)
  redis.call('ZREM', k('ledger:reservations'), id)
  return 1
end
"""

# ARGV: the entry (7 values), its cost or 0, the number of limits, then 4 values per limit
_RESERVE = """
local cost, n = tonumber(ARGV[8]), tonumber(ARGV[9])
for i = 0, n - 1 do
  local b = 10 + i * 4
  local so_far = spent(ARGV[b], ARGV[b + 1], ARGV[b + 2])
  if so_far + cost > tonumber(ARGV[b + 3]) then return {i + 1, num(so_far)} end
end
insert(1)
return {0}
"""

# ARGV: the reservation id ('' for none), then 7 values per call
_SETTLE = """
if ARGV[1] ~= '' then drop(ARGV[1]) end
for b = 2, #ARGV, 7 do insert(b) end
return 0
"""

_SPENT = """
return num(spent(ARGV[1], ARGV[2], ARGV[3]))
"""

_DROP = """
local ids = redis.call('ZRANGEBYSCORE', k('ledger:reservations'), '-inf', ARGV[1])
for _, id in ipairs(ids) do drop(id) end
return #ids
"""


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _scope(owner: str | None) -> str:
    return "all" if owner is None else f"o:{owner}"


def _since(owner: str | None, since: float) -> list[Arg]:
    day = _day(since)
    return [_scope(owner), day, day[:7]]


def _pack(e: LedgerEntry) -> list[Arg]:
    cost = "" if e.cost_usd is None else score(e.cost_usd)
    return [e.id, e.kind, e.owner, score(e.created_at), cost, _day(e.created_at), dumps(dataclasses.asdict(e))]


def _decode(raw: str) -> LedgerEntry:
    fields: dict[str, Any] = json.loads(raw)
    return LedgerEntry(**fields)


_GROUPS: dict[str, Callable[[LedgerEntry], str]] = {
    "day": lambda e: _day(e.created_at),
    "month": lambda e: _day(e.created_at)[:7],
    "session": lambda e: e.session_id or "",
    "model": lambda e: f"{e.image_model or ''} + {e.mainline_model or ''}",
    "principal": lambda e: e.owner,
    "tool": lambda e: e.tool,
}


class RedisLedgerRepo:
    def __init__(self, client: RedisClient) -> None:
        self._c = client

    async def reserve(self, entry: LedgerEntry, limits: Sequence[BudgetLimit]) -> BudgetExceededInfo | None:
        args: list[Arg] = [*_pack(entry), score(entry.cost_usd or 0.0), len(limits)]
        for limit in limits:
            args += [*_since(limit.owner, limit.since), score(limit.limit_usd)]
        answer = await self._c.script(_LEDGER_LIB + _RESERVE, *args, what="reserving a budget")
        if int(answer[0]) == 0:
            return None
        return BudgetExceededInfo(limits[int(answer[0]) - 1], float(answer[1]))

    async def settle(self, reservation_id: str | None, calls: Sequence[LedgerEntry]) -> None:
        args: list[Arg] = [reservation_id or ""]
        for call in calls:
            args += _pack(call)
        await self._c.script(_LEDGER_LIB + _SETTLE, *args, what="settling a call")

    async def spent(self, *, owner: str | None, since: float) -> float:
        return float(await self._c.script(_LEDGER_LIB + _SPENT, *_since(owner, since), what="summing spending"))

    async def calls(self, *, owner: str | None, since: float, until: float) -> list[LedgerEntry]:
        key = self._c.k("ledger:calls") if owner is None else self._c.k("ledger:calls", owner)
        ids = await self._c.one(lambda p: p.zrangebyscore(key, score(since), "(" + score(until)))
        if not ids:
            return []
        raws = await self._c.batch(lambda p: [p.hget(self._c.k("ledger:entry", i), "json") for i in ids])
        return [_decode(r) for r in raws if r is not None]

    async def report(self, *, owner: str | None, since: float, until: float, group_by: str) -> list[dict[str, Any]]:
        key_of = _GROUPS[group_by]
        groups: dict[str, list[LedgerEntry]] = defaultdict(list)
        for e in await self.calls(owner=owner, since=since, until=until):
            groups[key_of(e)].append(e)
        return [
            {
                "key": key,
                "calls": len(entries),
                "usd": float(sum(e.cost_usd for e in entries if e.cost_usd is not None)),
                "unpriced_calls": sum(e.cost_usd is None for e in entries),
            }
            for key, entries in sorted(groups.items())
        ]

    async def drop_reservations(self, *, older_than: float | None = None) -> int:
        """Reservations made before ``older_than`` (every one when None), left by a process that stopped mid-call."""
        before = "+inf" if older_than is None else "(" + score(older_than)
        return int(await self._c.script(_LEDGER_LIB + _DROP, before, what="dropping reservations"))
