"""What is particular to the SQLite state store: WAL, numbered migrations, owners filled by migration 5."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openai_image_mcp.store.sqlite import SqliteStateStore
from openai_image_mcp.store.sqlite.db import Database
from openai_image_mcp.store.sqlite.migrations import MIGRATIONS, apply


async def test_database_uses_wal_and_records_migrations(tmp_path: Path) -> None:
    state = SqliteStateStore(tmp_path / "state.sqlite3")
    await state.open()
    db = state.db
    assert await db.run(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    numbers = await db.run(lambda c: [r[0] for r in c.execute("SELECT number FROM _migrations")])
    assert numbers == [m[0] for m in MIGRATIONS]
    await state.close()


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    for _ in range(2):
        database = Database(tmp_path / "s.sqlite3")
        database.open()
        database.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_migration_5_gives_existing_rows_the_local_owner(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE _migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    for number, name, sql in MIGRATIONS[:4]:  # a database made before owners existed
        conn.executescript(f"BEGIN;\n{sql}\nINSERT INTO _migrations VALUES ({number}, '{name}', 0);\nCOMMIT;")
    conn.execute(
        "INSERT INTO sessions (id, description, model, image_model, status, created_at, last_activity, folder)"
        " VALUES ('s', 'd', 'm', 'i', 'active', 0, 0, '/f')"
    )
    conn.execute("INSERT INTO jobs (id, kind, status, created_at) VALUES ('j', 'k', 'running', 0)")
    assert apply(conn) == [m[0] for m in MIGRATIONS[4:]]
    assert conn.execute("SELECT owner FROM sessions").fetchone()[0] == "local"
    assert conn.execute("SELECT owner FROM jobs").fetchone()[0] == "local"


async def test_no_cursor_outlives_the_connection_lock(tmp_path: Path) -> None:
    """A cursor finalized later from another thread would race the connection (SQLITE_MISUSE under load)."""
    db = Database(tmp_path / "state.sqlite3")
    db.open()
    assert await db.run(lambda c: c.execute("SELECT 1")) is None
    assert await db.run(lambda c: c.executemany("DELETE FROM pending_files WHERE path = ?", [("a",), ("b",)])) is None
    db.close()


def test_migration_9_gives_existing_work_the_local_replica(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE _migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    for number, name, sql in MIGRATIONS[:8]:  # a database made before replicas existed
        conn.executescript(f"BEGIN;\n{sql}\nINSERT INTO _migrations VALUES ({number}, '{name}', 0);\nCOMMIT;")
    conn.execute(
        "INSERT INTO sessions (id, description, model, image_model, status, created_at, last_activity, folder)"
        " VALUES ('s', 'd', 'm', 'i', 'active', 0, 0, '/f')"
    )
    conn.execute(
        "INSERT INTO turns (id, session_id, seq, prompt, status, created_at) VALUES ('t', 's', 1, 'p', 'pending', 0)"
    )
    conn.execute("INSERT INTO jobs (id, kind, status, created_at) VALUES ('j', 'k', 'running', 0)")
    conn.execute("INSERT INTO pending_files (path, created_at) VALUES ('/x/a.png', 0)")
    assert apply(conn) == [m[0] for m in MIGRATIONS[8:]]
    assert conn.execute("SELECT replica FROM turns").fetchone()[0] == "local"
    assert conn.execute("SELECT replica FROM jobs").fetchone()[0] == "local"
    assert conn.execute("SELECT replica FROM pending_files").fetchone()[0] == "local"
    assert conn.execute("SELECT fence FROM sessions").fetchone()[0] == 0
    conn.close()


async def test_a_single_process_interrupts_what_it_left_before_replicas_existed(tmp_path: Path) -> None:
    test_migration_9_gives_existing_work_the_local_replica(tmp_path)
    state = SqliteStateStore(tmp_path / "old.sqlite3")  # replica "local"
    await state.open()
    assert state.replica == "local"
    assert await state.sessions.mark_interrupted(now=1, replica="local") == 1
    assert await state.jobs.mark_interrupted(now=1, replica=state.replica) == ["j"]
    assert await state.journal.orphans(replica=state.replica) == ["/x/a.png"]
    await state.close()
