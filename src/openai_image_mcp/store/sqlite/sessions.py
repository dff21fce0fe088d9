"""Sessions and their turns. A turn is ``pending`` while OpenAI works; it then becomes
``completed`` (with its images, in the same transaction), ``failed``, ``cancelled`` or, when the
server stopped under it, ``interrupted``. A pending turn carries the replica that runs it, and a session the
highest fencing token its turns were begun or completed with (see :mod:`openai_image_mcp.store.ports`)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from openai_image_mcp.core.errors import LeaseLost, SessionNotFound
from openai_image_mcp.core.models import ImageRecord, SessionRecord, TurnRecord, TurnStatus
from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.images import insert_image, owned
from openai_image_mcp.store.sqlite.journal import clear_in

_SESSION_SELECT = """
SELECT s.*,
       (SELECT count(*) FROM turns t WHERE t.session_id = s.id AND t.status = 'completed') AS turn_count,
       (SELECT count(*) FROM images i WHERE i.session_id = s.id) AS image_count
FROM sessions s
"""


def _row_to_session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        model=row["model"],
        image_model=row["image_model"],
        status=row["status"],
        created_at=row["created_at"],
        last_activity=row["last_activity"],
        closed_at=row["closed_at"],
        last_response_id=row["last_response_id"],
        folder=row["folder"],
        use_case=row["use_case"],
        turn_count=row["turn_count"],
        image_count=row["image_count"],
        pending_image_id=row["pending_image_id"],
        style_series=row["style_series"],
        owner=row["owner"],
    )


def _row_to_turn(row: sqlite3.Row, image_ids: Sequence[str]) -> TurnRecord:
    return TurnRecord(
        id=row["id"],
        session_id=row["session_id"],
        seq=row["seq"],
        prompt=row["prompt"],
        params=json.loads(row["params_json"]),
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        response_id=row["response_id"],
        previous_response_id=row["previous_response_id"],
        model_text=row["model_text"],
        error_type=row["error_type"],
        error=row["error"],
        usage=json.loads(row["usage_json"]),
        image_ids=tuple(image_ids),
    )


def _expire(conn: sqlite3.Connection, now: float, idle_timeout: float) -> list[str]:
    cutoff = now - idle_timeout
    rows = conn.execute("SELECT id FROM sessions WHERE status = 'active' AND last_activity <= ?", (cutoff,)).fetchall()
    ids = [r["id"] for r in rows]
    if ids:
        conn.execute(
            "UPDATE sessions SET status = 'expired', closed_at = last_activity + ? "
            "WHERE status = 'active' AND last_activity <= ?",
            (idle_timeout, cutoff),
        )
    return ids


def _check_fence(conn: sqlite3.Connection, session_id: str, fence: int | None) -> None:
    """Refuse a fence lower than the session has seen (its lock was granted again since); remember a higher one."""
    row = conn.execute("SELECT fence FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise SessionNotFound(f"No session '{session_id}'.")
    if fence is None:
        return
    if fence < row["fence"]:
        raise LeaseLost(f"The lock of session '{session_id}' was granted again (fence {fence} < {row['fence']}).")
    conn.execute("UPDATE sessions SET fence = ? WHERE id = ?", (fence, session_id))


class SqliteSessionRepo:
    def __init__(self, db: Database, replica: str = "local") -> None:
        self._db = db
        self._replica = replica

    async def create(
        self, rec: SessionRecord, *, max_active: int, now: float, idle_timeout: float
    ) -> list[SessionRecord]:
        """Insert ``rec`` unless ``max_active`` sessions are open; then return the open ones instead."""

        def op(conn: sqlite3.Connection) -> list[SessionRecord]:
            _expire(conn, now, idle_timeout)
            active = conn.execute(
                "SELECT count(*) FROM sessions WHERE status = 'active' AND owner = ?", (rec.owner,)
            ).fetchone()[0]
            if active >= max_active:
                rows = conn.execute(
                    _SESSION_SELECT + " WHERE s.status = 'active' AND s.owner = ? ORDER BY s.last_activity LIMIT 5",
                    (rec.owner,),
                ).fetchall()
                return [_row_to_session(r) for r in rows]
            conn.execute(
                "INSERT INTO sessions (id, name, description, model, image_model, status, created_at, last_activity,"
                " closed_at, last_response_id, folder, use_case, pending_image_id, style_series, owner)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.id,
                    rec.name,
                    rec.description,
                    rec.model,
                    rec.image_model,
                    rec.status,
                    rec.created_at,
                    rec.last_activity,
                    rec.closed_at,
                    rec.last_response_id,
                    rec.folder,
                    rec.use_case,
                    rec.pending_image_id,
                    rec.style_series,
                    rec.owner,
                ),
            )
            return []

        return await self._db.run(op)

    async def get(self, session_id: str, *, owner: str | None, now: float, idle_timeout: float) -> SessionRecord | None:
        cond, args = owned(owner, "s.owner")

        def op(conn: sqlite3.Connection) -> SessionRecord | None:
            _expire(conn, now, idle_timeout)
            row = conn.execute(_SESSION_SELECT + f" WHERE s.id = ? AND {cond}", (session_id, *args)).fetchone()
            return _row_to_session(row) if row else None

        return await self._db.run(op)

    async def list_sessions(
        self, *, owner: str | None, now: float, idle_timeout: float, status: str | None = "active"
    ) -> list[SessionRecord]:
        cond, args = owned(owner, "s.owner")
        if status is not None:
            cond += " AND s.status = ?"
            args.append(status)

        def op(conn: sqlite3.Connection) -> list[SessionRecord]:
            _expire(conn, now, idle_timeout)
            rows = conn.execute(_SESSION_SELECT + f" WHERE {cond} ORDER BY s.last_activity DESC", args).fetchall()
            return [_row_to_session(r) for r in rows]

        return await self._db.run(op)

    async def folders(self) -> set[str]:
        return await self._db.run(lambda c: {str(r[0]) for r in c.execute("SELECT folder FROM sessions")})

    async def counts(self, *, owner: str | None) -> dict[str, int]:
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(
                f"SELECT status, count(*) AS n FROM sessions WHERE {cond} GROUP BY status", args
            ).fetchall()
            return {r["status"]: r["n"] for r in rows}

        return await self._db.run(op)

    async def expire_idle(self, *, now: float, idle_timeout: float) -> list[str]:
        return await self._db.run(lambda conn: _expire(conn, now, idle_timeout))

    async def close(self, session_id: str, *, now: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE sessions SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'active'",
                (now, session_id),
            )
            return cur.rowcount == 1

        return await self._db.run(op)

    async def begin_turn(
        self,
        session_id: str,
        prompt: str,
        params: dict[str, Any],
        previous_response_id: str | None,
        *,
        now: float,
        fence: int | None = None,
    ) -> TurnRecord:
        def op(conn: sqlite3.Connection) -> TurnRecord:
            _check_fence(conn, session_id, fence)
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            turn_id = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO turns (id, session_id, seq, prompt, params_json, status, created_at, previous_response_id,"
                " owner, replica) SELECT ?,?,?,?,?,'pending',?,?, owner, ? FROM sessions WHERE id = ?",
                (
                    turn_id,
                    session_id,
                    seq,
                    prompt,
                    json.dumps(params),
                    now,
                    previous_response_id,
                    self._replica,
                    session_id,
                ),
            )
            conn.execute("UPDATE sessions SET last_activity = ? WHERE id = ?", (now, session_id))
            row = conn.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            return _row_to_turn(row, ())

        return await self._db.run(op)

    async def complete_turn(
        self,
        turn: TurnRecord,
        *,
        response_id: str | None,
        model_text: str,
        usage: dict[str, Any],
        images: Sequence[ImageRecord],
        now: float,
        fence: int | None = None,
    ) -> None:
        """Record the turn's images and outcome, and advance the session's chain, atomically (the images
        leave the file journal in the same transaction). A turn no longer pending, or a fence older than the
        session's, raises :class:`LeaseLost` and rolls everything back."""

        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status FROM turns WHERE id = ?", (turn.id,)).fetchone()
            if row is None or row["status"] != "pending":
                raise LeaseLost(f"Turn {turn.id} is no longer pending ({row['status'] if row else 'unknown'}).")
            _check_fence(conn, turn.session_id, fence)
            for rec in images:
                insert_image(conn, rec)
            clear_in(conn, [rec.path for rec in images])
            conn.execute(
                "UPDATE turns SET status = 'completed', finished_at = ?, response_id = ?, model_text = ?,"
                " usage_json = ? WHERE id = ?",
                (now, response_id, model_text, json.dumps(usage), turn.id),
            )
            # the chain advances, and a promoted session's seed image has now been sent
            conn.execute(
                "UPDATE sessions SET last_response_id = coalesce(?, last_response_id), last_activity = ?,"
                " pending_image_id = NULL WHERE id = ?",
                (response_id, now, turn.session_id),
            )

        await self._db.run(op)

    async def end_turn(self, turn_id: str, status: TurnStatus, *, error_type: str, error: str, now: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE turns SET status = ?, finished_at = ?, error_type = ?, error = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, now, error_type, error, turn_id),
            )

        await self._db.run(op)

    async def turns(self, session_id: str) -> list[TurnRecord]:
        def op(conn: sqlite3.Connection) -> list[TurnRecord]:
            image_rows = conn.execute(
                "SELECT turn_id, id FROM images WHERE session_id = ? ORDER BY created_at, path", (session_id,)
            ).fetchall()
            by_turn: dict[str, list[str]] = {}
            for r in image_rows:
                by_turn.setdefault(r["turn_id"], []).append(r["id"])
            rows = conn.execute("SELECT * FROM turns WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
            return [_row_to_turn(r, by_turn.get(r["id"], [])) for r in rows]

        return await self._db.run(op)

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> int:
        """Turns left pending by a stopped process (``replica``; any when None) did not finish: say so."""

        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE turns SET status = 'interrupted', finished_at = ?, error_type = 'interrupted',"
                " error = 'The server stopped before this turn finished.'"
                " WHERE status = 'pending' AND (? IS NULL OR replica = ?)",
                (now, replica, replica),
            )
            return cur.rowcount

        return await self._db.run(op)
