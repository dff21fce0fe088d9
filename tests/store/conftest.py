"""The store ports' contract suites run against every implementation listed here.

A new backend (Redis, S3, ...) is done when it is added to ``STATE_BACKENDS`` / ``BLOB_BACKENDS`` and
the suites pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from openai_image_mcp.core.models import ImageRecord, SessionRecord
from openai_image_mcp.store.files import FileBlobStore
from openai_image_mcp.store.ports import BlobStore, StateStore
from openai_image_mcp.store.sqlite import SqliteStateStore

STATE_BACKENDS: dict[str, Callable[[Path], StateStore]] = {
    "sqlite": lambda tmp: SqliteStateStore(tmp / "state.sqlite3"),
}
BLOB_BACKENDS: dict[str, Callable[[Path], BlobStore]] = {
    "files": lambda tmp: FileBlobStore(tmp / "generated_images", previews_root=tmp / "previews"),
}


@pytest.fixture(params=sorted(STATE_BACKENDS))
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    store = STATE_BACKENDS[request.param](tmp_path)
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=sorted(BLOB_BACKENDS))
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    store = BLOB_BACKENDS[request.param](tmp_path)
    await store.open()
    return store


def session(sid: str, now: float, *, owner: str = "local", folder: str = "/f") -> SessionRecord:
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
        folder=folder,
        use_case="general",
        owner=owner,
    )


def image(
    image_id: str, now: float, *, owner: str = "local", session_id: str | None = None, **kw: object
) -> ImageRecord:
    fields: dict[str, object] = {
        "id": image_id,
        "path": f"/x/{image_id}.png",
        "sha256": "h",
        "file_size": 3,
        "width": 1,
        "height": 1,
        "mime_type": "image/png",
        "use_case": "general",
        "prompt": "a fox",
        "revised_prompt": "A fox.",
        "model": "m",
        "created_at": now,
        "session_id": session_id,
        "owner": owner,
    }
    fields.update(kw)
    return ImageRecord(**fields)  # type: ignore[arg-type]
