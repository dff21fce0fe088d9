"""Reading input images safely: the one place every tool turns a user-supplied reference into bytes.

Two steps, both sync (tools call them from a worker thread):

* :meth:`InputResolver.resolve_path` turns what the model typed (an absolute path, ``~/...``, a
  ``file://`` URI, a path relative to the workspace) into a resolved path inside the allowed roots.
  Containment is checked on the *resolved* path (symlinks followed, ``..`` collapsed) and *before*
  existence, so an error never tells whether a file outside the roots exists.
* :meth:`InputResolver.load_path` reads at most ``max_bytes + 1`` bytes, checks the magic bytes,
  checks the pixel count from the header *before* any pixel is decoded, then decodes for real so a
  truncated file fails here rather than at OpenAI.

Image ids and ``openai-image://`` resource URIs are not files: callers try :func:`parse_image_ref`
first and only pass the other strings to :meth:`InputResolver.load`.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

from openai_image_mcp.core.errors import ImageTooLarge, InputFileNotFound, InvalidInput, NotAnImage, PathNotAllowed
from openai_image_mcp.core.models import MIME_TYPES

if TYPE_CHECKING:
    from PIL import Image

#: A server image id: ``uuid4().hex``.
IMAGE_ID_RE = re.compile(r"[0-9a-f]{32}")
_REF_RE = re.compile(r"(?:openai-image://image/)?([0-9a-f]{32})(?:\.[a-z0-9]{1,5})?", re.IGNORECASE)
#: A URL: ``scheme://`` (one letter would be a Windows drive), or one of the schemes used without
#: ``//`` (``data:image/png;base64,...``, ``file:/x``). Any other ``word:`` starts a file name.
_URL_RE = re.compile(r"([a-z][a-z0-9+.-]+)://|(data|file|blob|javascript|mailto):", re.IGNORECASE)

_PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
#: Modes the PNG encoder writes as is; anything else (CMYK, YCbCr, ...) is converted first.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
#: JPEG start-of-frame markers (C4 DHT, C8 JPG and CC DAC share the range but are not frames).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: What Pillow raises on a corrupt or truncated file, depending on the plugin.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)
_ORIENTATION = 0x0112  # the EXIF tag
_MB = 1024 * 1024


def parse_image_ref(raw: str) -> str | None:
    """The image id in ``openai-image://image/<id>[.<ext>]`` or a bare 32-hex id, else ``None``.

    Surrounding whitespace and quotes are ignored and hex case is too; the id returned is lowercase.
    """
    match = _REF_RE.fullmatch(_unquote(raw))
    return match.group(1).lower() if match else None


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """An input image checked and ready to upload.

    ``data`` is the original file, byte for byte, unless it had to change: an EXIF orientation
    other than 1 is applied and the result re-encoded as lossless PNG (OpenAI ignores EXIF, so the
    model would otherwise see a sideways photo), and GIF is re-encoded as PNG (first frame) because
    OpenAI does not accept it. Re-encoded images carry no EXIF (so no GPS); the ICC profile is kept.
    """

    data: bytes
    mime_type: str  # image/png, image/jpeg or image/webp; matches data
    width: int  # after EXIF orientation
    height: int
    source: str  # the resolved absolute path
    sha256: str  # of data


class InputResolver:
    """Resolves and loads input images under ``roots``; the first root is the workspace."""

    def __init__(self, roots: Sequence[Path], *, max_bytes: int, max_pixels: int) -> None:
        if not roots:
            raise ValueError("InputResolver needs at least one root")
        resolved: list[Path] = []
        for root in roots:
            path = Path(root).expanduser().resolve()
            if path not in resolved:
                resolved.append(path)
        self.roots: tuple[Path, ...] = tuple(resolved)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    # -- paths --------------------------------------------------------------------------------

    def resolve_path(self, raw: str) -> Path:
        """The resolved path of an existing regular file inside the roots.

        A relative path is taken relative to the first root (the workspace), never to the server's
        current directory: that directory is whatever the MCP client started us in, which the model
        cannot know, while the workspace is where this server's own images live.
        """
        text = _unquote(raw)
        if not text:
            raise InvalidInput(
                "The image path is empty: pass an absolute path, ~/..., a file:// URI, "
                "an image id or an openai-image://image/<id> resource URI."
            )
        if "\x00" in text:
            raise InvalidInput("The image path contains a NUL byte.")
        text = self._strip_scheme(text)
        try:
            path = Path(text).expanduser()
        except RuntimeError as exc:  # ~user with no such user, or no home directory
            raise InvalidInput(f"Cannot expand {text!r}: {exc}.") from exc
        relative = not path.is_absolute()
        if relative:
            path = self.roots[0] / path
        lexical = Path(os.path.abspath(path))
        try:
            resolved = path.resolve(strict=False)
        except (OSError, RuntimeError) as exc:  # a symlink loop
            if not self._inside(lexical):
                raise self._not_allowed(text, lexical) from exc
            raise InvalidInput(f"{text!r} cannot be resolved (a symlink loop?): {exc}.") from exc
        if not self._inside(resolved):
            raise self._not_allowed(text, resolved)
        try:
            info = resolved.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            hint = f" (relative paths start at {self.roots[0]})" if relative else ""
            raise InputFileNotFound(f"No such file: {resolved}{hint}.") from exc
        except OSError as exc:
            raise InvalidInput(f"{resolved} cannot be read: {exc.strerror or exc}.") from exc
        if stat.S_ISDIR(info.st_mode):
            raise InvalidInput(f"{resolved} is a folder, not an image file.")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{resolved} is not a regular file.")
        return resolved

    def _strip_scheme(self, text: str) -> str:
        """A ``file://`` URI becomes its percent-decoded path; any other URL is refused."""
        url = _URL_RE.match(text)
        if url is None:
            return text
        scheme = (url.group(1) or url.group(2)).lower()
        if scheme == "file":
            parts = urlsplit(text)
            if parts.netloc not in ("", "localhost"):
                raise InvalidInput(
                    f"{text!r} names the host {parts.netloc!r}; only local files are accepted "
                    "(file:///path or file://localhost/path)."
                )
            path = url2pathname(parts.path)
            if not path or "\x00" in path:
                raise InvalidInput(f"{text!r} does not name a usable local path.")
            return path
        if scheme == "openai-image":
            raise InvalidInput(f"{_short(text)} is not an image resource URI: use openai-image://image/<32-hex id>.")
        raise InvalidInput(
            f"{scheme}: URLs are not accepted ({_short(text)}); only local files, image ids and resource URIs "
            "are accepted. Save the image to a local file first and pass its path."
        )

    def _inside(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots)

    def _not_allowed(self, text: str, resolved: Path) -> PathNotAllowed:
        via = f" (it resolves to {resolved})" if str(resolved) != text else ""
        allowed = ", ".join(str(root) for root in self.roots)
        return PathNotAllowed(
            f"{text!r} is outside the folders this server may read{via}. Allowed folders: {allowed} "
            "(add more with OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS)."
        )

    # -- bytes --------------------------------------------------------------------------------

    def load(self, raw: str) -> LoadedImage:
        """:meth:`resolve_path` then :meth:`load_path`."""
        return self.load_path(self.resolve_path(raw))

    def load_path(self, path: Path) -> LoadedImage:
        """Read, check and decode ``path``, which :meth:`resolve_path` returned (not re-checked here)."""
        data = self._read(path)
        kind = _sniff(data)
        if kind is None:
            raise NotAnImage(
                f"{path} is not an image: it starts like {_describe(data)}; the extension alone does not count. "
                "Pass a PNG, JPEG, WebP or GIF file."
            )
        size = _header_size(kind, data)
        if size is not None:
            self._check_pixels(path, *size)
        return self._decode(path, data, kind)

    def _read(self, path: Path) -> bytes:
        """The file's bytes, refusing oversized files from ``fstat`` before reading any.

        ``O_NOFOLLOW`` makes a final component swapped for a symlink after :meth:`resolve_path` fail
        instead of being followed; ``O_NONBLOCK`` keeps a FIFO from blocking the open.
        """
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError as exc:
            raise InputFileNotFound(f"No such file: {path}.") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathNotAllowed(f"{path} is a symlink; pass the path it points to.") from exc
            raise InvalidInput(f"{path} cannot be read: {exc.strerror or exc}.") from exc
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInput(f"{path} is not a regular file.")
            if info.st_size > self.max_bytes:
                raise self._too_many_bytes(path, info.st_size)
            data = file.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:  # it grew since fstat
            raise self._too_many_bytes(path, len(data))
        return data

    def _too_many_bytes(self, path: Path, size: int) -> ImageTooLarge:
        return ImageTooLarge(
            f"{path} is {_mb(size)}; the limit is {_mb(self.max_bytes)} (OPENAI_IMAGE_MCP_MAX_INPUT_BYTES)."
        )

    def _check_pixels(self, path: Path, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise ImageTooLarge(
                f"{path} is {width}x{height} = {width * height / 1e6:.1f} megapixels; the limit is "
                f"{self.max_pixels / 1e6:.1f} megapixels (OPENAI_IMAGE_MCP_MAX_INPUT_PIXELS)."
            )

    def _decode(self, path: Path, data: bytes, kind: str) -> LoadedImage:
        """A full decode (``load()``), restricted to the sniffed format's Pillow plugin."""
        from PIL import Image, ImageOps  # here, not at import: the server starts without Pillow

        name = _PILLOW_FORMAT[kind]
        try:
            img = Image.open(io.BytesIO(data), formats=[name])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            # Only reached when max_pixels is above Pillow's own limit, or the header parser missed.
            raise ImageTooLarge(f"{path} is too large for the image decoder: {exc}") from exc
        except _DECODE_ERRORS as exc:
            raise NotAnImage(f"{path} is not a readable {name} image: it is truncated or corrupt ({exc}).") from exc
        with img:
            self._check_pixels(path, img.width, img.height)
            try:
                img.load()
            except _DECODE_ERRORS as exc:
                raise NotAnImage(f"{path} is not a readable {name} image: it is truncated or corrupt ({exc}).") from exc
            orientation = _orientation(img)
            if orientation == 1 and kind in MIME_TYPES:
                return _loaded(data, MIME_TYPES[kind], img.width, img.height, path)
            out = ImageOps.exif_transpose(img) if orientation != 1 else img
            png = _encode_png(out)
            return _loaded(png, "image/png", out.width, out.height, path)


# -- helpers ---------------------------------------------------------------------------------------


def _loaded(data: bytes, mime_type: str, width: int, height: int, path: Path) -> LoadedImage:
    return LoadedImage(data, mime_type, width, height, str(path), hashlib.sha256(data).hexdigest())


def _unquote(raw: str) -> str:
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _mb(size: int) -> str:
    return f"{size / _MB:.1f} MB ({size:,} bytes)"


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _describe(data: bytes) -> str:
    """How a non-image starts, for the error: text, or the first bytes in hex."""
    head = data[:512]
    if not head:
        return "nothing (the file is empty)"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    body = text[:-3] if len(head) == 512 else text  # the cut may split a character
    if all(ch.isprintable() or ch in "\r\n\t" for ch in body) and "\ufffd" not in body:
        return f"text ({text[:40].strip()!r})"
    return f"unknown bytes ({head[:8].hex(' ')})"


def _header_size(kind: str, data: bytes) -> tuple[int, int] | None:
    """Width and height read from the header, so a decompression bomb is refused before Pillow
    sees it (Pillow's own check warns instead of failing below twice its limit, and
    ``warnings.catch_warnings`` is not thread-safe). ``None`` when the header is unusual; Pillow's
    size is checked again after ``open`` anyway."""
    if kind == "png" and data[12:16] == b"IHDR" and len(data) >= 24:
        return _be(data[16:20]), _be(data[20:24])
    if kind == "gif" and len(data) >= 10:
        return _le(data[6:8]), _le(data[8:10])
    if kind == "webp" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return _le(data[24:27]) + 1, _le(data[27:30]) + 1
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            return _le(data[26:28]) & 0x3FFF, _le(data[28:30]) & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = _le(data[21:25])
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == "jpeg":
        return _jpeg_size(data)
    return None


def _le(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


def _be(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments (skipping each by its length, so an EXIF thumbnail is never mistaken
    for the frame) up to the first start-of-frame."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # stand-alone markers
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame
            return None
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            return _be(data[i + 7 : i + 9]), _be(data[i + 5 : i + 7])
        i += 2 + _be(data[i + 2 : i + 4])
    return None


def _orientation(img: Image.Image) -> int:
    """The EXIF Orientation (1..8); 1 when absent, out of range or the EXIF block is unreadable."""
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _encode_png(img: Image.Image) -> bytes:
    """Lossless PNG; alpha (and a palette's transparency) kept, CMYK and the like made RGB(A)."""
    if img.mode not in _PNG_MODES:
        has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
