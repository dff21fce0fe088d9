"""The blob store on the workspace folder: refs are absolute paths under ``generated_images/``.

Every file is written to a hidden temporary name in its final folder and renamed into place, so a
reader (or a crash) never sees half a file; :meth:`FileBlobStore.sweep` removes temporaries a crash
left. Partial-image previews of running generations live beside, in ``previews/<job id>/``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from openai_image_mcp.core.errors import BlobNotFound, StorageError
from openai_image_mcp.core.refs import sidecar_ref

TEMP_PREFIX = ".tmp-"
#: The folders of the original layout, made at start so a person finds them.
TOP_FOLDERS = ("sessions", "single_shot", "products", "ui_assets", "style_series", "edits", "uploads")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}-{path.name}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def metadata_path(image_path: Path) -> Path:
    """``image_001.png`` -> ``image_001_metadata.json``."""
    return image_path.with_name(f"{image_path.stem}_metadata.json")


class FileBlobStore:
    """:class:`~openai_image_mcp.store.ports.BlobStore` on local folders."""

    def __init__(self, root: Path, *, previews_root: Path | None = None) -> None:
        self.root = root
        self.previews_root = previews_root or root.parent / "previews"

    # -- naming -------------------------------------------------------------------------------
    def ref(self, key: str) -> str:
        return str(self.root.joinpath(*[p for p in key.split("/") if p]))

    def join(self, ref: str, *parts: str) -> str:
        return str(Path(ref).joinpath(*parts))

    def sidecar(self, ref: str) -> str:
        return sidecar_ref(ref)

    def local_path(self, ref: str) -> Path | None:
        return Path(ref)

    # -- writing ------------------------------------------------------------------------------
    async def open(self) -> None:
        def make() -> None:
            for name in TOP_FOLDERS:
                (self.root / name).mkdir(parents=True, exist_ok=True)

        try:
            await anyio.to_thread.run_sync(make)
        except OSError as exc:
            raise StorageError(f"Cannot create the image folders under {self.root}: {exc}") from exc

    async def put(self, ref: str, data: bytes) -> None:
        await self._write(lambda: write_atomic(Path(ref), data))

    async def put_image(self, ref: str, data: bytes, metadata: dict[str, Any]) -> None:
        path = Path(ref)

        def write() -> None:
            write_atomic(path, data)
            write_atomic(metadata_path(path), json_bytes(metadata))

        await self._write(write)

    async def put_preview(self, job_id: str, name: str, data: bytes) -> None:
        await self._write(lambda: write_atomic(self.previews_root / job_id / name, data))

    @staticmethod
    async def _write(fn: Any) -> None:
        try:
            await anyio.to_thread.run_sync(fn)
        except OSError as exc:
            raise StorageError(f"Could not write into the workspace: {exc}") from exc

    # -- reading ------------------------------------------------------------------------------
    async def get(self, ref: str) -> bytes:
        try:
            return await anyio.Path(ref).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(f"The file {ref} is missing.") from exc
        except OSError as exc:
            raise StorageError(f"Could not read {ref}: {exc}") from exc

    async def get_preview(self, job_id: str, name: str) -> bytes:
        return await self.get(str(self.previews_root / job_id / name))

    async def exists(self, ref: str) -> bool:
        return await anyio.Path(ref).exists()

    async def signed_url(self, ref: str, *, expires_in: float) -> str | None:
        return None  # a folder has no URLs of its own: the server's signed link serves the file

    # -- removing -----------------------------------------------------------------------------
    async def delete_images(self, refs: Sequence[str]) -> None:
        def remove() -> None:
            for ref in refs:
                Path(ref).unlink(missing_ok=True)
                metadata_path(Path(ref)).unlink(missing_ok=True)

        await self._write(remove)

    async def sweep(self, *, older_than: float, preview_age: float = 86_400) -> int:
        return await anyio.to_thread.run_sync(self._sweep, older_than, preview_age)

    def _sweep(self, older_than: float, preview_age: float) -> int:
        removed = 0
        if self.root.exists():
            for tmp in self.root.rglob(f"{TEMP_PREFIX}*"):
                try:
                    if tmp.stat().st_mtime < older_than:
                        tmp.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        if self.previews_root.exists():
            cutoff = time.time() - preview_age
            for folder in self.previews_root.iterdir():
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    for f in folder.iterdir():
                        f.unlink(missing_ok=True)
                    folder.rmdir()
        return removed
