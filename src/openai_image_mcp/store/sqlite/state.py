"""The state store on one SQLite file (WAL, numbered migrations)."""

from __future__ import annotations

from pathlib import Path

import anyio

from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.images import SqliteImageRepo
from openai_image_mcp.store.sqlite.jobs import SqliteJobRepo
from openai_image_mcp.store.sqlite.journal import SqliteJournalRepo
from openai_image_mcp.store.sqlite.ledger import SqliteLedgerRepo
from openai_image_mcp.store.sqlite.sessions import SqliteSessionRepo
from openai_image_mcp.store.sqlite.uploads import SqliteUploadRepo


class SqliteStateStore:
    """:class:`~openai_image_mcp.store.ports.StateStore` on ``path``, writing for ``replica`` (the id of this
    process: it tags pending turns, running jobs and journal entries; a single process is simply ``local``)."""

    def __init__(self, path: Path, *, replica: str = "local") -> None:
        self.db = Database(path)
        self._replica = replica
        self.sessions = SqliteSessionRepo(self.db, replica)
        self.images = SqliteImageRepo(self.db)
        self.jobs = SqliteJobRepo(self.db, replica)
        self.uploads = SqliteUploadRepo(self.db)
        self.journal = SqliteJournalRepo(self.db, replica)
        self.ledger = SqliteLedgerRepo(self.db)

    @property
    def replica(self) -> str:
        return self._replica

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self.db.open)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.db.close)
