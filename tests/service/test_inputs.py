"""Reading input images: path resolution inside the allowed roots, byte/pixel caps, real decoding."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from openai_image_mcp.core.errors import (
    ImageTooLarge,
    InputFileNotFound,
    InvalidInput,
    NotAnImage,
    PathNotAllowed,
)
from openai_image_mcp.imaging.validate import LoadedImage
from openai_image_mcp.service.inputs import InputResolver
from tests.imaging.test_validate import bomb_png
from tests.support.fake_openai import make_photo_like

MB = 1024 * 1024


@dataclass
class Dirs:
    workspace: Path
    extra: Path
    outside: Path


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    d = Dirs(tmp_path / "workspace", tmp_path / "extra", tmp_path / "outside")
    for path in (d.workspace, d.extra, d.outside):
        path.mkdir()
    return d


@pytest.fixture
def resolver(dirs: Dirs) -> InputResolver:
    return InputResolver([dirs.workspace, dirs.extra], max_bytes=5 * MB, max_pixels=4_000_000)


def _write(path: Path, data: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_photo_like(64, 48) if data is None else data)
    return path


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


# -- resolve_path: accepted forms -------------------------------------------------------------------


def test_absolute_path_inside_a_root_loads(resolver: InputResolver, dirs: Dirs) -> None:
    path = _write(dirs.extra / "a.png")
    loaded = resolver.load(str(path))
    assert isinstance(loaded, LoadedImage)
    assert loaded.data == path.read_bytes()
    assert (loaded.mime_type, loaded.width, loaded.height) == ("image/png", 64, 48)
    assert loaded.source == str(path.resolve())
    assert loaded.sha256 == hashlib.sha256(loaded.data).hexdigest()


def test_tilde_path(resolver: InputResolver, dirs: Dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(dirs.workspace))
    path = _write(dirs.workspace / "pics" / "a.png")
    assert resolver.resolve_path("~/pics/a.png") == path.resolve()


@pytest.mark.parametrize("form", ["plain", "localhost"])
def test_file_uri_with_percent_encoded_space(resolver: InputResolver, dirs: Dirs, form: str) -> None:
    path = _write(dirs.workspace / "my photo.png")
    uri = path.as_uri()
    assert "%20" in uri
    if form == "localhost":
        uri = uri.replace("file://", "file://localhost", 1)
    assert resolver.resolve_path(uri) == path.resolve()


def test_relative_path_is_resolved_against_the_workspace_not_the_cwd(
    resolver: InputResolver, dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(dirs.outside / "sub" / "a.png")
    monkeypatch.chdir(dirs.outside)
    path = _write(dirs.workspace / "sub" / "a.png")
    assert resolver.resolve_path("sub/a.png") == path.resolve()


def test_whitespace_and_quotes_are_stripped(resolver: InputResolver, dirs: Dirs) -> None:
    path = _write(dirs.workspace / "a.png")
    assert resolver.resolve_path(f'  "{path}"\n') == path.resolve()
    assert resolver.resolve_path(f"'{path}'") == path.resolve()


def test_colon_in_a_file_name_is_not_a_url_scheme(resolver: InputResolver, dirs: Dirs) -> None:
    path = _write(dirs.workspace / "shot:1.png")
    assert resolver.resolve_path("shot:1.png") == path.resolve()


def test_symlink_inside_pointing_inside_is_fine(resolver: InputResolver, dirs: Dirs) -> None:
    target = _write(dirs.extra / "real.png")
    link = dirs.workspace / "link.png"
    link.symlink_to(target)
    assert resolver.resolve_path(str(link)) == target.resolve()
    assert resolver.load(str(link)).source == str(target.resolve())


# -- resolve_path: refused --------------------------------------------------------------------------


def test_path_outside_the_roots_is_refused_and_the_roots_are_listed(resolver: InputResolver, dirs: Dirs) -> None:
    path = _write(dirs.outside / "a.png")
    with pytest.raises(PathNotAllowed) as info:
        resolver.resolve_path(str(path))
    assert str(dirs.workspace.resolve()) in info.value.message
    assert str(dirs.extra.resolve()) in info.value.message


def test_dot_dot_escape_is_refused(resolver: InputResolver, dirs: Dirs) -> None:
    _write(dirs.outside / "a.png")
    with pytest.raises(PathNotAllowed):
        resolver.resolve_path(str(dirs.workspace / ".." / "outside" / "a.png"))
    with pytest.raises(PathNotAllowed):
        resolver.resolve_path("../outside/a.png")


def test_symlink_pointing_outside_is_refused(resolver: InputResolver, dirs: Dirs) -> None:
    target = _write(dirs.outside / "secret.png")
    (dirs.workspace / "link.png").symlink_to(target)
    (dirs.workspace / "linkdir").symlink_to(dirs.outside, target_is_directory=True)
    with pytest.raises(PathNotAllowed) as info:
        resolver.resolve_path(str(dirs.workspace / "link.png"))
    assert "resolves to" in info.value.message
    with pytest.raises(PathNotAllowed):
        resolver.resolve_path("linkdir/secret.png")


def test_outside_nonexistent_file_is_not_allowed_rather_than_missing(resolver: InputResolver, dirs: Dirs) -> None:
    with pytest.raises(PathNotAllowed):
        resolver.resolve_path(str(dirs.outside / "nope.png"))
    with pytest.raises(PathNotAllowed):
        resolver.resolve_path(str(dirs.outside / "nodir" / "nope.png"))


def test_missing_file(resolver: InputResolver, dirs: Dirs) -> None:
    with pytest.raises(InputFileNotFound) as info:
        resolver.resolve_path("nope.png")
    assert str(dirs.workspace.resolve()) in info.value.message  # relative paths start there


def test_directory_is_invalid_input(resolver: InputResolver, dirs: Dirs) -> None:
    with pytest.raises(InvalidInput) as info:
        resolver.resolve_path(str(dirs.extra))
    assert type(info.value) is InvalidInput
    assert "folder" in info.value.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_fifo_is_refused_without_blocking(resolver: InputResolver, dirs: Dirs) -> None:
    os.mkfifo(dirs.workspace / "pipe.png")
    with pytest.raises(InvalidInput, match="regular file"):
        resolver.load("pipe.png")
    with pytest.raises(InvalidInput, match="regular file"):
        resolver.load_path(dirs.workspace / "pipe.png")


def test_symlink_loop_is_an_error_not_a_hang(resolver: InputResolver, dirs: Dirs) -> None:
    (dirs.workspace / "a").symlink_to(dirs.workspace / "b")
    (dirs.workspace / "b").symlink_to(dirs.workspace / "a")
    with pytest.raises(InvalidInput):
        resolver.resolve_path("a")


@pytest.mark.parametrize(
    "raw",
    ["http://example.com/a.png", "https://x.y/a.png", "data:image/png;base64,iVBORw0KGgo=", "s3://bucket/a.png"],
)
def test_other_url_schemes_are_refused(resolver: InputResolver, raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolver.resolve_path(raw)
    assert type(info.value) is InvalidInput
    assert "only local files, image ids and resource URIs" in info.value.message


def test_file_uri_on_another_host_is_refused(resolver: InputResolver) -> None:
    with pytest.raises(InvalidInput, match="only local files"):
        resolver.resolve_path("file://fileserver/share/a.png")


@pytest.mark.parametrize("raw", ["", "   ", '""', "a\x00.png", "file:///tmp/a%00.png"])
def test_empty_or_nul_is_invalid(resolver: InputResolver, raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolver.resolve_path(raw)
    assert type(info.value) is InvalidInput


# -- load_path ---------------------------------------------------------------------------------------


def test_text_file_named_png_is_not_an_image(resolver: InputResolver, dirs: Dirs) -> None:
    _write(dirs.workspace / "fake.png", b"hello, I am not a picture\n")
    with pytest.raises(NotAnImage) as info:
        resolver.load("fake.png")
    assert "starts like text" in info.value.message
    assert "extension alone does not count" in info.value.message


def test_binary_garbage_and_empty_files_are_not_images(resolver: InputResolver, dirs: Dirs) -> None:
    _write(dirs.workspace / "junk.png", bytes(range(256)))
    with pytest.raises(NotAnImage, match="unknown bytes"):
        resolver.load("junk.png")
    _write(dirs.workspace / "empty.png", b"")
    with pytest.raises(NotAnImage, match="empty"):
        resolver.load("empty.png")


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_truncated_image_is_not_an_image(resolver: InputResolver, dirs: Dirs, fmt: str) -> None:
    data = make_photo_like(256, 256, fmt=fmt)
    _write(dirs.workspace / f"half.{fmt}", data[: len(data) // 2])
    with pytest.raises(NotAnImage, match="truncated or corrupt"):
        resolver.load(f"half.{fmt}")


def test_pixel_bomb_is_refused_from_the_header(resolver: InputResolver, dirs: Dirs) -> None:
    bomb = bomb_png()
    assert len(bomb) < 200_000
    _write(dirs.workspace / "bomb.png", bomb)
    with pytest.raises(ImageTooLarge) as info:
        resolver.load("bomb.png")
    assert "20000x20000" in info.value.message
    assert "megapixels" in info.value.message


def test_pillows_own_bomb_check_is_turned_into_image_too_large(dirs: Dirs) -> None:
    """If the header parser misses, Pillow's DecompressionBombError still ends as ImageTooLarge."""
    resolver = InputResolver([dirs.workspace], max_bytes=5 * MB, max_pixels=10**9, header=lambda kind, data: None)
    _write(dirs.workspace / "bomb.png", bomb_png())
    with pytest.raises(ImageTooLarge):
        resolver.load("bomb.png")


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "gif"])
def test_pixel_cap_applies_to_every_format(dirs: Dirs, fmt: str) -> None:
    resolver = InputResolver([dirs.workspace], max_bytes=5 * MB, max_pixels=100 * 100)
    _write(dirs.workspace / "ok", make_photo_like(100, 100, fmt=fmt))
    assert resolver.load("ok").width == 100
    _write(dirs.workspace / "big", make_photo_like(101, 100, fmt=fmt))
    with pytest.raises(ImageTooLarge, match="101x100"):
        resolver.load("big")


