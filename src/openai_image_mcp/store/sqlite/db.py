"""One SQLite connection in WAL mode, used from worker threads so the event loop never waits on disk."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import anyio

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.store.sqlite import migrations

T = TypeVar("T")


class Database:
    """A serialized SQLite connection. ``await db.run(fn)`` calls ``fn(conn)`` in a worker thread.

    SQLite allows one writer at a time anyway; a lock around one connection keeps writes ordered
    and reads consistent without a pool. WAL keeps readers in other processes unblocked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            migrations.apply(conn)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"Cannot open the state database {self.path}: {exc}") from exc
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection in the current thread (inside one transaction)."""
        with self._lock:
            if self._conn is None:
                raise StorageError("The state database is not open.")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                if isinstance(result, sqlite3.Cursor):
                    # A cursor must not outlive the lock: finalizing its statement later, from whichever
                    # thread collects it, would race the connection's next user (SQLITE_MISUSE).
                    result.close()
                    result = cast(T, None)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(self.call, fn)
        except sqlite3.Error as exc:
            raise StorageError(f"State database error: {exc}") from exc
