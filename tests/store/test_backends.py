"""The stores the settings' URLs name."""

from __future__ import annotations

from pathlib import Path

import pytest

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.errors import NotConfigured
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.store import backends
from openai_image_mcp.store.files import FileBlobStore
from openai_image_mcp.store.local import LocalCoordinator
from openai_image_mcp.store.objects import ObjectBlobStore
from openai_image_mcp.store.redis import RedisStateStore
from openai_image_mcp.store.redis.coordination import RedisCoordinator
from openai_image_mcp.store.sqlite import SqliteStateStore


def test_the_defaults_are_the_workspace(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    assert backends.state_url(settings) == f"sqlite://{tmp_path}/state.sqlite3"
    state = backends.state_store(settings, replica="r")
    assert isinstance(state, SqliteStateStore) and state.replica == "r"
    blobs = backends.blob_store(settings)
    assert isinstance(blobs, FileBlobStore) and blobs.root == tmp_path / "generated_images"
    assert isinstance(backends.coordinator(settings, replica="r", clock=ManualClock()), LocalCoordinator)
    assert not backends.is_shared(settings)


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///srv/oim/state.db", "/srv/oim/state.db"), ("sqlite:////srv/oim/state.db", "/srv/oim/state.db")],
)
def test_sqlite_urls_take_three_or_four_slashes(tmp_path: Path, url: str, path: str) -> None:
    state = backends.state_store(Settings(workspace=tmp_path, state_url=url), replica="r")
    assert isinstance(state, SqliteStateStore) and str(state.db.path) == path


def test_redis_and_s3_urls(tmp_path: Path) -> None:
    settings = Settings(
        workspace=tmp_path, state_url="redis://127.0.0.1:1/0", blob_url="s3://bucket/prefix", redis_prefix="x:"
    )
    assert backends.is_shared(settings)
    assert isinstance(backends.state_store(settings, replica="r"), RedisStateStore)
    assert isinstance(backends.coordinator(settings, replica="r", clock=ManualClock()), RedisCoordinator)
    assert isinstance(backends.blob_store(settings), ObjectBlobStore)


@pytest.mark.parametrize("field", ["state_url", "blob_url"])
def test_an_unknown_scheme_names_the_accepted_ones(tmp_path: Path, field: str) -> None:
    settings = Settings(workspace=tmp_path, **{field: "postgres://db/x"})
    with pytest.raises(NotConfigured, match=r"must start with"):
        if field == "state_url":
            backends.state_store(settings, replica="r")
        else:
            backends.blob_store(settings)
