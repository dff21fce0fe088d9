"""What is particular to the workspace-folder blob store: the original folders, atomic writes, crash sweeps."""

from __future__ import annotations

import os
from pathlib import Path

from openai_image_mcp.store.files import FileBlobStore, write_atomic


def test_atomic_write_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a" / "image_001.png"
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert [p.name for p in target.parent.iterdir()] == ["image_001.png"]


async def test_opening_makes_the_original_folders(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "generated_images")
    await store.open()
    assert sorted(p.name for p in store.root.iterdir()) == [
        "edits", "products", "sessions", "single_shot", "style_series", "ui_assets", "uploads",
    ]  # fmt: skip
    assert store.ref("sessions/abc/images/image_001.png") == str(store.root / "sessions/abc/images/image_001.png")
    assert store.local_path(store.ref("x.png")) == store.root / "x.png"


async def test_sweep_removes_crash_leftovers_but_not_writes_in_progress(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    folder = tmp_path / "sessions" / "s" / "images"
    folder.mkdir(parents=True)
    leftover = folder / ".tmp-abc-image_001.png"
    leftover.write_bytes(b"half")
    os.utime(leftover, (1_000, 1_000))
    fresh = folder / ".tmp-def-image_002.png"  # a write still in progress (newer than the cut-off)
    fresh.write_bytes(b"half")
    keep = folder / "image_001.png"
    keep.write_bytes(b"whole")
    assert await store.sweep(older_than=2_000) == 1
    assert not leftover.exists() and fresh.exists() and keep.exists()


async def test_old_previews_are_swept(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "generated_images")
    await store.put_preview("job", "partial_0.img", b"x")
    old = tmp_path / "previews" / "job"
    os.utime(old, (1_000, 1_000))
    await store.sweep(older_than=0)
    assert not old.exists()
