"""The use cases: sessions and generations, independent of MCP.

The tools call these methods; they call the store, the workspace and the provider port. One lock
per session keeps a session's turns in order (turn N+1 chains on turn N's response), while
different sessions and one-shot generations run fully in parallel.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from openai_image_mcp import errors
from openai_image_mcp.config import Settings
from openai_image_mcp.conversation import build_turn
from openai_image_mcp.models import (
    ImageOptions,
    ImagesRequest,
    ProviderResult,
    SessionRecord,
    TurnRecord,
    TurnRequest,
)
from openai_image_mcp.options import check_options, is_images_api_model
from openai_image_mcp.providers import openai_provider
from openai_image_mcp.providers.base import ImageProvider
from openai_image_mcp.results import cap, json_size, preview_budget
from openai_image_mcp.saving import SaveContext, SavedImage, discard, files_of, save_images
from openai_image_mcp.stats import ServerStats
from openai_image_mcp.store import Database, ImageStore, SessionStore
from openai_image_mcp.workspace import Workspace, write_conversation_log

log = logging.getLogger(__name__)

ONE_SHOT_INSTRUCTIONS = (
    "Call the image generation tool once to draw exactly what the user describes. "
    "Answer with at most one short sentence."
)


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished generation, its files saved and rows committed."""

    images: list[SavedImage]
    model: str
    image_model: str
    use_case: str
    params: dict[str, Any]
    response_id: str | None = None
    model_text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    turn: int | None = None


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
        self.workspace = Workspace(settings.images_root)
        self.stats = ServerStats()
        self._provider_factory = provider_factory
        self._provider: ImageProvider | None = None
        self._locks: defaultdict[str, anyio.Lock] = defaultdict(anyio.Lock)
        self._provider_lock = anyio.Lock()
        # Image CPU work (decode, hash, preview) in at most as many threads as cores: more threads would
        # only queue on the GIL and make the event loop wait behind them.
        self._cpu = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        def _open() -> None:
            self.workspace.ensure()
            self.db.open()

        try:
            await anyio.to_thread.run_sync(_open)
        except OSError as exc:
            raise errors.StorageError(f"Cannot create the workspace {self.settings.workspace}: {exc}") from exc
        interrupted = await self.sessions.mark_interrupted(now=time.time())
        if interrupted:
            log.warning("%d turn(s) were in flight when the server last stopped; marked interrupted", interrupted)

    async def stop(self) -> None:
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
    async def create_session(self, description: str, model: str | None, name: str | None) -> SessionRecord:
        if not description.strip():
            raise errors.InvalidInput("description must not be empty: say what the session is for.")
        model = model or self.settings.mainline_model
        if is_images_api_model(model):
            raise errors.InvalidInput(
                f"'{model}' is an image model; a session's model is the Responses API model that drives it "
                f"(default {self.settings.mainline_model}). Leave model empty to use the default."
            )
        now = time.time()
        session_id = str(uuid.uuid4())
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
            last_response_id=None,
            folder=str(self.workspace.session_dir(session_id)),
            use_case="general",
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

    async def get_session(self, session_id: str) -> SessionRecord:
        rec = await self.sessions.get(session_id, now=time.time(), idle_timeout=self.settings.session_timeout)
        if rec is None:
            raise errors.SessionNotFound(f"No session with id '{session_id}'.")
        return rec

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
        return rec

    # -- generation ------------------------------------------------------------------------
    async def generate_in_session(
        self, session_id: str, prompt: str, options: ImageOptions, *, use_case: str = "general"
    ) -> Generation:
        prompt = self._check_prompt(prompt)
        session = await self.active_session(session_id)
        check_options(session.image_model, options)
        provider = await self.provider()
        async with self._locks[session_id]:
            session = await self.active_session(session_id)
            params = {"prompt_source": "session", **options.as_dict()}
            turn = await self.sessions.begin_turn(session_id, prompt, params, session.last_response_id, now=time.time())
            try:
                request = await self._turn_request(session, prompt, options)
                result = await self._call(lambda: provider.respond(request))
                if result is None:  # the chain was lost upstream: replay this turn locally
                    request = await self._turn_request(session, prompt, options, force_replay=True)
                    result = await self._call(lambda: provider.respond(request))
                assert result is not None
                generation = await self._persist(
                    result,
                    prompt=prompt,
                    options=options,
                    model=session.model,
                    image_model=session.image_model,
                    use_case=use_case,
                    paths=[
                        self.workspace.session_image_path(session_id, session.image_count + i + 1, "png")
                        for i in range(len(result.images))
                    ],
                    session=session,
                    turn=turn,
                )
            except errors.ImageServerError as exc:
                await self.sessions.end_turn(
                    turn.id, "failed", error_type=exc.error_type, error=exc.message, now=time.time()
                )
                raise
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
                    await self.sessions.end_turn(
                        turn.id,
                        "cancelled" if cancelled else "failed",
                        error_type="cancelled" if cancelled else "internal_error",
                        error="The request was cancelled." if cancelled else repr(exc),
                        now=time.time(),
                    )
                raise
        await self._refresh_log(session_id)
        return generation

    async def generate_one_shot(
        self,
        prompt: str,
        options: ImageOptions,
        *,
        model: str | None,
        use_case: str = "general",
        subfolder: str | None = None,
    ) -> Generation:
        prompt = self._check_prompt(prompt)
        model = model or self.settings.mainline_model
        images_api = is_images_api_model(model)
        image_model = model if images_api else self.settings.image_model
        check_options(image_model, options)
        provider = await self.provider()
        if images_api:
            images_request = ImagesRequest(model=model, prompt=prompt, options=options)
            result = await self._call(lambda: provider.generate(images_request))
        else:
            turn_request = TurnRequest(
                mainline_model=model,
                image_model=image_model,
                instructions=ONE_SHOT_INSTRUCTIONS,
                text=prompt,
                options=options,
                store=self.settings.store_responses,
            )
            result = await self._call(lambda: provider.respond(turn_request))
        assert result is not None
        ext = options.output_format
        paths = [self.workspace.use_case_path(use_case, prompt, ext, subfolder=subfolder) for _ in result.images]
        return await self._persist(
            result, prompt=prompt, options=options, model=model, image_model=image_model, use_case=use_case, paths=paths
        )

    # -- helpers ---------------------------------------------------------------------------
    def _check_prompt(self, prompt: str) -> str:
        prompt = prompt.strip()
        if not prompt:
            raise errors.InvalidInput("prompt must not be empty: describe the image to draw or the change to make.")
        return prompt

    async def _call(self, fn: Callable[[], Any]) -> ProviderResult | None:
        """One provider call, timed for the stats. Returns None when the chain is broken."""
        started = time.monotonic()
        try:
            result: ProviderResult = await fn()
        except errors.ChainBroken:
            log.warning("OpenAI lost the response chain; replaying the session locally")
            return None
        except errors.ImageServerError as exc:
            self.stats.record_failure(exc.error_type, time.monotonic() - started)
            raise
        self.stats.latencies.append(time.monotonic() - started)
        return result

    async def _turn_request(
        self, session: SessionRecord, prompt: str, options: ImageOptions, *, force_replay: bool = False
    ) -> TurnRequest:
        store = self.settings.store_responses
        if store and not force_replay:
            return build_turn(session, prompt, options, store=True)
        history = await self.sessions.turns(session.id)
        latest = await self.images.for_session(session.id)
        image: tuple[bytes, str] | None = None
        if latest:
            last = latest[-1]
            image = (await anyio.Path(last.path).read_bytes(), last.mime_type)
        return build_turn(session, prompt, options, store=store, history=history, latest_image=image, force_replay=True)

    async def _persist(
        self,
        result: ProviderResult,
        *,
        prompt: str,
        options: ImageOptions,
        model: str,
        image_model: str,
        use_case: str,
        paths: Sequence[Path],
        session: SessionRecord | None = None,
        turn: TurnRecord | None = None,
    ) -> Generation:
        params = options.as_dict()
        ctx = SaveContext(
            prompt=prompt,
            model=model,
            image_model=image_model,
            use_case=use_case,
            params=params,
            session_id=session.id if session else None,
            turn_id=turn.id if turn else None,
            turn_seq=turn.seq if turn else None,
            response_id=result.response_id,
            request_id=result.request_id,
            model_text=result.model_text,
            usage=result.usage,
        )
        texts = {"r": [cap(i.revised_prompt) for i in result.images], "t": cap(result.model_text), "u": result.usage}
        budget = preview_budget(self.settings.result_budget_bytes, json_size(texts) + 1_500, len(result.images))
        saved = await anyio.to_thread.run_sync(
            lambda: save_images(
                result.images, paths, ctx, preview_side=self.settings.preview_max_side, preview_bytes=budget
            ),
            limiter=self._cpu,
        )
        try:
            with anyio.CancelScope(shield=True):
                if session is not None and turn is not None:
                    await self.sessions.complete_turn(
                        turn,
                        response_id=result.response_id,
                        model_text=result.model_text,
                        usage=result.usage,
                        images=[s.record for s in saved],
                        now=time.time(),
                    )
                else:
                    await self.images.add([s.record for s in saved])
        except BaseException:
            await anyio.to_thread.run_sync(discard, files_of(saved))
            raise
        self.stats.generations_ok += 1
        self.stats.images_saved += len(saved)
        return Generation(
            images=saved,
            model=model,
            image_model=image_model,
            use_case=use_case,
            params=params,
            response_id=result.response_id,
            model_text=result.model_text,
            usage=result.usage,
            session_id=session.id if session else None,
            turn=turn.seq if turn else None,
        )

    async def _refresh_log(self, session_id: str) -> None:
        try:
            session, turns = await self.session_history(session_id)
            await anyio.to_thread.run_sync(write_conversation_log, self.workspace, session, turns)
        except (errors.ImageServerError, OSError) as exc:
            log.warning("could not update conversation_log.json of %s: %s", session_id, exc)
