"""Fair use: per principal, at most ``per_minute`` generations started in any 60 seconds and at most
``concurrent`` running at once. Checked before a generation is submitted, so a refused call sends
nothing to OpenAI. ``0`` turns a limit off.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock

WINDOW = 60.0


class LimitExceeded(errors.ImageServerError):
    error_type = "rate_limited"
    suggestion = "Wait retry_after_seconds, then call again; this server limits how fast each user may generate."

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FairUse:
    def __init__(self, *, per_minute: int, concurrent: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self._clock = clock
        self._starts: defaultdict[str, deque[float]] = defaultdict(deque)
        self._running: defaultdict[str, int] = defaultdict(int)

    def acquire(self, owner: str) -> None:
        """Count a generation of ``owner`` starting now, or raise :class:`LimitExceeded`."""
        now = self._clock.monotonic()
        starts = self._starts[owner]
        while starts and starts[0] <= now - WINDOW:
            starts.popleft()
        if self.concurrent and self._running[owner] >= self.concurrent:
            raise LimitExceeded(
                f"{self.concurrent} generations of yours are already running "
                "(OPENAI_IMAGE_MCP_MAX_CONCURRENT_PER_PRINCIPAL); wait for one to finish.",
                retry_after=5,
            )
        if self.per_minute and len(starts) >= self.per_minute:
            wait = math.ceil(starts[0] + WINDOW - now)
            raise LimitExceeded(
                f"{self.per_minute} generations per minute is the limit (OPENAI_IMAGE_MCP_RATE_LIMIT_PER_MINUTE).",
                retry_after=max(1, wait),
            )
        starts.append(now)
        self._running[owner] += 1

    def release(self, owner: str) -> None:
        self._running[owner] = max(0, self._running[owner] - 1)
        if not self._running[owner] and not self._starts[owner]:
            del self._running[owner]

    def running(self, owner: str) -> int:
        return self._running.get(owner, 0)
