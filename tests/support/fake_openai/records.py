"""Records of what the fake received, and the ASGI type aliases shared by its modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Json = Any
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class UploadedPart:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """A request as the fake received it. ``handled_seconds`` (and ``status``) are filled in when the answer's last
    byte has been written: the fake's own time from receipt, including the configured latency.

    ``scheduled`` is filled in when the fake has worked out its answer, before it sends anything: the seconds after
    receipt at which it plans to send each part of it. ``[latency]`` for a plain answer; for a stream, each step's
    offset (the Responses API: ``0`` for the opening events, 30 %...90 % of the latency for the partial images, the
    latency for the rest; the Images API: the partial images, then the latency)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: dict[str, Any] | None
    form: dict[str, list[str]] | None
    files: dict[str, list[UploadedPart]]
    received_at: float
    handled_seconds: float = 0.0
    query: str = ""
    request_id: str = ""
    status: int | None = None
    disconnected: bool = False
    scheduled: list[float] = field(default_factory=list)

    @property
    def bearer(self) -> str | None:
        """The bearer token of the ``Authorization`` header, if any."""
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class Disconnect:
    """A request whose client went away before the answer was complete."""

    path: str
    at: float
