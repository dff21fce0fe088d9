"""The S3 blob store beyond the contract: its layout in the bucket, presigned URLs, and clear failures (a missing
bucket, an endpoint nobody answers at), run against moto's S3 server on loopback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from openai_image_mcp.core.errors import BlobNotFound, NotConfigured, StorageError
from openai_image_mcp.store.files import FileBlobStore
from openai_image_mcp.store.objects import ObjectBlobStore, is_loopback
from tests.support.services import S3Server, free_port


@pytest.fixture
async def bucket(s3_server: S3Server) -> str:
    return s3_server.bucket()


def store(server: S3Server, bucket: str, prefix: str = "images", **config: str) -> ObjectBlobStore:
    return ObjectBlobStore(f"s3://{bucket}/{prefix}", endpoint=server.endpoint, config={**server.config, **config})


def fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers.get("Content-Type", "")


def refused(url: str) -> str:
    with pytest.raises(urllib.error.HTTPError) as info:
        fetch(url)
    assert info.value.code == 403
    return info.value.read().decode()


async def test_refs_are_object_urls_in_the_original_layout(s3_server: S3Server, bucket: str) -> None:
    blobs = store(s3_server, bucket, "/deep/prefix/")
    ref = blobs.ref("sessions/s1/images/image_001.png")
    assert ref == f"s3://{bucket}/deep/prefix/sessions/s1/images/image_001.png"
    assert blobs.sidecar(ref) == f"s3://{bucket}/deep/prefix/sessions/s1/images/image_001_metadata.json"
    assert blobs.join(blobs.ref("sessions/s1"), "images", "image_001.png") == ref
    assert blobs.local_path(ref) is None
    assert ObjectBlobStore(f"s3://{bucket}").ref("a/b.png") == f"s3://{bucket}/a/b.png"


async def test_the_bucket_holds_images_sidecars_and_previews_below_the_prefix(s3_server: S3Server, bucket: str) -> None:
    blobs = store(s3_server, bucket)
    await blobs.open()
    await blobs.put_image(blobs.ref("single_shot/fox.png"), b"\x89PNG fox", {"original_prompt": "a fox"})
    await blobs.put_preview("job1", "partial_0.png", b"raw")
    assert sorted(s3_server.objects(bucket)) == [
        "images/previews/job1/partial_0.png",
        "images/single_shot/fox.png",
        "images/single_shot/fox_metadata.json",
    ]  # the open() probe is gone
    sidecar = await blobs.get(blobs.ref("single_shot/fox_metadata.json"))
    assert sidecar.endswith(b"\n") and json.loads(sidecar) == {"original_prompt": "a fox"}  # files.json_bytes format


async def test_refs_of_another_store_are_not_found_here(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    blobs = store(s3_server, bucket)
    with pytest.raises(BlobNotFound, match="another blob store"):
        await blobs.get(str(tmp_path / "image.png"))
    assert not await blobs.exists("s3://other-bucket/images/x.png")
    assert await blobs.signed_url(str(tmp_path / "image.png"), expires_in=60) is None
    await blobs.delete_images([str(tmp_path / "image.png")])  # nothing to do, no error
    with pytest.raises(StorageError, match="cannot be written here"):
        await blobs.put("/elsewhere/x.png", b"x")


async def test_a_presigned_url_fetches_the_image_until_it_expires(s3_server: S3Server, bucket: str) -> None:
    blobs = store(s3_server, bucket)
    ref = blobs.ref("single_shot/fox.png")
    await blobs.put_image(ref, b"\x89PNG fox", {})
    url = await blobs.signed_url(ref, expires_in=60)
    assert url is not None and url.startswith(f"{s3_server.endpoint}/{bucket}/images/single_shot/fox.png?")
    assert "X-Amz-Expires=60" in url and s3_server.secret_key not in url
    assert fetch(url) == (b"\x89PNG fox", "image/png")

    short = await blobs.signed_url(ref, expires_in=1)
    assert short is not None
    time.sleep(2.1)
    assert "Request has expired" in refused(short)


async def test_a_tampered_or_foreign_presigned_url_is_refused(s3_server: S3Server, bucket: str) -> None:
    blobs = store(s3_server, bucket)
    ref = blobs.ref("single_shot/fox.png")
    await blobs.put(ref, b"fox")
    url = await blobs.signed_url(ref, expires_in=60)
    assert url is not None
    assert "SignatureDoesNotMatch" in refused(url.replace("fox.png", "cat.png"))  # another object
    assert "SignatureDoesNotMatch" in refused(url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"))  # longer
    forged = await store(s3_server, bucket, secret_access_key="not-the-secret").signed_url(ref, expires_in=60)
    assert forged is not None and "SignatureDoesNotMatch" in refused(forged)


async def test_a_missing_bucket_is_a_clear_storage_error(s3_server: S3Server) -> None:
    blobs = store(s3_server, "no-such-bucket-here")
    with pytest.raises(StorageError) as info:
        await blobs.open()
    assert "bucket 'no-such-bucket-here' does not exist" in info.value.message
    assert s3_server.endpoint in info.value.message
    assert "OPENAI_IMAGE_MCP_BLOB_URL" in info.value.suggestion
    with pytest.raises(StorageError) as read:  # a read of a missing bucket is no "missing image"
        await blobs.get(blobs.ref("a.png"))
    assert not isinstance(read.value, BlobNotFound)
    for exc in (info.value, read.value):
        assert s3_server.secret_key not in f"{exc.message} {exc.suggestion}"


async def test_an_endpoint_nobody_answers_at_fails_fast_and_clearly(s3_server: S3Server) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    blobs = ObjectBlobStore("s3://bucket-x/images", endpoint=endpoint, config=s3_server.config)
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        await blobs.open()
    assert time.monotonic() - started < 15
    assert f"Cannot reach the S3 store (bucket 'bucket-x' at {endpoint})" in info.value.message
    assert "OPENAI_IMAGE_MCP_S3_ENDPOINT" in info.value.suggestion
    assert s3_server.secret_key not in info.value.message


async def test_plain_http_is_for_loopback_only(s3_server: S3Server) -> None:
    assert (
        is_loopback("http://127.0.0.1:9000") and is_loopback("http://localhost:9000") and is_loopback("http://[::1]:1")
    )
    assert not is_loopback("http://minio.internal:9000") and not is_loopback(None)
    blobs = ObjectBlobStore("s3://b-1/p", endpoint="http://minio.internal:9000", config=s3_server.config)
    with pytest.raises(StorageError, match="plain http"):
        await blobs.open()


def test_a_malformed_url_is_not_configured() -> None:
    with pytest.raises(NotConfigured, match="s3://bucket/prefix"):
        ObjectBlobStore("s3:///prefix-only")


async def test_sweep_removes_old_previews_only(s3_server: S3Server, bucket: str) -> None:
    blobs = store(s3_server, bucket)
    await blobs.put_preview("job1", "partial_0.png", b"raw")
    await blobs.put(blobs.ref("sessions/s/images/image_001.png"), b"whole")
    assert await blobs.sweep(older_than=time.time(), preview_age=3600) == 0
    assert await blobs.get_preview("job1", "partial_0.png") == b"raw"
    assert await blobs.sweep(older_than=time.time(), preview_age=-5) == 1
    with pytest.raises(BlobNotFound):
        await blobs.get_preview("job1", "partial_0.png")
    assert s3_server.objects(bucket) == ["images/sessions/s/images/image_001.png"]


async def test_the_file_store_has_no_urls_of_its_own(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "generated_images", previews_root=tmp_path / "previews")
    await blobs.put(blobs.ref("a.png"), b"x")
    assert await blobs.signed_url(blobs.ref("a.png"), expires_in=60) is None


async def test_an_endpoint_from_the_aws_environment_is_used_and_named(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    blobs = ObjectBlobStore(f"s3://{bucket}/images", config=s3_server.config)
    assert blobs.endpoint == s3_server.endpoint and blobs.where == f"bucket '{bucket}' at {s3_server.endpoint}"
    await blobs.open()  # plain http on loopback is allowed for it too


def test_a_message_never_quotes_a_secret(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-0123456789")
    blobs = store(s3_server, "any-bucket")
    body = '<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code></Error>'
    said = blobs._describe(RuntimeError(f"failed with {s3_server.secret_key} and session-token-0123456789: {body}"))
    assert said == "failed with *** and *** (AccessDenied)"
