"""The service: what the tools call, independent of MCP.

It owns the stores, the workspace, the provider, the jobs and the generation flows
(:mod:`openai_image_mcp.service.generation`), and implements the session use cases itself. One lock per
session keeps a session's turns in order (turn N+1 chains on turn N's response), while different
sessions and one-shot generations run fully in parallel.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageRecord, SessionRecord, TurnRecord
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.providers import openai_provider
from openai_image_mcp.providers.base import ImageProvider
from openai_image_mcp.service.jobs import JobManager
from openai_image_mcp.service.layout import Workspace, write_conversation_log
from openai_image_mcp.service.options import is_images_api_model
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store import Database, ImageStore, SessionStore
from openai_image_mcp.store.jobs import JobStore
from openai_image_mcp.store.journal import FileJournal
from openai_image_mcp.store.uploads import UploadStore

if TYPE_CHECKING:
    from openai_image_mcp.service.attachments import Attacher
    from openai_image_mcp.service.editing import Editor
    from openai_image_mcp.service.generation import Generator

log = logging.getLogger(__name__)


class ImageService:
    def __init__(
        self,
        settings: Settings,
        *,
        provider_factory: Callable[[Settings], ImageProvider] | None = None,
    ) -> None:
        self.settings = settings
        self.db = Database(settings.database_path)
        self.sessions = SessionStore(self.db)
        self.images = ImageStore(self.db)
        self.workspace = Workspace(settings.images_root, previews_root=settings.workspace / "previews")
        self.stats = ServerStats()
        self._provider_factory = provider_factory
        self._provider: ImageProvider | None = None
        self._locks: defaultdict[str, anyio.Lock] = defaultdict(anyio.Lock)
        self._provider_lock = anyio.Lock()
        self._ready = anyio.Event()
        self._start_error: errors.ImageServerError | None = None
        # Image CPU work (decode, hash, preview) in at most as many threads as cores: more threads would
        # only queue on the GIL and make the event loop wait behind them.
        self.cpu = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
        self.jobs_store = JobStore(self.db)
        self.jobs = JobManager(self.jobs_store, self.stats)
        self.uploads = UploadStore(self.db)
        self.journal = FileJournal(self.db)

    # The generation flows, built (and their modules imported) on first use, off the start-up path.
    @cached_property
    def attacher(self) -> Attacher:
        from openai_image_mcp.service.attachments import Attacher

        return Attacher(self)

    @cached_property
    def generator(self) -> Generator:
        from openai_image_mcp.service.generation import Generator

        return Generator(self)

    @cached_property
    def editor(self) -> Editor:
        from openai_image_mcp.service.editing import Editor

        return Editor(self)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        def _open() -> None:
            self.workspace.ensure()
            self.db.open()

        try:
            await anyio.to_thread.run_sync(_open)
        except OSError as exc:
            raise errors.StorageError(f"Cannot create the workspace {self.settings.workspace}: {exc}") from exc
        orphans = await self.journal.recover()
        if orphans:
            log.warning("removed %d image file(s) a crash left without a record: %s", len(orphans), orphans)
        interrupted = await self.sessions.mark_interrupted(now=time.time())
        if interrupted:
            log.warning("%d turn(s) were in flight when the server last stopped; marked interrupted", interrupted)
        await self.jobs_store.mark_interrupted(now=time.time())

    async def start_in_background(self) -> None:
        """:meth:`start` off the start-up path, so ``tools/list`` answers at once; calls that need the state
        wait for :meth:`wait_ready`. A failure (an unwritable workspace) is kept and reported by every call."""
        try:
            await self.start()
        except errors.ImageServerError as exc:
            log.error("the server cannot use its workspace: %s", exc.message)
            self._start_error = exc
        finally:
            self._ready.set()

    async def wait_ready(self) -> None:
        await self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    async def stop(self) -> None:
        await self.jobs.stop()
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None
        await anyio.to_thread.run_sync(self.db.close)

    async def provider(self) -> ImageProvider:
        """The provider, built on first use in a worker thread (the OpenAI SDK import takes a third of a
        second and must not stall the event loop)."""
        async with self._provider_lock:
            if self._provider is None:
                factory = self._provider_factory or openai_provider
                self._provider = await anyio.to_thread.run_sync(factory, self.settings)
        return self._provider

    # -- sessions --------------------------------------------------------------------------
    async def create_session(
        self,
        description: str,
        model: str | None,
        name: str | None,
        *,
        style_series: str | None = None,
        seed: ImageRecord | None = None,
        last_response_id: str | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """A new session; ``seed`` (promotion) is an image already filed as the session's image_001 that
        its first turn refines (by chaining on ``last_response_id`` when OpenAI still holds it)."""
        if not description.strip():
            raise errors.InvalidInput("description must not be empty: say what the session is for.")
        model = model or self.settings.mainline_model
        if is_images_api_model(model):
            raise errors.InvalidInput(
                f"'{model}' is an image model; a session's model is the Responses API model that drives it "
                f"(default {self.settings.mainline_model}). Leave model empty to use the default."
            )
        now = time.time()
        session_id = session_id or str(uuid.uuid4())
        rec = SessionRecord(
            id=session_id,
            name=name.strip() if name and name.strip() else None,
            description=description.strip(),
            model=model,
            image_model=self.settings.image_model,
            status="active",
            created_at=now,
            last_activity=now,
            closed_at=None,
            last_response_id=last_response_id,
            folder=str(await self._session_folder(session_id, style_series)),
            use_case="style_series" if style_series else "general",
            pending_image_id=seed.id if seed is not None and last_response_id is None else None,
            style_series=style_series.strip() if style_series else None,
        )
        open_ones = await self.sessions.create(
            rec, max_active=self.settings.max_sessions, now=now, idle_timeout=self.settings.session_timeout
        )
        if open_ones:
            names = ", ".join(
                f"{s.id} ({s.name or s.description[:30]!r}, idle {now - s.last_activity:.0f}s)" for s in open_ones
            )
            raise errors.SessionLimitReached(
                f"{self.settings.max_sessions} sessions are open (MCP_MAX_SESSIONS). The most idle: {names}."
            )
        await anyio.to_thread.run_sync(write_conversation_log, self.workspace, rec, [])
        return rec

    async def _session_folder(self, session_id: str, style_series: str | None) -> Path:
        """``sessions/<id>/``, or ``style_series/<name>/`` (with -2, -3... when that name is taken)."""
        if not style_series or not style_series.strip():
            return self.workspace.session_dir(session_id)
        base = self.workspace.style_series_dir(style_series)
        taken = {s.folder for s in await self.sessions.list_sessions(now=time.time(), idle_timeout=1e12, status=None)}
        folder, n = base, 1
        while str(folder) in taken or (folder / "images").exists():
            n += 1
            folder = base.with_name(f"{base.name}-{n}")
        return folder

    async def get_session(self, session_id: str) -> SessionRecord:
        rec = await self.sessions.get(session_id, now=time.time(), idle_timeout=self.settings.session_timeout)
        if rec is None:
            raise errors.SessionNotFound(f"No session with id '{session_id}'.")
        return rec

    def session_lock(self, session_id: str) -> anyio.Lock:
        return self._locks[session_id]

    async def active_session(self, session_id: str) -> SessionRecord:
        rec = await self.get_session(session_id)
        if rec.status != "active":
            how = "expired after inactivity" if rec.status == "expired" else "was closed"
            raise errors.SessionClosed(f"Session '{session_id}' {how}.")
        return rec

    async def session_history(self, session_id: str) -> tuple[SessionRecord, list[TurnRecord]]:
        rec = await self.get_session(session_id)
        return rec, await self.sessions.turns(session_id)

    async def list_sessions(self, status: str | None = "active") -> list[SessionRecord]:
        return await self.sessions.list_sessions(
            now=time.time(), idle_timeout=self.settings.session_timeout, status=status
        )

    async def close_session(self, session_id: str) -> SessionRecord:
        rec = await self.get_session(session_id)
        if rec.status == "active":
            await self.sessions.close(session_id, now=time.time())
            self._locks.pop(session_id, None)
            rec = await self.get_session(session_id)
            await self.cleanup_uploads()
        return rec

    async def cleanup_uploads(self) -> None:
        """Delete the OpenAI files of closed and expired sessions (best effort: retried later)."""
        try:
            await self.attacher.delete_stale_uploads()
        except errors.ImageServerError as exc:
            log.warning("could not clean up uploaded files: %s", exc)

    async def housekeeping(self, every: float = 60.0) -> None:
        """Runs for the server's life, off the start-up path: removes what a crash left (hidden temporary
        files, old partial previews), then every minute expires idle sessions and deletes their uploads."""
        await self._ready.wait()
        if self._start_error is not None:
            return
        started = self.stats.started_at
        removed = await anyio.to_thread.run_sync(lambda: self.workspace.sweep_temporaries(older_than=started))
        if removed:
            log.warning("removed %d temporary file(s) left by an earlier crash", removed)
        while True:
            await anyio.sleep(every)
            try:
                await self.sessions.expire_idle(now=time.time(), idle_timeout=self.settings.session_timeout)
                await self.cleanup_uploads()
            except errors.ImageServerError as exc:
                log.warning("housekeeping failed: %s", exc)

    async def refresh_log(self, session_id: str) -> None:
        try:
            session, turns = await self.session_history(session_id)
            await anyio.to_thread.run_sync(write_conversation_log, self.workspace, session, turns)
        except (errors.ImageServerError, OSError) as exc:
            log.warning("could not update conversation_log.json of %s: %s", session_id, exc)
