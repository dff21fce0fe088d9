"""Limits shared by every replica on the same state, counted by the :class:`~openai_image_mcp.store.ports.Coordinator`.

Fair use: per principal, at most ``per_minute`` generations started in any 60 seconds and at most ``concurrent``
running at once. Checked before a generation is submitted, so a refused call sends nothing to OpenAI. ``0`` turns
a limit off.

Pacing: at most ``OPENAI_IMAGE_MCP_OPENAI_RPM`` requests per minute to OpenAI per API key, together across the
replicas, so ten replicas do not draw a storm of 429s; a call over it waits for a slot instead of failing.
"""

from __future__ import annotations

import hashlib
import logging

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.store.ports import Coordinator

log = logging.getLogger(__name__)

WINDOW = 60.0


class LimitExceeded(errors.ImageServerError):
    error_type = "rate_limited"
    suggestion = "Wait retry_after_seconds, then call again; this server limits how fast each user may generate."

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FairUse:
    def __init__(self, coordinator: Coordinator, *, per_minute: int, concurrent: int, running_ttl: float) -> None:
        """``running_ttl``: how long a running generation counts at most (a replica that died never releases)."""
        self.per_minute = per_minute
        self.concurrent = concurrent
        self._coord = coordinator
        self._ttl = running_ttl

    async def acquire(self, owner: str, ticket: str) -> None:
        """Count generation ``ticket`` of ``owner`` starting now, or raise :class:`LimitExceeded`."""
        if self.concurrent and not await self._coord.enter(
            f"running:{owner}", ticket, limit=self.concurrent, ttl=self._ttl
        ):
            raise LimitExceeded(
                f"{self.concurrent} generations of yours are already running "
                "(OPENAI_IMAGE_MCP_MAX_CONCURRENT_PER_PRINCIPAL); wait for one to finish.",
                retry_after=5,
            )
        if not self.per_minute:
            return
        try:
            wait = await self._coord.hit(f"starts:{owner}", limit=self.per_minute, window=WINDOW)
        except BaseException:  # a failed count (Redis away, the call cancelled) must not keep the slot taken
            await self.release(owner, ticket)
            raise
        if wait > 0:
            await self.release(owner, ticket)
            raise LimitExceeded(
                f"{self.per_minute} generations per minute is the limit (OPENAI_IMAGE_MCP_RATE_LIMIT_PER_MINUTE).",
                retry_after=max(1, round(wait + 0.499)),
            )

    async def release(self, owner: str, ticket: str) -> None:
        """Give the slot back (best effort: a slot that cannot be given back drops out after ``running_ttl``)."""
        if self.concurrent:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await self._coord.leave(f"running:{owner}", ticket)


class RequestPacer:
    def __init__(self, coordinator: Coordinator, *, rpm: int, api_key: str | None) -> None:
        self.rpm = rpm
        self._coord = coordinator
        # the key is counted by a hash of it: the limit is OpenAI's, per key, and the key itself never reaches Redis
        digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
        self._key = f"openai-rpm:{digest}"

    async def wait(self) -> float:
        """Take a request slot, waiting for one if the minute's are used up; returns the seconds waited."""
        if not self.rpm:
            return 0.0
        waited = 0.0
        while (delay := await self._coord.hit(self._key, limit=self.rpm, window=WINDOW)) > 0:
            if not waited:
                log.info("OpenAI request slots of this minute used up (OPENAI_IMAGE_MCP_OPENAI_RPM); waiting")
            step = min(delay, 5.0)
            await anyio.sleep(step)
            waited += step
        return waited
