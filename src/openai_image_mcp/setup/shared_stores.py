"""The doctor's checks of the stores several replicas share, reached the way the server reaches them
(:mod:`~openai_image_mcp.store.backends`): the Redis state store is opened (a ping, and the migrations, which write),
read and closed; the S3 blob store is opened (it writes and deletes a probe object of its own), then a probe is
written, read back and deleted. A failure says which setting to fix (the URL, the endpoint, the credentials) and
never shows a password or a secret key; a store that does not answer fails after :data:`STORE_TIMEOUT`.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import anyio

from openai_image_mcp.core.errors import ImageServerError, StorageError
from openai_image_mcp.core.logs import safe_url
from openai_image_mcp.setup.context import DoctorContext
from openai_image_mcp.setup.report import Finding, fail, ok
from openai_image_mcp.store import backends

#: Seconds a shared store may take to answer the doctor, connecting and retrying included.
STORE_TIMEOUT = 30.0
_PROBE = b"openai-image-mcp doctor\n"


def _hide_password(text: str, url: str) -> str:
    """``text`` without the password ``url`` may carry (``redis://:secret@host``)."""
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


async def redis_state(ctx: DoctorContext) -> list[Finding]:
    """Open the Redis state store as a replica would (connect, ping, apply the migrations), read, close."""
    url = backends.state_url(ctx.settings)
    shown = safe_url(url)
    fix = (
        "Check OPENAI_IMAGE_MCP_STATE_URL (redis://[:password@]host:port/db, rediss:// for TLS): the host and port, "
        "the password, and that the server runs and takes writes (a primary, not a read-only replica)."
    )
    try:
        store = backends.state_store(ctx.settings, replica=backends.new_replica_id())
        with anyio.fail_after(STORE_TIMEOUT):
            await store.open()
            try:
                counts = await store.sessions.counts(owner=None)
            finally:
                await store.close()
    except TimeoutError:
        return [fail("state_store", f"Redis at {shown} did not answer within {STORE_TIMEOUT:.0f} s.", fix)]
    except ImageServerError as exc:
        return [fail("state_store", _hide_password(exc.message, url), fix)]
    except ImportError as exc:
        return [fail("state_store", f"the Redis support cannot be loaded: {exc}", "Reinstall openai-image-mcp.")]
    return [ok("state_store", f"Redis at {shown}: reachable and writable, {sum(counts.values())} session(s)")]


async def s3_blobs(ctx: DoctorContext) -> list[Finding]:
    """Open the S3 store as the server does (its probe object), then write, read back and delete a probe."""
    url = backends.blob_url(ctx.settings)
    endpoint = ctx.settings.s3_endpoint or "AWS S3"
    try:
        store = backends.blob_store(ctx.settings)
        with anyio.fail_after(STORE_TIMEOUT):
            await store.open()
            probe = store.ref(f".doctor-probe-{secrets.token_hex(4)}")
            await store.put(probe, _PROBE)
            try:
                if await store.get(probe) != _PROBE:
                    raise StorageError(f"{probe} did not read back what was written.")
            finally:
                await store.delete_images([probe])
    except TimeoutError:
        return [
            fail(
                "blob_store",
                f"the S3 store {url} at {endpoint} did not answer within {STORE_TIMEOUT:.0f} s.",
                "Check OPENAI_IMAGE_MCP_S3_ENDPOINT (unset for AWS) and the network; for AWS, AWS_REGION.",
            )
        ]
    except ImageServerError as exc:
        return [fail("blob_store", exc.message, exc.suggestion)]
    return [ok("blob_store", f"S3 {url} at {endpoint}: reachable, writable and readable")]
