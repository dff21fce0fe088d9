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
from openai_image_mcp.store.objects import ObjectBlobStore
from openai_image_mcp.store.ports import BlobStore, StateStore
from openai_image_mcp.store.redis import RedisStateStore
from openai_image_mcp.store.sqlite import SqliteStateStore
from tests.support.services import RedisServer, S3Server

#: A state backend makes, from the test's request and tmp_path, a factory of stores by replica id: every store it
#: makes shares one state, so a test can play several replicas (Redis asks for its server lazily).
StateFactory = Callable[[str], StateStore]


def redis_states(request: pytest.FixtureRequest, tmp: Path) -> StateFactory:
    """Stores under a fresh key prefix of the session's redis-server."""
    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = server.prefix()
    return lambda replica: RedisStateStore(server.url, replica=replica, prefix=prefix)


STATE_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], StateFactory]] = {
    "sqlite": lambda request, tmp: lambda replica: SqliteStateStore(tmp / "state.sqlite3", replica=replica),
    "redis": redis_states,
}


def s3_blobs(request: pytest.FixtureRequest, tmp: Path) -> BlobStore:
    """An S3 store on a fresh bucket of the session's moto server."""
    server: S3Server = request.getfixturevalue("s3_server")
    return ObjectBlobStore(f"s3://{server.bucket()}/images", endpoint=server.endpoint, config=server.config)


#: A blob backend is built from the test's request (to reach a session's service) and its tmp_path.
BLOB_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], BlobStore]] = {
    "files": lambda request, tmp: FileBlobStore(tmp / "generated_images", previews_root=tmp / "previews"),
    "s3": s3_blobs,
}


@pytest.fixture(params=sorted(STATE_BACKENDS))
def state_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StateFactory:
    return STATE_BACKENDS[request.param](request, tmp_path)


@pytest.fixture
async def state(state_factory: StateFactory) -> AsyncIterator[StateStore]:
    """The store of replica ``r1``."""
    store = state_factory("r1")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def peer(state_factory: StateFactory, state: StateStore) -> AsyncIterator[StateStore]:
    """The store of another replica, ``r2``, on the state of ``state``."""
    store = state_factory("r2")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=sorted(BLOB_BACKENDS))
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    store = BLOB_BACKENDS[request.param](request, tmp_path)
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
