"""Signed links: a download link for one of the caller's images, an upload link that becomes an image of
the caller. A link is ``<payload>.<signature>``: the payload (kind, principal, image id, expiry) in
URL-safe base64 JSON, signed with HMAC-SHA256 under the server's link key. Nothing is stored: a link
is valid because the server signed it, until it expires. An upload link carries the id its image will
get, so it can be used once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openai_image_mcp.core import errors

LinkKind = Literal["download", "upload"]
KEY_BYTES = 32


class InvalidLink(errors.ImageServerError):
    error_type = "invalid_link"
    suggestion = "Ask for a new link (create_download_link or create_upload_link); links expire."


@dataclass(frozen=True, slots=True)
class Link:
    kind: LinkKind
    principal: str
    image_id: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the link key must be at least 16 bytes")
        self._key = key

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, link: Link) -> str:
        body = {"k": link.kind, "p": link.principal, "i": link.image_id, "e": int(link.expires_at)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, kind: LinkKind, *, now: float) -> Link:
        """The link in ``token``; :class:`InvalidLink` when it is forged, tampered with, of another kind or expired."""
        payload, _, signature = token.partition(".")
        if not payload or not signature or not hmac.compare_digest(self._sign(payload), signature):
            raise InvalidLink("This link is not valid (it was changed, or not made by this server).")
        try:
            body = json.loads(_unb64(payload))
            link = Link(kind=body["k"], principal=str(body["p"]), image_id=str(body["i"]), expires_at=float(body["e"]))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidLink("This link is not valid.") from exc
        if link.kind != kind:
            raise InvalidLink(f"This is not a {kind} link.")
        if link.expires_at < now:
            raise InvalidLink("This link has expired.")
        return link


def load_or_create_key(path: Path) -> bytes:
    """The link key kept in the workspace (made once, readable by the owner only)."""
    try:
        key = path.read_bytes()
        if len(key) >= 16:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key
