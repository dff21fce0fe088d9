"""A write-ahead journal of image files: an image is named here before it (and its
``*_metadata.json``) is written, and unnamed in the same transaction that commits its row. After a
crash, an image still named here has no row (its generation never finished): start-up deletes it and
its sidecar from the blob store, then clears it here, so no image ever sits unrecorded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from openai_image_mcp.store.sqlite.db import Database


def clear_in(conn: sqlite3.Connection, paths: Sequence[str]) -> None:
    """Unname ``paths`` inside the caller's transaction (the one that commits their rows)."""
    conn.executemany("DELETE FROM pending_files WHERE path = ?", [(str(p),) for p in paths])


class SqliteJournalRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def intend(self, paths: Sequence[str]) -> None:
        now = time.time()
        await self._db.run(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO pending_files (path, created_at) VALUES (?, ?)", [(str(p), now) for p in paths]
            )
        )

    async def clear(self, paths: Sequence[str]) -> None:
        await self._db.run(lambda c: clear_in(c, paths))

    async def orphans(self) -> list[str]:
        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT p.path FROM pending_files p LEFT JOIN images i ON i.path = p.path WHERE i.id IS NULL"
            ).fetchall()
            return [str(r["path"]) for r in rows]

        return await self._db.run(op)
