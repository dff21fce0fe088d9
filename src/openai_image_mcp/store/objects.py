"""The blob store on S3, or an S3-compatible store (MinIO, R2, Ceph...), through obstore.

Layout: ``OPENAI_IMAGE_MCP_BLOB_URL=s3://bucket/prefix`` is the root, and a ref is the object's URL,
``s3://bucket/prefix/<key>``, for the same relative keys as the workspace folder
(``sessions/<id>/images/image_001.png`` beside ``image_001_metadata.json``, ``single_shot/...``), so a bucket reads
like the folder and every replica names a blob the same way. Partial-image previews of running generations go under
``<prefix>/previews/<job id>/<name>``. An S3 PUT is atomic (a reader sees the old object or the whole new one), so
there are no temporaries: :meth:`ObjectBlobStore.sweep` only removes previews older than a day (a bucket lifecycle
rule on ``<prefix>/previews/`` may do it as well).

Credentials and region come from the standard ``AWS_*`` environment variables (or the instance's or container's
role) through obstore's own configuration, never from our settings; ``endpoint`` names an S3-compatible store, and
plain ``http://`` is allowed only for a loopback endpoint (a local MinIO), so credentials never cross a network in
the clear. No error message quotes a credential.

Presigning: :meth:`ObjectBlobStore.signed_url` gives a presigned GET URL, so a download link fetches the image
straight from the bucket (the bytes do not pass through the server) until it expires; the URL is signed locally
with the credentials, it makes no request.

Tests run this store against moto's S3 server on loopback (``tests/support/services.py``, ``S3Server``, which also
checks presigned URLs' signature and expiry the way S3 does); production uses a real bucket.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import urlsplit

import anyio
import obstore as obs
from obstore.exceptions import PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store

from openai_image_mcp.core.errors import BlobNotFound, NotConfigured, StorageError
from openai_image_mcp.core.refs import sidecar_ref
from openai_image_mcp.store.files import json_bytes

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import ClientConfig, RetryConfig, S3Config

#: Where previews go below the prefix.
PREVIEWS = "previews"
#: An unreachable endpoint fails within seconds instead of obstore's default three minutes of retries.
CLIENT_OPTIONS: dict[str, Any] = {"connect_timeout": "5s", "timeout": "120s"}
RETRY: dict[str, Any] = {
    "max_retries": 3,
    "retry_timeout": timedelta(seconds=20),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=2), "base": 2},
}
#: S3 refuses presigned URLs valid for longer than a week.
MAX_PRESIGN = 7 * 86_400
#: Config values and variables that must never appear in a message.
_SECRET_KEYS = ("secret_access_key", "session_token", "token", "sse_customer_key_base64")
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_TOKEN", "AWS_SSE_CUSTOMER_KEY_BASE64")
#: Where obstore finds an endpoint in the environment, the most specific first.
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
_CODE_RE = re.compile(r"<Code>([^<]{1,64})</Code>")


def is_loopback(endpoint: str | None) -> bool:
    """Whether ``endpoint``'s host is this machine (plain http is allowed only there)."""
    host = urlsplit(endpoint or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ObjectBlobStore:
    """:class:`~openai_image_mcp.store.ports.BlobStore` on an S3 bucket. ``config`` adds obstore S3 settings over the
    environment's (the tests pass their dummy credentials this way, so they never touch ``os.environ``)."""

    def __init__(self, url: str, *, endpoint: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise NotConfigured(
                f"An S3 blob URL is s3://bucket/prefix; got '{url}'.",
                suggestion="Set OPENAI_IMAGE_MCP_BLOB_URL to s3://<bucket>/<prefix> (the prefix may be empty).",
            )
        self.bucket = parts.netloc
        self.prefix = "/".join(p for p in parts.path.split("/") if p)
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self._base = f"s3://{self.bucket}/"
        settings: dict[str, Any] = {"endpoint": self.endpoint} if self.endpoint else {}
        settings.update(config or {})
        if not self.endpoint:  # obstore reads these itself; known here for messages and the loopback rule
            found = settings.get("endpoint") or next(
                (os.environ[v] for v in _ENDPOINT_VARIABLES if os.environ.get(v)), ""
            )
            self.endpoint = str(found).rstrip("/") or None
        secrets = [os.environ.get(v) for v in _SECRET_VARIABLES] + [settings.get(k) for k in _SECRET_KEYS]
        self._secrets = [str(v) for v in secrets if v]
        self._store = self._build(settings)

    def _build(self, settings: dict[str, Any]) -> S3Store:
        client = {**CLIENT_OPTIONS, "allow_http": is_loopback(self.endpoint)}
        try:
            return S3Store(
                self.bucket,
                config=cast("S3Config", settings),
                client_options=cast("ClientConfig", client),
                retry_config=cast("RetryConfig", RETRY),
            )
        except Exception as exc:  # obstore's configuration errors (an unknown key, a malformed endpoint)
            raise StorageError(
                f"Cannot set up the S3 store for bucket '{self.bucket}': {self._describe(exc)}",
                suggestion="Check OPENAI_IMAGE_MCP_BLOB_URL, OPENAI_IMAGE_MCP_S3_ENDPOINT and the AWS_* variables.",
            ) from exc

    @property
    def where(self) -> str:
        """The bucket and endpoint, for messages."""
        return f"bucket '{self.bucket}' at {self.endpoint or 'AWS S3'}"

    # -- naming -------------------------------------------------------------------------------
    def ref(self, key: str) -> str:
        return self._base + "/".join(p for p in [self.prefix, *key.split("/")] if p)

    def join(self, ref: str, *parts: str) -> str:
        return "/".join([ref.rstrip("/"), *(p.strip("/") for p in parts if p.strip("/"))])

    def sidecar(self, ref: str) -> str:
        return sidecar_ref(ref)

    def local_path(self, ref: str) -> Path | None:
        return None

    def _key(self, ref: str) -> str | None:
        """The object key of a ref of this bucket; None for any other ref (a path of the file store, say)."""
        return ref[len(self._base) :] if ref.startswith(self._base) and len(ref) > len(self._base) else None

    def _own_key(self, ref: str) -> str:
        key = self._key(ref)
        if key is None:
            raise StorageError(f"{ref} is not a blob of s3://{self.bucket}/; it cannot be written here.")
        return key

    def _preview_key(self, job_id: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, PREVIEWS, job_id, name) if p)

    # -- errors -------------------------------------------------------------------------------
    def _describe(self, exc: BaseException) -> str:
        """obstore's message, cut to its first line, the S3 error code kept, the response body and any secret
        dropped."""
        text = str(exc)
        code = _CODE_RE.search(text)
        first = text.split("\n", 1)[0]
        first = re.sub(r":?\s*<\?xml.*$", "", first).strip()
        if code and code.group(1) not in first:
            first = f"{first} ({code.group(1)})"
        for secret in self._secrets:
            first = first.replace(secret, "***")
        return first[:400] or type(exc).__name__

    def _fail(self, action: str, ref: str, exc: BaseException) -> NoReturn:
        """Raise the StorageError for a failed S3 call: what failed, where, and what to check."""
        text = str(exc)
        detail = self._describe(exc)
        if "NoSuchBucket" in text:
            raise StorageError(
                f"The bucket '{self.bucket}' does not exist at {self.endpoint or 'AWS S3'} ({action} {ref}).",
                suggestion="Create the bucket, or correct the bucket in OPENAI_IMAGE_MCP_BLOB_URL (s3://bucket/prefix) "
                "or the endpoint in OPENAI_IMAGE_MCP_S3_ENDPOINT.",
            ) from exc
        lowered = text.lower()
        if "169.254.169.254" in text or "credential" in lowered:  # none in the environment: obstore asked the instance
            raise StorageError(
                f"No usable S3 credentials to {action} {ref} ({self.where}): {detail}",
                suggestion="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) "
                "in the server's environment, or run it with an instance or container role.",
            ) from exc
        if any(
            s in text for s in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken")
        ) or isinstance(exc, PermissionError | PermissionDeniedError | UnauthenticatedError):
            raise StorageError(
                f"The S3 store refused to {action} {ref} ({self.where}): {detail}",
                suggestion="Check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or the "
                "instance role) and that they may read and write the bucket; and AWS_REGION.",
            ) from exc
        if "error sending request" in lowered or "connect" in lowered or "timed out" in lowered or "dns" in lowered:
            raise StorageError(
                f"Cannot reach the S3 store ({self.where}) to {action} {ref}: {detail}",
                suggestion="Check OPENAI_IMAGE_MCP_S3_ENDPOINT (scheme, host and port) and the network; for AWS, leave "
                "it unset and set AWS_REGION.",
            ) from exc
        raise StorageError(
            f"Could not {action} {ref} ({self.where}): {detail}",
            suggestion="Check the S3 store's status, OPENAI_IMAGE_MCP_S3_ENDPOINT and the AWS_* credentials.",
        ) from exc

    @contextmanager
    def _calling(self, action: str, ref: str) -> Iterator[None]:
        """Every obstore failure becomes a StorageError (a missing object is the caller's to handle first)."""
        try:
            yield
        except (BlobNotFound, StorageError):
            raise
        except Exception as exc:
            self._fail(action, ref, exc)

    # -- writing ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Check the bucket can be reached and written: a probe object is written and deleted."""
        if self.endpoint and urlsplit(self.endpoint).scheme.lower() == "http" and not is_loopback(self.endpoint):
            raise StorageError(
                f"The S3 endpoint {self.endpoint} is plain http:// on another machine: credentials and images would "
                "cross the network in the clear.",
                suggestion="Use an https:// endpoint in OPENAI_IMAGE_MCP_S3_ENDPOINT (plain http is allowed on "
                "localhost only).",
            )
        probe = self.ref(f".probe-{time.time_ns()}")
        await self.put(probe, b"ok")
        with self._calling("delete", probe):
            await obs.delete_async(self._store, self._own_key(probe))

    async def put(self, ref: str, data: bytes) -> None:
        await self._put(self._own_key(ref), ref, data)

    async def _put(self, key: str, ref: str, data: bytes) -> None:
        mime = mimetypes.guess_type(key)[0]
        attributes = cast("Attributes", {"Content-Type": mime}) if mime else None
        with self._calling("write", ref):
            try:
                await obs.put_async(self._store, key, data, attributes=attributes)
            except FileNotFoundError as exc:  # S3 answers 404 to a PUT only for a missing bucket
                self._fail("write", ref, exc)

    async def put_image(self, ref: str, data: bytes, metadata: dict[str, Any]) -> None:
        """The image and its sidecar, side by side (two requests in the time of one); the first failure is raised."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.put, ref, data)
                tg.start_soon(self.put, self.sidecar(ref), json_bytes(metadata))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None

    async def put_preview(self, job_id: str, name: str, data: bytes) -> None:
        key = self._preview_key(job_id, name)
        await self._put(key, self._base + key, data)

    # -- reading ------------------------------------------------------------------------------
    async def get(self, ref: str) -> bytes:
        key = self._key(ref)
        if key is None:
            raise BlobNotFound(f"{ref} is not in s3://{self.bucket}/ (it was saved by another blob store).")
        return await self._get(key, ref)

    async def _get(self, key: str, ref: str) -> bytes:
        with self._calling("read", ref):
            try:
                result = await obs.get_async(self._store, key)
                buffer = await result.bytes_async()
            except FileNotFoundError as exc:
                if "NoSuchBucket" in str(exc):
                    self._fail("read", ref, exc)
                raise BlobNotFound(f"Nothing is stored at {ref}.") from exc
            return buffer.to_bytes()

    async def get_preview(self, job_id: str, name: str) -> bytes:
        key = self._preview_key(job_id, name)
        return await self._get(key, self._base + key)

    async def exists(self, ref: str) -> bool:
        key = self._key(ref)
        if key is None:
            return False
        with self._calling("look up", ref):
            try:
                await obs.head_async(self._store, key)
                return True
            except FileNotFoundError as exc:
                if "NoSuchBucket" in str(exc):
                    self._fail("look up", ref, exc)
            if "." in key.rsplit("/", 1)[-1]:  # a file's name (image.png): nothing is stored below it
                return False
            async for chunk in obs.list(self._store, key.rstrip("/") + "/", chunk_size=1):
                if chunk:
                    return True
        return False

    async def signed_url(self, ref: str, *, expires_in: float) -> str | None:
        """A presigned GET URL of the object, valid for ``expires_in`` seconds (at most a week)."""
        key = self._key(ref)
        if key is None:
            return None
        seconds = max(1, min(int(expires_in), MAX_PRESIGN))
        with self._calling("sign a link to", ref):
            return await obs.sign_async(self._store, "GET", key, timedelta(seconds=seconds))

    # -- removing -----------------------------------------------------------------------------
    async def delete_images(self, refs: Sequence[str]) -> None:
        keys = [k for ref in refs for k in (self._key(ref), self._key(self.sidecar(ref))) if k is not None]
        if keys:
            with self._calling("delete", ", ".join(refs)):
                await obs.delete_async(self._store, keys)

    async def sweep(self, *, older_than: float, preview_age: float = 86_400) -> int:
        """Previews last modified more than ``preview_age`` ago; returns how many (S3 leaves no temporaries)."""
        cutoff = time.time() - preview_age
        folder = "/".join(p for p in (self.prefix, PREVIEWS) if p) + "/"
        old: list[str] = []
        with self._calling("list", self._base + folder):
            async for chunk in obs.list(self._store, folder, chunk_size=500):
                old += [meta["path"] for meta in chunk if meta["last_modified"].timestamp() < cutoff]
            if old:
                await obs.delete_async(self._store, old)
        return len(old)
