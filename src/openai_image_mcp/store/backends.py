"""Choosing the stores from the settings' URLs.

``OPENAI_IMAGE_MCP_STATE_URL``: ``sqlite:///<path>`` (the default, in the workspace) or ``redis://`` /
``rediss://``. ``OPENAI_IMAGE_MCP_BLOB_URL``: ``file://<folder>`` (the default, the workspace's
``generated_images``) or ``s3://bucket/prefix``. Either may be mixed with either. Redis and obstore are imported
only when their URL is used, so the default start-up loads neither. The coordinator follows the state: Redis
state means replicas may share it, so locks, messages and limits go through the same Redis.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.errors import NotConfigured
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore

STATE_SCHEMES = ("sqlite", "redis", "rediss")
BLOB_SCHEMES = ("file", "s3")


def new_replica_id() -> str:
    """``<hostname>-<pid>-<random>``: unique even when a restarted process gets the same pid."""
    host = socket.gethostname().split(".")[0][:24] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def state_url(settings: Settings) -> str:
    return settings.state_url or f"sqlite://{settings.database_path.as_posix()}"


def blob_url(settings: Settings) -> str:
    return settings.blob_url or f"file://{settings.images_root}"


def _scheme(url: str, allowed: tuple[str, ...], variable: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in allowed:
        raise NotConfigured(
            f"{variable} must start with {', '.join(s + '://' for s in allowed)}; got '{scheme or url}'."
        )
    return scheme


def _local_path(url: str) -> Path:
    """``sqlite:///abs/path`` and ``file:///abs/path`` (also SQLAlchemy's four slashes, ``sqlite:////abs/path``)."""
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    if path.startswith("//"):
        path = path[1:]
    return Path(path).expanduser()


def process_lock_path(settings: Settings) -> Path:
    """The file every server process on this workspace holds a shared lock on (see ``LocalCoordinator.alone``)."""
    return settings.workspace / ".server.lock"


def is_shared(settings: Settings) -> bool:
    """Whether the state may be shared by several replicas (Redis)."""
    return _scheme(state_url(settings), STATE_SCHEMES, "OPENAI_IMAGE_MCP_STATE_URL") != "sqlite"


def state_store(settings: Settings, *, replica: str) -> StateStore:
    url = state_url(settings)
    if _scheme(url, STATE_SCHEMES, "OPENAI_IMAGE_MCP_STATE_URL") == "sqlite":
        from openai_image_mcp.store.sqlite import SqliteStateStore

        return SqliteStateStore(_local_path(url), replica=replica)
    from openai_image_mcp.store.redis import RedisStateStore

    return RedisStateStore(url, replica=replica, prefix=settings.redis_prefix)


def blob_store(settings: Settings) -> BlobStore:
    url = blob_url(settings)
    if _scheme(url, BLOB_SCHEMES, "OPENAI_IMAGE_MCP_BLOB_URL") == "file":
        from openai_image_mcp.store.files import FileBlobStore

        root = _local_path(url)
        return FileBlobStore(root, previews_root=settings.workspace / "previews")
    from openai_image_mcp.store.objects import ObjectBlobStore

    return ObjectBlobStore(url, endpoint=settings.s3_endpoint)


def coordinator(settings: Settings, *, replica: str, clock: Clock) -> Coordinator:
    """``clock`` times the in-process coordinator's limits (Redis's use Redis's own clock)."""
    if not is_shared(settings):
        from openai_image_mcp.store.local import LocalCoordinator

        return LocalCoordinator(replica=replica, clock=clock, lock_path=process_lock_path(settings))
    from openai_image_mcp.store.redis.coordination import RedisCoordinator

    return RedisCoordinator(state_url(settings), replica=replica, prefix=settings.redis_prefix)
