"""The state store on Redis, which several replicas share (and, in :mod:`.coordination`, their coordinator).

Redis key layout and persistence
--------------------------------

Every key starts with the prefix (``oim:`` by default; ``{oim}:`` keeps them in one slot of a Redis Cluster).
``<sid>``, ``<o>`` (an owner), ``<uc>`` (a use case) are values; sorted sets are scored by time unless noted.

- ``schema``: the number of the last migration applied (:mod:`.migrations`).
- ``session:<sid>`` (hash): the session's fields, ``turn_seq`` (the counter numbering its turns), ``turn_count``,
  ``image_count`` and ``fence`` (the highest fencing token its turns were begun or committed with).
  ``sessions``, ``sessions:owner:<o>``, ``sessions:active``, ``sessions:active:<o>`` (by last activity);
  ``sessions:folders`` (set); ``sessions:counts``, ``sessions:counts:<o>`` (hash: status -> count).
- ``turn:<tid>`` (hash); ``session_turns:<sid>`` (scored by number); ``pending_turns`` (hash: turn -> replica).
- ``image:<id>`` (JSON); ``images:path`` (hash: path -> id); ``images``, ``images:owner:<o>``,
  ``images:session:<sid>``, ``images:use_case:<uc>``, ``images:owner_use_case:<o>:<uc>`` (members are paths, so
  equal times order by path); ``images:bytes`` (hash: owner -> bytes).
- ``job:<id>`` (hash); ``jobs:running`` (hash: job -> replica).
- ``upload:<file_id>`` (hash); ``uploads:live`` (set); ``uploads:by:<sid>:<sha256>`` (set of live file ids).
- ``journal`` (hash: image ref -> replica writing it).
- ``ledger:entry:<id>`` (hash); ``ledger:calls``, ``ledger:calls:<o>``, ``ledger:reservations``;
  ``ledger:months:<scope>`` (hash: ``YYYY-MM`` -> usd), ``ledger:days:<YYYY-MM>:<scope>`` (hash: day -> usd),
  where ``<scope>`` is ``all`` or ``o:<owner>``.
- ``co:...``: the coordinator's locks, channels, limits and heartbeats (:mod:`.coordination`).

TTLs: only what stops mattering expires: a finished (or interrupted) job after 30 days, a deleted upload after 30
days, and the coordinator's leases and heartbeats. Sessions, turns, images, the journal and the ledger are durable
and have no TTL, so the Redis must never evict them: run it with ``maxmemory-policy noeviction``.

Persistence: the state is the record of what was generated and spent, so Redis must keep it across restarts. Run
it with the append-only file: ``appendonly yes`` and ``appendfsync everysec`` (at most a second of writes lost on a
power cut; RDB snapshots alone can lose minutes).
"""

from openai_image_mcp.store.redis.state import RedisStateStore

__all__ = ["RedisStateStore"]
