"""The state store on Redis, shared by every replica that names the same URL and prefix."""

from __future__ import annotations

from openai_image_mcp.store.redis import migrations
from openai_image_mcp.store.redis.client import RedisClient
from openai_image_mcp.store.redis.images import RedisImageRepo
from openai_image_mcp.store.redis.jobs import RedisJobRepo
from openai_image_mcp.store.redis.journal import RedisJournalRepo
from openai_image_mcp.store.redis.ledger import RedisLedgerRepo
from openai_image_mcp.store.redis.sessions import RedisSessionRepo
from openai_image_mcp.store.redis.uploads import RedisUploadRepo


class RedisStateStore:
    """:class:`~openai_image_mcp.store.ports.StateStore` in the Redis at ``url`` (``redis://`` or ``rediss://``,
    with its password if any), under the keys starting with ``prefix``, writing for ``replica``."""

    def __init__(self, url: str, *, replica: str, prefix: str = "oim:") -> None:
        self.client = RedisClient(url, prefix)
        self._replica = replica
        self.images = RedisImageRepo(self.client)
        self.sessions = RedisSessionRepo(self.client, self.images, replica)
        self.jobs = RedisJobRepo(self.client, replica)
        self.uploads = RedisUploadRepo(self.client)
        self.journal = RedisJournalRepo(self.client, replica)
        self.ledger = RedisLedgerRepo(self.client)

    @property
    def replica(self) -> str:
        return self._replica

    async def open(self) -> None:
        """Connect, and bring the key layout up to date (raises :class:`~openai_image_mcp.core.errors.StorageError`)."""
        await self.client.open()
        try:
            await migrations.apply(self.client)
        except BaseException:
            await self.client.close()
            raise

    async def close(self) -> None:
        await self.client.close()
