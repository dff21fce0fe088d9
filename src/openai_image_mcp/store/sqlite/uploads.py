"""Files uploaded to OpenAI (Files API), cached by content hash per session, deleted when done."""

from __future__ import annotations

import sqlite3

from openai_image_mcp.store.sqlite.db import Database


class SqliteUploadRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, session_id: str | None, sha256: str) -> str | None:
        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT file_id FROM uploads WHERE session_id IS ? AND sha256 = ? AND deleted_at IS NULL",
                (session_id, sha256),
            ).fetchone()
            return str(row["file_id"]) if row else None

        return await self._db.run(op)

    async def add(
        self, file_id: str, session_id: str | None, sha256: str, size: int, *, owner: str, now: float
    ) -> None:
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO uploads (file_id, session_id, sha256, bytes, created_at, owner) VALUES (?,?,?,?,?,?)",
                (file_id, session_id, sha256, size, now, owner),
            )
        )

    async def stale(self, *, one_off_before: float) -> list[str]:
        """Uploads still on OpenAI whose session is no longer active, and one-off uploads (no session) made
        before ``one_off_before``: a one-off upload is deleted by the call that made it, so an older one was
        left by a crash, while a newer one may still be in use."""

        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT u.file_id FROM uploads u LEFT JOIN sessions s ON s.id = u.session_id "
                "WHERE u.deleted_at IS NULL AND ("
                "(u.session_id IS NULL AND u.created_at < ?) "
                "OR (u.session_id IS NOT NULL AND (s.status IS NULL OR s.status != 'active')))",
                (one_off_before,),
            ).fetchall()
            return [str(r["file_id"]) for r in rows]

        return await self._db.run(op)

    async def mark_deleted(self, file_id: str, *, now: float) -> None:
        await self._db.run(lambda c: c.execute("UPDATE uploads SET deleted_at = ? WHERE file_id = ?", (now, file_id)))
