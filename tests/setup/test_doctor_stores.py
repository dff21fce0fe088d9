"""``doctor``'s checks of shared stores, against real ones: Redis (``redis-server``) for the state, S3 (moto's server)
for the images. A store that answers and takes writes is ok; a missing bucket, an endpoint or Redis nobody answers
at, or an unknown URL scheme fail with what to fix, and never show a secret."""

from __future__ import annotations

import pytest

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup import local_checks
from openai_image_mcp.setup.doctor import run_checks
from openai_image_mcp.setup.report import Finding, to_json, to_text
from tests.support.services import RedisServer, S3Server, free_port


async def check(settings: Settings, which: str) -> Finding:
    chosen = local_checks.check_state_store if which == "state_store" else local_checks.check_blob_store
    findings = await run_checks(settings, checks=[chosen])
    (finding,) = findings
    assert finding.name == which
    assert (finding.fix is None) == (finding.status == "ok"), finding
    assert "the check itself failed" not in finding.message, finding
    return finding


@pytest.fixture
def aws_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The doctor builds its store from the environment, as the server does (monkeypatch restores it)."""
    for name, value in s3_server.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return s3_server


def no_secret(finding: Finding, server: S3Server) -> None:
    text = to_json([finding]) + to_text([finding], header="")
    assert server.secret_key not in text


async def test_a_reachable_writable_bucket_is_ok(settings: Settings, aws_env: S3Server) -> None:
    bucket = aws_env.bucket()
    s3 = settings.model_copy(update={"blob_url": f"s3://{bucket}/images", "s3_endpoint": aws_env.endpoint})
    finding = await check(s3, "blob_store")
    assert finding.status == "ok", finding
    assert f"s3://{bucket}/images at {aws_env.endpoint}: reachable, writable and readable" in finding.message
    assert aws_env.objects(bucket) == []  # the probes are gone


async def test_a_missing_bucket_fails_with_the_setting_to_fix(settings: Settings, aws_env: S3Server) -> None:
    s3 = settings.model_copy(update={"blob_url": "s3://no-such-bucket-42/images", "s3_endpoint": aws_env.endpoint})
    finding = await check(s3, "blob_store")
    assert finding.status == "fail"
    assert "bucket 'no-such-bucket-42' does not exist" in finding.message and aws_env.endpoint in finding.message
    assert finding.fix is not None and "OPENAI_IMAGE_MCP_BLOB_URL" in finding.fix
    no_secret(finding, aws_env)


async def test_an_unreachable_endpoint_fails_with_the_setting_to_fix(settings: Settings, aws_env: S3Server) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    s3 = settings.model_copy(update={"blob_url": "s3://some-bucket/images", "s3_endpoint": endpoint})
    finding = await check(s3, "blob_store")
    assert finding.status == "fail" and f"Cannot reach the S3 store (bucket 'some-bucket' at {endpoint})" in (
        finding.message
    )
    assert finding.fix is not None and "OPENAI_IMAGE_MCP_S3_ENDPOINT" in finding.fix
    no_secret(finding, aws_env)


async def test_unknown_url_schemes_fail(settings: Settings) -> None:
    odd = settings.model_copy(update={"state_url": "postgres://db/x", "blob_url": "gs://bucket/x"})
    state, blobs = await check(odd, "state_store"), await check(odd, "blob_store")
    assert state.status == "fail" and "'postgres'" in state.message and "redis://" in (state.fix or "")
    assert blobs.status == "fail" and "'gs'" in blobs.message and "s3://bucket/prefix" in (blobs.fix or "")


async def test_a_custom_images_folder_is_the_one_probed(settings: Settings) -> None:
    folder = settings.workspace.parent / "elsewhere"
    folder.mkdir(parents=True)
    finding = await check(settings.model_copy(update={"blob_url": f"file://{folder}"}), "blob_store")
    assert finding.status == "ok" and str(folder) in finding.message


async def test_a_running_redis_is_ok(settings: Settings, redis_server: RedisServer) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"  # a database of its own: the doctor writes the default prefix
    finding = await check(settings.model_copy(update={"state_url": url}), "state_store")
    assert finding.status == "ok", finding
    assert f"Redis at {url}: reachable and writable" in finding.message


async def test_an_unreachable_redis_fails_without_its_password(settings: Settings) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    finding = await check(settings.model_copy(update={"state_url": url}), "state_store")
    assert finding.status == "fail" and "127.0.0.1" in finding.message
    assert finding.fix is not None and "OPENAI_IMAGE_MCP_STATE_URL" in finding.fix
    assert "hunter2-secret" not in to_json([finding]) + to_text([finding], header="")
    assert ":***@127.0.0.1" in finding.message
