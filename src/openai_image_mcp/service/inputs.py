"""The path policy: which local files tools may read as input images, and reading them.

* :meth:`InputResolver.resolve_path` turns what the model typed (an absolute path, ``~/...``, a
  ``file://`` URI, a path relative to the workspace) into a resolved path inside the allowed roots.
  Containment is checked on the *resolved* path (symlinks followed, ``..`` collapsed) and *before*
  existence, so an error never tells whether a file outside the roots exists.
* :meth:`InputResolver.load_path` reads at most ``max_bytes + 1`` bytes without following a final
  symlink, then hands them to :func:`~openai_image_mcp.imaging.validate.validate_image` (magic bytes,
  the pixel cap from the header, a real decode).

Both are sync (called from a worker thread). Image ids and ``openai-image://`` resource URIs are not
files: callers try :func:`~openai_image_mcp.core.refs.parse_image_ref` first.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote as unquote_url
from urllib.parse import urlsplit

from openai_image_mcp.core.errors import ImageTooLarge, InputFileNotFound, InvalidInput, PathNotAllowed
from openai_image_mcp.core.refs import unquote
from openai_image_mcp.imaging.validate import HeaderReader, LoadedImage, validate_image

#: A URL: ``scheme://`` (one letter would be a Windows drive), or one of the schemes used without
#: ``//`` (``data:image/png;base64,...``, ``file:/x``). Any other ``word:`` starts a file name.
_URL_RE = re.compile(r"([a-z][a-z0-9+.-]+)://|(data|file|blob|javascript|mailto):", re.IGNORECASE)
_MB = 1024 * 1024
WINDOWS = os.name == "nt"
_DRIVE = re.compile(r"/?([A-Za-z]):[/\\]?")


def file_uri_path(uri_path: str, *, windows: bool) -> str:
    """The local path of a ``file://`` URI's path part, percent-decoded.

    On Windows ``/C:/Users/me/a.png`` (from ``file:///C:/Users/me/a.png``) is ``C:\\Users\\me\\a.png``;
    elsewhere the path is kept as is (``/C:/x`` is then an ordinary, odd POSIX path).
    """
    decoded = unquote_url(uri_path)
    if not windows:
        return decoded
    match = _DRIVE.match(decoded)
    if match:
        rest = decoded[match.end() :]
        return f"{match.group(1).upper()}:\\" + rest.replace("/", "\\")
    return decoded.replace("/", "\\")


class InputResolver:
    """Resolves and loads input images under ``roots``; the first root is the workspace."""

    def __init__(
        self, roots: Sequence[Path], *, max_bytes: int, max_pixels: int, header: HeaderReader | None = None
    ) -> None:
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
        self.header = header  # how sizes are read from headers (None: the default reader)

    # -- paths --------------------------------------------------------------------------------

    def resolve_path(self, raw: str) -> Path:
        """The resolved path of an existing regular file inside the roots.

        A relative path is taken relative to the first root (the workspace), never to the server's
        current directory: that directory is whatever the MCP client started us in, which the model
        cannot know, while the workspace is where this server's own images live.
        """
        text = unquote(raw)
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
            path = file_uri_path(parts.path, windows=WINDOWS)
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
        return self.check(self._read(path), str(path))

    def check(self, data: bytes, source: str) -> LoadedImage:
        """Bytes from anywhere (a file, a blob), checked by the same rules."""
        if len(data) > self.max_bytes:
            raise self._too_many_bytes(Path(source), len(data))
        return validate_image(data, source, max_pixels=self.max_pixels, header=self.header)

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


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _mb(size: int) -> str:
    return f"{size / _MB:.1f} MB ({size:,} bytes)"
