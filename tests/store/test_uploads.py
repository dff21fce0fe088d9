"""Which uploads the sweep deletes: a closed session's, and one-off uploads a crash left; never one in use."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openai_image_mcp.store import Database, SessionStore
from openai_image_mcp.store.uploads import UploadStore
from tests.store.test_sessions import _session


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "state.sqlite3")
    database.open()
    yield database
    database.close()


async def test_stale_uploads(db: Database) -> None:
    now = time.time()
    sessions, uploads = SessionStore(db), UploadStore(db)
    for sid in ("open", "closed"):
        await sessions.create(_session(sid, now), max_active=10, now=now, idle_timeout=3600)
    await sessions.close("closed", now=now)
    await uploads.add("file-open", "open", "a", 1, now=now)
    await uploads.add("file-closed", "closed", "b", 1, now=now)
    await uploads.add("file-one-off-old", None, "c", 1, now=now - 1000)
    await uploads.add("file-one-off-in-use", None, "d", 1, now=now)
    await uploads.add("file-gone", "closed", "e", 1, now=now)
    await uploads.mark_deleted("file-gone", now=now)

    stale = await uploads.stale(one_off_before=now - 300)
    assert sorted(stale) == ["file-closed", "file-one-off-old"]
