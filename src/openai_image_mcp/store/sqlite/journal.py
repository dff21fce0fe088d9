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
    def __init__(self, db: Database, replica: str = "local") -> None:
        self._db = db
        self._replica = replica

    async def intend(self, paths: Sequence[str]) -> bool:
        now = time.time()

        def op(conn: sqlite3.Connection) -> bool:
            for p in paths:
                taken = conn.execute(
                    "SELECT 1 FROM pending_files WHERE path = ? UNION ALL SELECT 1 FROM images WHERE path = ?",
                    (str(p), str(p)),
                ).fetchone()
                if taken is not None:
                    return False
            conn.executemany(
                "INSERT INTO pending_files (path, created_at, replica) VALUES (?, ?, ?)",
                [(str(p), now, self._replica) for p in paths],
            )
            return True

        return await self._db.run(op)

    async def clear(self, paths: Sequence[str]) -> None:
        await self._db.run(lambda c: clear_in(c, paths))

    async def orphans(self, *, replica: str | None = None) -> list[str]:
        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT p.path FROM pending_files p LEFT JOIN images i ON i.path = p.path"
                " WHERE i.id IS NULL AND (? IS NULL OR p.replica = ?) ORDER BY p.path",
                (replica, replica),
            ).fetchall()
            return [str(r["path"]) for r in rows]

        return await self._db.run(op)
