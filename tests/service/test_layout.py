"""The original folder layout: the keys the service plans, as the file blob store turns them into paths.

What is particular to the file blob store itself (atomic writes, the crash sweep, the six top folders made by
``open``) is tested in ``tests/store/test_files.py``.
"""

from __future__ import annotations

from pathlib import Path

from openai_image_mcp.service.layout import (
    session_image_parts,
    session_key,
    slugify,
    style_series_key,
    use_case_key,
)
from openai_image_mcp.store.files import FileBlobStore, metadata_path


def test_slugify_makes_safe_short_names() -> None:
    assert slugify("A red Fox!") == "a-red-fox"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("ÉtÉ à Paris") == "ete-a-paris"
    assert slugify("!!!") == "image"
    assert len(slugify("x" * 500)) <= 40


def test_layout_follows_the_original_design(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "generated_images")
    folder = blobs.ref(session_key("abc"))
    path = Path(blobs.join(folder, *session_image_parts(1, "png")))
    assert path == blobs.root / "sessions" / "abc" / "images" / "image_001.png"
    assert Path(blobs.ref(style_series_key("Autumn Leaves"))) == blobs.root / "style_series" / "autumn-leaves"
    assert metadata_path(path).name == "image_001_metadata.json"
    assert Path(blobs.sidecar(str(path))) == metadata_path(path)
    product = Path(blobs.ref(use_case_key("product", "Blue mug", "png", subfolder="Blue Mug", now=0)))
    assert product.parent == blobs.root / "products" / "blue-mug"
