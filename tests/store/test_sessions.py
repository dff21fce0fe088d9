from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from openai_image_mcp.core.models import ImageRecord, SessionRecord
from openai_image_mcp.store import Database, ImageStore, SessionStore
from openai_image_mcp.store.migrations import MIGRATIONS


def _session(sid: str, now: float) -> SessionRecord:
    return SessionRecord(
        id=sid,
        name=None,
        description="d",
        model="m",
        image_model="im",
        status="active",
        created_at=now,
        last_activity=now,
        closed_at=None,
        last_response_id=None,
        folder="/f",
        use_case="general",
    )


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "state.sqlite3")
    database.open()
    yield database
    database.close()


async def test_database_uses_wal_and_records_migrations(db: Database) -> None:
    mode = await db.run(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    assert mode == "wal"
    numbers = await db.run(lambda c: [r[0] for r in c.execute("SELECT number FROM _migrations")])
    assert numbers == [m[0] for m in MIGRATIONS]


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    for _ in range(2):
        database = Database(tmp_path / "s.sqlite3")
        database.open()
        database.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


async def test_session_limit_returns_the_idle_sessions(db: Database) -> None:
    store = SessionStore(db)
    now = time.time()
    assert await store.create(_session("a", now - 5), max_active=2, now=now, idle_timeout=100) == []
    assert await store.create(_session("b", now), max_active=2, now=now, idle_timeout=100) == []
    blocked = await store.create(_session("c", now), max_active=2, now=now, idle_timeout=100)
    assert [s.id for s in blocked] == ["a", "b"]
    assert await store.get("c", now=now, idle_timeout=100) is None


async def test_idle_sessions_expire_exactly_after_the_timeout(db: Database) -> None:
    store = SessionStore(db)
    await store.create(_session("a", 1000.0), max_active=5, now=1000.0, idle_timeout=10)
    still = await store.get("a", now=1009.9, idle_timeout=10)
    assert still is not None and still.status == "active"
    gone = await store.get("a", now=1010.0, idle_timeout=10)
    assert gone is not None and gone.status == "expired" and gone.closed_at == 1010.0


async def test_completed_turn_commits_images_and_advances_the_chain(db: Database) -> None:
    store, images = SessionStore(db), ImageStore(db)
    now = time.time()
    await store.create(_session("s", now), max_active=5, now=now, idle_timeout=100)
    turn = await store.begin_turn("s", "a fox", {"size": "auto"}, None, now=now)
    rec = ImageRecord(
        id="img1",
        path="/x/image_001.png",
        sha256="h",
        file_size=3,
        width=1,
        height=1,
        mime_type="image/png",
        use_case="general",
        prompt="a fox",
        revised_prompt="A fox.",
        model="m",
        created_at=now,
        session_id="s",
        turn_id=turn.id,
    )
    await store.complete_turn(turn, response_id="resp_1", model_text="ok", usage={"a": 1}, images=[rec], now=now)
    session = await store.get("s", now=now, idle_timeout=100)
    assert session is not None
    assert session.last_response_id == "resp_1" and session.turn_count == 1 and session.image_count == 1
    (t,) = await store.turns("s")
    assert t.status == "completed" and t.image_ids == ("img1",)
    assert (await images.get("img1")) == rec


async def test_pending_turns_become_interrupted(db: Database) -> None:
    store = SessionStore(db)
    now = time.time()
    await store.create(_session("s", now), max_active=5, now=now, idle_timeout=100)
    await store.begin_turn("s", "p", {}, None, now=now)
    assert await store.mark_interrupted(now=now) == 1
    (t,) = await store.turns("s")
    assert t.status == "interrupted"


async def test_no_cursor_outlives_the_connection_lock(db: Database) -> None:
    """A cursor finalized later from another thread would race the connection (SQLITE_MISUSE under load)."""
    assert await db.run(lambda c: c.execute("SELECT 1")) is None
    assert await db.run(lambda c: c.executemany("DELETE FROM pending_files WHERE path = ?", [("a",), ("b",)])) is None