def test_oversized_file_is_refused(dirs: Dirs) -> None:
    resolver = InputResolver([dirs.workspace], max_bytes=2048, max_pixels=4_000_000)
    _write(dirs.workspace / "big.png", make_photo_like(64, 64))
    with pytest.raises(ImageTooLarge) as info:
        resolver.load("big.png")
    assert "MB" in info.value.message
    assert "2,048 bytes" in info.value.message


def test_exif_rotated_jpeg_is_turned_upright_as_png(resolver: InputResolver, dirs: Dirs) -> None:
    img = Image.new("RGB", (60, 40), (220, 20, 20))
    img.paste((20, 20, 220), (30, 0, 60, 40))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    _write(dirs.workspace / "phone.jpg", _encode(img, "JPEG", exif=exif, quality=95))
    loaded = resolver.load("phone.jpg")
    assert (loaded.mime_type, loaded.width, loaded.height) == ("image/png", 40, 60)
    with Image.open(io.BytesIO(loaded.data)) as out:
        assert out.format == "PNG"
        assert out.size == (40, 60)
        top, bottom = out.convert("RGB").getpixel((20, 5)), out.convert("RGB").getpixel((20, 55))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 150 > top[2]  # red on top
        assert bottom[2] > 150 > bottom[0]
        assert out.getexif().get(0x0112) is None


