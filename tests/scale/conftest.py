"""Fixtures of the multi-replica tests: three real replicas on one Redis and one bucket, behind haproxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Caller, Cluster, SharedStores
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import RedisServer, S3Server

#: Leases this short make a dead replica's locks and turns run out within seconds.
LEASE = 3.0


@pytest.fixture
def stores(redis_server: RedisServer, s3_server: S3Server) -> SharedStores:
    """A fresh key prefix and a fresh bucket."""
    return SharedStores.fresh(redis_server, s3_server)


@pytest.fixture
def cluster(fake: FakeOpenAI, stores: SharedStores, tmp_path: Path) -> Iterator[Cluster]:
    """Three replicas (no partial images: the run is about replicas, not previews) and haproxy, fake latency 0.3 s
    with flat images (tens of KB)."""
    fake.latency = 0.3
    fake.flat_images = True
    env = {"OPENAI_IMAGE_MCP_PARTIAL_IMAGES": "0", "LOG_LEVEL": "INFO"}
    try:
        with Cluster(tmp_path / "cluster", fake.base_url, size=3, stores=stores, lease=LEASE, env=env) as running:
            yield running
    finally:
        fake.flat_images = False


@pytest.fixture
async def caller() -> AsyncIterator[Caller]:
    async with Caller.open() as c:
        yield c
