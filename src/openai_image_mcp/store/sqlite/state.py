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
    """:class:`~openai_image_mcp.store.ports.StateStore` on ``path``."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        self.sessions = SqliteSessionRepo(self.db)
        self.images = SqliteImageRepo(self.db)
        self.jobs = SqliteJobRepo(self.db)
        self.uploads = SqliteUploadRepo(self.db)
        self.journal = SqliteJournalRepo(self.db)
        self.ledger = SqliteLedgerRepo(self.db)

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self.db.open)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.db.close)
