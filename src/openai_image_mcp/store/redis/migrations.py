"""Numbered, append-only migrations of the Redis key layout, recorded in ``<prefix>schema`` (the last number).

Never edit a shipped one: add the next number. Several replicas may start at once, so a migration must be safe to
run twice (each is idempotent); the recorded number only grows (a script keeps the larger). A layout newer than
this code knows is refused: an older replica would misread or corrupt what a newer one wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.logs import safe_url
from openai_image_mcp.store.redis.client import RedisClient

Migration = Callable[[RedisClient], Awaitable[None]]


async def _initial(client: RedisClient) -> None:
    """The first layout (see the package docstring) needs nothing created up front."""


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial layout: sessions, turns, images, jobs, uploads, journal, ledger", _initial),
]

_RECORD = """
local current = tonumber(redis.call('GET', k('schema')) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', k('schema'), ARGV[1]) end
return 0
"""


async def apply(client: RedisClient) -> list[int]:
    """Apply every migration newer than the recorded number; returns the numbers applied."""
    raw = await client.one(lambda p: p.get(client.k("schema")), what="reading the schema version")
    current = int(raw or 0)
    latest = MIGRATIONS[-1][0]
    if current > latest:
        raise StorageError(
            f"The state store at {safe_url(client.url)} (prefix '{client.prefix}') has schema {current}, newer than"
            f" this server knows ({latest}): upgrade this server, or use another prefix.",
            suggestion="Run the same version of the server on every replica.",
        )
    applied: list[int] = []
    for number, _name, migrate in MIGRATIONS:
        if number <= current:
            continue
        await migrate(client)
        await client.script(_RECORD, number, what=f"recording migration {number}")
        applied.append(number)
    return applied
