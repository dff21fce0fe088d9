"""Image rows: one per file on disk, with its metadata."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from openai_image_mcp.core.models import ImageRecord
from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.journal import clear_in

_COLUMNS = (
    "id, session_id, turn_id, path, sha256, file_size, width, height, mime_type, use_case, prompt, "
    "revised_prompt, model, response_id, created_at, metadata_json, owner"
)


def insert_image(conn: sqlite3.Connection, rec: ImageRecord) -> None:
    conn.execute(
        f"INSERT INTO images ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            rec.id,
            rec.session_id,
            rec.turn_id,
            rec.path,
            rec.sha256,
            rec.file_size,
            rec.width,
            rec.height,
            rec.mime_type,
            rec.use_case,
            rec.prompt,
            rec.revised_prompt,
            rec.model,
            rec.response_id,
            rec.created_at,
            json.dumps(rec.metadata, default=str),
            rec.owner,
        ),
    )


def row_to_image(row: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"],
        path=row["path"],
        sha256=row["sha256"],
        file_size=row["file_size"],
        width=row["width"],
        height=row["height"],
        mime_type=row["mime_type"],
        use_case=row["use_case"],
        prompt=row["prompt"],
        revised_prompt=row["revised_prompt"],
        model=row["model"],
        created_at=row["created_at"],
        session_id=row["session_id"],
        turn_id=row["turn_id"],
        response_id=row["response_id"],
        metadata=json.loads(row["metadata_json"] or "{}"),
        owner=row["owner"],
    )


def owned(owner: str | None, column: str = "owner") -> tuple[str, list[Any]]:
    """A WHERE condition limiting rows to ``owner`` (none for ``None``: every owner)."""
    return ("1 = 1", []) if owner is None else (f"{column} = ?", [owner])


class SqliteImageRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, records: Sequence[ImageRecord]) -> None:
        """Commit rows (and take their files out of the write-ahead journal, in the same transaction)."""

        def op(conn: sqlite3.Connection) -> None:
            for rec in records:
                insert_image(conn, rec)
            clear_in(conn, [rec.path for rec in records])

        await self._db.run(op)

    async def get(self, image_id: str, *, owner: str | None) -> ImageRecord | None:
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> ImageRecord | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE id = ? AND {cond}", (image_id, *args)).fetchone()
            return row_to_image(row) if row else None

        return await self._db.run(op)

    async def by_path(self, path: str, *, owner: str | None) -> ImageRecord | None:
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> ImageRecord | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE path = ? AND {cond}", (path, *args)).fetchone()
            return row_to_image(row) if row else None

        return await self._db.run(op)

    async def for_session(self, session_id: str) -> list[ImageRecord]:
        def op(conn: sqlite3.Connection) -> list[ImageRecord]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM images WHERE session_id = ? ORDER BY created_at, path", (session_id,)
            ).fetchall()
            return [row_to_image(r) for r in rows]

        return await self._db.run(op)

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
        """Images newest first, filtered; returns one page and the total that match."""
        cond, args = owned(owner)
        where: list[str] = [cond]
        if session_id:
            where.append("session_id = ?")
            args.append(session_id)
        if use_case:
            where.append("use_case = ?")
            args.append(use_case)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(prompt LIKE ? ESCAPE '\\' OR coalesce(revised_prompt, '') LIKE ? ESCAPE '\\')")
            args += [f"%{escaped}%", f"%{escaped}%"]
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if until is not None:
            where.append("created_at < ?")
            args.append(until)
        clause = " AND ".join(where)

        def op(conn: sqlite3.Connection) -> tuple[list[ImageRecord], int]:
            total = conn.execute(f"SELECT count(*) FROM images WHERE {clause}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM images WHERE {clause} ORDER BY created_at DESC, path DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            return [row_to_image(r) for r in rows], int(total)

        return await self._db.run(op)

    async def count(self, *, owner: str | None) -> int:
        cond, args = owned(owner)
        return await self._db.run(
            lambda conn: int(conn.execute(f"SELECT count(*) FROM images WHERE {cond}", args).fetchone()[0])
        )

    async def total_bytes(self, *, owner: str | None) -> int:
        cond, args = owned(owner)
        return await self._db.run(
            lambda conn: int(
                conn.execute(f"SELECT coalesce(sum(file_size), 0) FROM images WHERE {cond}", args).fetchone()[0]
            )
        )