def test_exif_rotation_keeps_alpha(resolver: InputResolver, dirs: Dirs) -> None:
    img = Image.new("RGBA", (30, 20), (0, 0, 0, 0))
    img.paste((255, 255, 255, 255), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    _write(dirs.workspace / "r.png", _encode(img, "PNG", exif=exif))
    loaded = resolver.load("r.png")
    assert loaded.mime_type == "image/png"
    with Image.open(io.BytesIO(loaded.data)) as out:
        assert out.mode == "RGBA"
        assert out.getpixel((29, 10)) == (255, 255, 255, 255)
        assert out.getpixel((0, 10)) == (0, 0, 0, 0)


@pytest.mark.parametrize(("fmt", "mime"), [("jpeg", "image/jpeg"), ("webp", "image/webp"), ("png", "image/png")])
def test_accepted_formats_are_passed_through_untouched(
    resolver: InputResolver, dirs: Dirs, fmt: str, mime: str
) -> None:
    data = make_photo_like(80, 60, fmt=fmt)
    _write(dirs.workspace / "a.img", data)
    loaded = resolver.load("a.img")
    assert (loaded.data, loaded.mime_type, loaded.width, loaded.height) == (data, mime, 80, 60)


def test_gif_is_converted_to_png_keeping_transparency(resolver: InputResolver, dirs: Dirs) -> None:
    img = Image.new("P", (20, 10), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (10, 0, 20, 10))
    _write(dirs.workspace / "a.gif", _encode(img, "GIF", transparency=0))
    loaded = resolver.load("a.gif")
    assert (loaded.mime_type, loaded.width, loaded.height) == ("image/png", 20, 10)
    assert loaded.sha256 == hashlib.sha256(loaded.data).hexdigest()
    with Image.open(io.BytesIO(loaded.data)) as out:
        assert out.format == "PNG"
        rgba = out.convert("RGBA")
        assert rgba.getpixel((2, 2)) == (0, 0, 0, 0)
        assert rgba.getpixel((15, 5)) == (255, 0, 0, 255)


def test_importing_inputs_does_not_import_pillow() -> None:
    import subprocess
    import sys

    code = "import sys, openai_image_mcp.service.inputs, openai_image_mcp.imaging.masks; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
