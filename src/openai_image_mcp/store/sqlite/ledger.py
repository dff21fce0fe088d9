"""The cost ledger: a row per OpenAI call, and reservations that hold a call's worst-case cost while it
runs, so concurrent calls cannot overshoot a budget together (the check and the reservation happen in
one write transaction)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from openai_image_mcp.core.models import BudgetExceededInfo, BudgetLimit, LedgerEntry
from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.images import owned

_GROUPS = {
    "day": "strftime('%Y-%m-%d', created_at, 'unixepoch')",
    "month": "strftime('%Y-%m', created_at, 'unixepoch')",
    "session": "coalesce(session_id, '')",
    "model": "coalesce(image_model, '') || ' + ' || coalesce(mainline_model, '')",
    "principal": "owner",
    "tool": "tool",
}


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _add_to_day(conn: sqlite3.Connection, owner: str, ts: float, usd: float) -> None:
    conn.execute(
        "INSERT INTO ledger_days (owner, day, usd) VALUES (?, ?, ?)"
        " ON CONFLICT (owner, day) DO UPDATE SET usd = usd + excluded.usd",
        (owner, _day(ts), usd),
    )


def _insert(conn: sqlite3.Connection, e: LedgerEntry) -> None:
    conn.execute(
        "INSERT INTO ledger (id, kind, owner, created_at, cost_usd, prices_checked, tool, session_id, job_id,"
        " mainline_model, image_model, tokens_json, outcome) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            e.id, e.kind, e.owner, e.created_at, e.cost_usd, e.prices_checked, e.tool, e.session_id, e.job_id,
            e.mainline_model, e.image_model, json.dumps(e.tokens), e.outcome,
        ),
    )  # fmt: skip
    if e.cost_usd:
        _add_to_day(conn, e.owner, e.created_at, e.cost_usd)


def _spent(conn: sqlite3.Connection, owner: str | None, since: float) -> float:
    """Spent from the UTC day holding ``since`` on (budgets start on day boundaries): a sum of at most a
    month of daily totals, whatever the size of the ledger."""
    cond, args = owned(owner)
    row = conn.execute(
        f"SELECT coalesce(sum(usd), 0) FROM ledger_days WHERE day >= ? AND {cond}", (_day(since), *args)
    ).fetchone()
    return max(0.0, float(row[0]))


class SqliteLedgerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(self, entry: LedgerEntry, limits: Sequence[BudgetLimit]) -> BudgetExceededInfo | None:
        def op(conn: sqlite3.Connection) -> BudgetExceededInfo | None:
            for limit in limits:
                spent = _spent(conn, limit.owner, limit.since)
                if spent + (entry.cost_usd or 0.0) > limit.limit_usd:
                    return BudgetExceededInfo(limit, spent)
            _insert(conn, entry)
            return None

        return await self._db.run(op)

    async def settle(self, reservation_id: str | None, calls: Sequence[LedgerEntry]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if reservation_id is not None:
                held = conn.execute(
                    "SELECT owner, created_at, cost_usd FROM ledger WHERE id = ? AND kind = 'reservation'",
                    (reservation_id,),
                ).fetchone()
                conn.execute("DELETE FROM ledger WHERE id = ? AND kind = 'reservation'", (reservation_id,))
                if held is not None and held["cost_usd"]:
                    _add_to_day(conn, held["owner"], held["created_at"], -float(held["cost_usd"]))
            for entry in calls:
                _insert(conn, entry)

        await self._db.run(op)

    async def spent(self, *, owner: str | None, since: float) -> float:
        return await self._db.run(lambda conn: _spent(conn, owner, since))

    async def report(self, *, owner: str | None, since: float, until: float, group_by: str) -> list[dict[str, Any]]:
        key = _GROUPS[group_by]
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                f"SELECT {key} AS k, count(*) AS calls, coalesce(sum(cost_usd), 0) AS usd,"
                " sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced"
                f" FROM ledger WHERE kind = 'call' AND created_at >= ? AND created_at < ? AND {cond}"
                " GROUP BY k ORDER BY k",
                (since, until, *args),
            ).fetchall()
            return [
                {"key": r["k"], "calls": int(r["calls"]), "usd": float(r["usd"]), "unpriced_calls": int(r["unpriced"])}
                for r in rows
            ]

        return await self._db.run(op)

    async def calls(self, *, owner: str | None, since: float, until: float) -> list[LedgerEntry]:
        cond, args = owned(owner)

        def op(conn: sqlite3.Connection) -> list[LedgerEntry]:
            rows = conn.execute(
                f"SELECT * FROM ledger WHERE kind = 'call' AND created_at >= ? AND created_at < ? AND {cond}"
                " ORDER BY created_at",
                (since, until, *args),
            ).fetchall()
            return [
                LedgerEntry(
                    id=r["id"],
                    kind=r["kind"],
                    owner=r["owner"],
                    created_at=r["created_at"],
                    cost_usd=r["cost_usd"],
                    prices_checked=r["prices_checked"],
                    tool=r["tool"],
                    session_id=r["session_id"],
                    job_id=r["job_id"],
                    mainline_model=r["mainline_model"],
                    image_model=r["image_model"],
                    tokens=json.loads(r["tokens_json"]),
                    outcome=r["outcome"],
                )
                for r in rows
            ]

        return await self._db.run(op)

    async def drop_reservations(self, *, older_than: float | None = None) -> int:
        """Reservations left by a process that stopped mid-call: those made before ``older_than`` (every one
        when None), so a start never drops what another process on the same workspace holds right now."""
        before = float("inf") if older_than is None else older_than

        def op(conn: sqlite3.Connection) -> int:
            held = conn.execute(
                "SELECT owner, created_at, cost_usd FROM ledger WHERE kind = 'reservation' AND cost_usd IS NOT NULL"
                " AND created_at < ?",
                (before,),
            ).fetchall()
            for row in held:
                _add_to_day(conn, row["owner"], row["created_at"], -float(row["cost_usd"]))
            return conn.execute("DELETE FROM ledger WHERE kind = 'reservation' AND created_at < ?", (before,)).rowcount

        return await self._db.run(op)
