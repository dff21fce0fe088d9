"""Generation jobs: one row per generating tool call, so a handle outlives the call and the process."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from openai_image_mcp.core.models import JobRecord
from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.images import owned


def _row(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        session_id=row["session_id"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        message=row["message"],
        error_type=row["error_type"],
        error=row["error"],
        result=json.loads(row["result_json"]) if row["result_json"] else None,
        owner=row["owner"],
    )


class SqliteJobRepo:
    def __init__(self, db: Database, replica: str = "local") -> None:
        self._db = db
        self._replica = replica

    async def create(self, job_id: str, kind: str, session_id: str | None, *, owner: str, now: float) -> None:
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO jobs (id, kind, status, session_id, created_at, owner, replica)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (job_id, kind, session_id, now, owner, self._replica),
            )
        )

    async def finish(
        self,
        job_id: str,
        status: str,
        *,
        now: float,
        message: str = "",
        error_type: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, message = ?, error_type = ?, error = ?, result_json = ?"
                " WHERE id = ? AND status = 'running'",
                (status, now, message, error_type, error, json.dumps(result) if result else None, job_id),
            )
            return cur.rowcount > 0

        return await self._db.run(op)

    async def get(self, job_id: str, *, owner: str | None) -> JobRecord | None:
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> JobRecord | None:
            row = conn.execute(f"SELECT * FROM jobs WHERE id = ? AND {cond}", (job_id, *args)).fetchone()
            return _row(row) if row else None

        return await self._db.run(op)

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> list[str]:
        """Running jobs of ``replica`` (every replica when None) become ``interrupted``; returns their ids."""

        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM jobs WHERE status = 'running' AND (? IS NULL OR replica = ?) ORDER BY created_at, id",
                (replica, replica),
            ).fetchall()
            ids = [str(r["id"]) for r in rows]
            conn.executemany(
                "UPDATE jobs SET status = 'interrupted', finished_at = ?, error_type = 'interrupted',"
                " error = 'The server stopped before this generation finished.' WHERE id = ?",
                [(now, job_id) for job_id in ids],
            )
            return ids

        return await self._db.run(op)
