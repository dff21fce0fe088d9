from __future__ import annotations

from pathlib import Path

from openai_image_mcp.core.models import SessionRecord
from openai_image_mcp.service.layout import Workspace, metadata_path, slugify, write_atomic


def test_slugify_makes_safe_short_names() -> None:
    assert slugify("A red Fox!") == "a-red-fox"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("ÉtÉ à Paris") == "ete-a-paris"
    assert slugify("!!!") == "image"
    assert len(slugify("x" * 500)) <= 40


def test_atomic_write_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a" / "image_001.png"
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert [p.name for p in target.parent.iterdir()] == ["image_001.png"]


def test_layout_follows_the_original_design(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "generated_images")
    ws.ensure()
    assert sorted(p.name for p in ws.root.iterdir()) == [
        "edits",
        "products",
        "sessions",
        "single_shot",
        "style_series",
        "ui_assets",
    ]
    session = SessionRecord(
        id="abc", name=None, description="d", model="m", image_model="i", status="active", created_at=0,
        last_activity=0, closed_at=None, last_response_id=None, folder=str(ws.session_dir("abc")), use_case="general",
    )  # fmt: skip
    path = ws.session_image_path(session, 1, "png")
    assert path == ws.root / "sessions" / "abc" / "images" / "image_001.png"
    assert ws.style_series_dir("Autumn Leaves") == ws.root / "style_series" / "autumn-leaves"
    assert metadata_path(path).name == "image_001_metadata.json"
    assert (
        ws.use_case_path("product", "Blue mug", "png", subfolder="Blue Mug").parent == ws.root / "products" / "blue-mug"
    )


def test_sweep_removes_crash_leftovers(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "sessions" / "s" / "images").mkdir(parents=True)
    leftover = tmp_path / "sessions" / "s" / "images" / ".tmp-abc-image_001.png"
    leftover.write_bytes(b"half")
    keep = tmp_path / "sessions" / "s" / "images" / "image_001.png"
    keep.write_bytes(b"whole")
    assert ws.sweep_temporaries() == 1
    assert not leftover.exists() and keep.exists()
