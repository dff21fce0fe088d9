"""The static tokens file (``OPENAI_IMAGE_MCP_TOKENS_FILE``): one line per principal,
``<principal> <sha256-hex of the token> [scope ...]``; ``#`` starts a comment.

Only hashes are kept, on disk and in memory; a presented token is hashed and compared in constant time.
A line without scopes gets ``images:read images:generate``. ``openai-image-mcp token add/list/revoke``
manage the file (:func:`add`, :func:`read`, :func:`revoke`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from openai_image_mcp.core.principal import LOCAL_NAME, SCOPE_ADMIN, SCOPE_GENERATE, SCOPE_READ

KNOWN_SCOPES = frozenset({SCOPE_READ, SCOPE_GENERATE, SCOPE_ADMIN})
DEFAULT_SCOPES = (SCOPE_READ, SCOPE_GENERATE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")
#: Random bytes in a token (encoded as 43 URL-safe characters after the prefix).
TOKEN_BYTES = 32
TOKEN_PREFIX = "oim_"


class TokenFileError(ValueError):
    """A malformed tokens file or argument (the message names the line)."""


@dataclass(frozen=True, slots=True)
class TokenEntry:
    principal: str
    sha256: str
    scopes: tuple[str, ...]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if name == LOCAL_NAME:
        raise TokenFileError(
            f"{LOCAL_NAME!r} is reserved for what is made over stdio and open localhost; choose another name."
        )
    if not _NAME.fullmatch(name):
        raise TokenFileError(
            f"{name!r} is not a valid principal name: 1-64 letters, digits and ._@+- , starting with a letter or digit."
        )
    return name


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise TokenFileError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_SCOPES))}.")
    return tuple(dict.fromkeys(scopes)) or DEFAULT_SCOPES


def parse(text: str, source: str = "tokens file") -> list[TokenEntry]:
    entries: list[TokenEntry] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2:
            raise TokenFileError(f"{source}, line {number}: expected '<principal> <sha256-hex> [scope ...]'.")
        name, hexdigest, scopes = parts[0], parts[1].lower(), parts[2:]
        try:
            check_name(name)
            resolved = check_scopes(scopes)
        except TokenFileError as exc:
            raise TokenFileError(f"{source}, line {number}: {exc}") from exc
        if not _HEX.fullmatch(hexdigest):
            raise TokenFileError(f"{source}, line {number}: the second field must be the token's sha256 in hex.")
        if hexdigest in seen:
            raise TokenFileError(f"{source}, line {number}: the same token hash appears twice.")
        seen.add(hexdigest)
        entries.append(TokenEntry(name, hexdigest, resolved))
    return entries


def read(path: Path) -> list[TokenEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse(text, str(path))


def match(entries: list[TokenEntry], token: str) -> TokenEntry | None:
    """The entry of ``token``, comparing every hash in constant time (no early exit on a match)."""
    presented = digest(token)
    found: TokenEntry | None = None
    for entry in entries:
        if hmac.compare_digest(entry.sha256, presented):
            found = entry
    return found


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def add(path: Path, name: str, scopes: list[str]) -> tuple[str, TokenEntry]:
    """A new random token for ``name`` (returned once, never stored) and its line, appended to the file."""
    check_name(name)
    resolved = check_scopes(scopes)
    read(path)  # never append to a file that does not parse
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    entry = TokenEntry(name, digest(token), resolved)
    text = path.read_text(encoding="utf-8") if path.exists() else "# principal sha256-of-token [scope ...]\n"
    if text and not text.endswith("\n"):
        text += "\n"
    _write(path, text + f"{entry.principal} {entry.sha256} {' '.join(entry.scopes)}\n")
    return token, entry


def revoke(path: Path, name: str) -> int:
    """Remove every token of ``name``; returns how many were removed."""
    entries = read(path)
    keep = [e for e in entries if e.principal != name]
    if len(keep) == len(entries):
        return 0
    lines = ["# principal sha256-of-token [scope ...]"] + [
        f"{e.principal} {e.sha256} {' '.join(e.scopes)}" for e in keep
    ]
    _write(path, "\n".join(lines) + "\n")
    return len(entries) - len(keep)
