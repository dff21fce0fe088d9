"""Sessions: creating, finding (only the caller's), listing, closing, and their conversation logs."""

from __future__ import annotations

import logging
import uuid

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageRecord, SessionRecord, TurnRecord
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.layout import CONVERSATION_LOG, conversation_log, session_key, style_series_key
from openai_image_mcp.service.options import is_images_api_model
from openai_image_mcp.service.runtime import Background
from openai_image_mcp.store.ports import BlobStore, StateStore

log = logging.getLogger(__name__)


class SessionBook:
    def __init__(
        self, *, settings: Settings, state: StateStore, blobs: BlobStore, clock: Clock, background: Background
    ) -> None:
        self._settings = settings
        self._state = state
        self._blobs = blobs
        self._clock = clock
        self._background = background
        self._remote_blobs = blobs.local_path(blobs.ref(CONVERSATION_LOG)) is None
        # Choosing a folder and inserting the session happen together, so two sessions of one style series
        # started at once cannot be given the same folder (and overwrite each other's images).
        self._creating = anyio.Lock()

    @property
    def timeout(self) -> float:
        return self._settings.session_timeout

    async def create(
        self,
        principal: Principal,
        description: str,
        model: str | None,
        name: str | None,
        *,
        style_series: str | None = None,
        seed: ImageRecord | None = None,
        last_response_id: str | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """A new session of ``principal``; ``seed`` (promotion) is an image already filed as the session's
        image_001 that its first turn refines (by chaining on ``last_response_id`` when OpenAI still holds it)."""
        if not description.strip():
            raise errors.InvalidInput("description must not be empty: say what the session is for.")
        default = self._settings.mainline_model
        model = model or default
        if is_images_api_model(model):
            raise errors.InvalidInput(
                f"'{model}' is an image model; a session's model is the Responses API model that drives it "
                f"(default {default}). Leave model empty to use the default."
            )
        async with self._creating:
            return await self._create(
                principal, description.strip(), model, name, style_series, seed, last_response_id, session_id
            )

    async def _create(
        self,
        principal: Principal,
        description: str,
        model: str,
        name: str | None,
        style_series: str | None,
        seed: ImageRecord | None,
        last_response_id: str | None,
        session_id: str | None,
    ) -> SessionRecord:
        now = self._clock.now()
        session_id = session_id or str(uuid.uuid4())
        rec = SessionRecord(
            id=session_id,
            name=name.strip() if name and name.strip() else None,
            description=description,
            model=model,
            image_model=self._settings.image_model,
            status="active",
            created_at=now,
            last_activity=now,
            closed_at=None,
            last_response_id=last_response_id,
            folder=await self._folder(session_id, style_series),
            use_case="style_series" if style_series else "general",
            pending_image_id=seed.id if seed is not None and last_response_id is None else None,
            style_series=style_series.strip() if style_series else None,
            owner=principal.name,
        )
        limit = self._settings.max_sessions
        open_ones = await self._state.sessions.create(rec, max_active=limit, now=now, idle_timeout=self.timeout)
        if open_ones:
            names = ", ".join(
                f"{s.id} ({s.name or s.description[:30]!r}, idle {now - s.last_activity:.0f}s)" for s in open_ones
            )
            raise errors.SessionLimitReached(f"{limit} sessions are open (MCP_MAX_SESSIONS). The most idle: {names}.")
        await self._blobs.put(self._blobs.join(rec.folder, CONVERSATION_LOG), conversation_log(rec, []))
        return rec

    async def _folder(self, session_id: str, style_series: str | None) -> str:
        """``sessions/<id>/``, or ``style_series/<name>/`` (with -2, -3... when that name is taken)."""
        if not style_series or not style_series.strip():
            return self._blobs.ref(session_key(session_id))
        base = style_series_key(style_series)
        taken = await self._state.sessions.folders()
        folder, n = self._blobs.ref(base), 1
        while folder in taken or await self._blobs.exists(self._blobs.join(folder, "images")):
            n += 1
            folder = self._blobs.ref(f"{base}-{n}")
        return folder

    async def get(self, principal: Principal, session_id: str) -> SessionRecord:
        rec = await self._state.sessions.get(
            session_id, owner=principal.owner_filter, now=self._clock.now(), idle_timeout=self.timeout
        )
        if rec is None:
            raise errors.SessionNotFound(f"No session with id '{session_id}'.")
        return rec

    async def active(self, principal: Principal, session_id: str) -> SessionRecord:
        rec = await self.get(principal, session_id)
        if rec.status != "active":
            how = "expired after inactivity" if rec.status == "expired" else "was closed"
            raise errors.SessionClosed(f"Session '{session_id}' {how}.")
        return rec

    async def history(self, principal: Principal, session_id: str) -> tuple[SessionRecord, list[TurnRecord]]:
        rec = await self.get(principal, session_id)
        return rec, await self._state.sessions.turns(session_id)

    async def list_sessions(self, principal: Principal, status: str | None = "active") -> list[SessionRecord]:
        return await self._state.sessions.list_sessions(
            owner=principal.owner_filter, now=self._clock.now(), idle_timeout=self.timeout, status=status
        )

    async def close(self, principal: Principal, session_id: str) -> tuple[SessionRecord, bool]:
        """The session, closed; and whether this call closed it."""
        rec = await self.get(principal, session_id)
        if rec.status != "active":
            return rec, False
        await self._state.sessions.close(session_id, now=self._clock.now())
        return await self.get(principal, session_id), True

    async def expire_idle(self) -> list[str]:
        return await self._state.sessions.expire_idle(now=self._clock.now(), idle_timeout=self.timeout)

    async def refresh_log(self, session_id: str) -> None:
        """Rewrite the session's ``conversation_log.json`` (best effort: a failure is logged). In a remote blob store
        (S3) the write costs a round trip: it leaves the turn's path and runs in the background, the latest state
        winning; a local file is rewritten before the call returns."""
        if self._remote_blobs:
            await self._background.run(f"log:{session_id}", lambda: self._write_log(session_id))
        else:
            await self._write_log(session_id)

    async def _write_log(self, session_id: str) -> None:
        try:
            rec = await self._state.sessions.get(session_id, owner=None, now=self._clock.now(), idle_timeout=1e18)
            if rec is None:
                return
            turns = await self._state.sessions.turns(session_id)
            await self._blobs.put(self._blobs.join(rec.folder, CONVERSATION_LOG), conversation_log(rec, turns))
        except errors.ImageServerError as exc:
            log.warning("could not update conversation_log.json of %s: %s", session_id, exc)
