"""Generation flows: a session turn and a one-shot image, from prompt to committed files.

Each flow streams from OpenAI and reports its stages to a :class:`Progress` (the job): queued,
generating, each partial image (saved as a small WebP preview whose resource URI is in the
message), saving, done. Files are renamed into place before their rows are committed, and a turn
that fails or is cancelled leaves no file and no half-written row behind.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageOptions, SessionRecord
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.refs import preview_uri
from openai_image_mcp.core.requests import ImagesRequest, ProviderEvent, ProviderResult, TurnRequest
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.attachments import Attacher, Attachments
from openai_image_mcp.service.budget import Budget, CallSpec, Spending
from openai_image_mcp.service.conversation import build_turn
from openai_image_mcp.service.filing import Filer
from openai_image_mcp.service.image_models import ModelCatalog
from openai_image_mcp.service.layout import session_image_parts, use_case_key
from openai_image_mcp.service.limits import RequestPacer
from openai_image_mcp.service.options import check_options, is_images_api_model
from openai_image_mcp.service.outcome import Generation, Progress, Silent, check_prompt
from openai_image_mcp.service.pricing import estimate
from openai_image_mcp.service.runtime import SIDE_TASKS, ProviderHandle, with_side_tasks
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore

log = logging.getLogger(__name__)


ONE_SHOT_INSTRUCTIONS = (
    "Call the image generation tool once to draw exactly what the user describes. "
    "Answer with at most one short sentence."
)


class Generator:
    """The two core flows; the editing and asset flows build on them."""

    def __init__(
        self,
        *,
        settings: Settings,
        state: StateStore,
        blobs: BlobStore,
        sessions: SessionBook,
        attacher: Attacher,
        filer: Filer,
        provider: ProviderHandle,
        budget: Budget,
        catalog: ModelCatalog,
        coordinator: Coordinator,
        pacer: RequestPacer,
        stats: ServerStats,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._state = state
        self._blobs = blobs
        self._sessions = sessions
        self._attacher = attacher
        self.filer = filer
        self.provider = provider
        self.budget = budget
        self.catalog = catalog
        self._coordinator = coordinator
        self._pacer = pacer
        self._stats = stats
        self._clock = clock
        self.partial_images_setting = settings.partial_images

    def partials_for(self, progress: Progress) -> int:
        """Partial images to ask OpenAI for (about 100 output tokens each); none for a silent flow."""
        return 0 if isinstance(progress, Silent) else self.partial_images_setting

    # -- flows -----------------------------------------------------------------------------
    async def in_session(
        self,
        principal: Principal,
        session_id: str,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        use_case: str = "general",
        attach: Callable[[SessionRecord], Awaitable[Attachments]] | None = None,
        input_images: int = 0,
    ) -> Generation:
        """A turn of a session. ``attach`` prepares the images it shows OpenAI (edits, references, masks);
        a promoted session's seed image is attached to its first turn."""
        prompt = check_prompt(prompt)
        session = await self._sessions.active(principal, session_id)
        warning = check_options(session.image_model, options, self.catalog)
        spec = self.spec(
            principal, progress, image_model=session.image_model, mainline_model=session.model, options=options,
            input_images=input_images + shown_again(session), prompt=prompt,
            session_id=session_id,
        )  # fmt: skip
        await self.budget.check(spec)  # before anything is uploaded or sent
        spending = Spending()
        provider = await self.provider.get()
        lock_name = f"session:{session_id}"
        if await self._coordinator.is_locked(lock_name):
            await progress.report(1, "queued behind the previous turn of this session")
        async with self._coordinator.lock(lock_name, lease=self.settings.lease_seconds) as lease:
            session = await self._sessions.active(principal, session_id)
            params = {"prompt_source": "session", **options.as_dict()}
            turn = await self._state.sessions.begin_turn(
                session_id, prompt, params, session.last_response_id, now=self._clock.now(), fence=lease.token
            )
            if lease.token is not None:  # our fence is recorded now: no earlier holder can commit any more, so
                # what the session says from here on (its chain, its image count) is final for this turn
                session = await self._sessions.active(principal, session_id)
            try:
                if attach is not None:
                    attachments = await attach(session)
                elif session.pending_image_id:
                    attachments = await self._attacher.for_turn(principal, session)
                else:
                    attachments = Attachments()
                sink = self.events(progress)
                request = _attached(await self._turn_request(session, prompt, options, progress), attachments)
                try:
                    result = await self.call(lambda: provider.respond(request, sink), spec, spending)
                except errors.ChainBroken:
                    log.warning("OpenAI lost the response chain; replaying the session locally")
                    request = await self._turn_request(session, prompt, options, progress, force_replay=True)
                    request = _attached(request, attachments)
                    result = await self.call(lambda: provider.respond(request, sink), spec, spending)
                refs = self._next_refs(session, len(result.images), session.image_count)

                async def renumber(taken: list[str], attempt: int, s: SessionRecord = session) -> list[str]:
                    return self._next_refs(s, len(taken), s.image_count + attempt * len(taken))

                generation = await self.filer.persist(
                    result, progress, prompt=prompt, options=options, model=session.model,
                    image_model=session.image_model, use_case=use_case, refs=refs, owner=session.owner,
                    session=session, turn=turn, lineage=attachments.lineage, cost=spending.summary(),
                    warning=warning, fence=lease.token, renumber=renumber,
                )  # fmt: skip
            except errors.ImageServerError as exc:
                with anyio.CancelScope(shield=True):
                    await self._state.sessions.end_turn(
                        turn.id, "failed", error_type=exc.error_type, error=exc.message, now=self._clock.now()
                    )
                raise
            except BaseException as exc:
                cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
                status = ("interrupted" if progress.interrupted else "cancelled") if cancelled else "failed"
                message = {
                    "interrupted": "The server stopped before this turn finished.",
                    "cancelled": "The generation was cancelled.",
                }.get(status, repr(exc))
                with anyio.CancelScope(shield=True):
                    await self._state.sessions.end_turn(
                        turn.id,
                        status,  # type: ignore[arg-type]
                        error_type=status if cancelled else "internal_error",
                        error=message,
                        now=self._clock.now(),
                    )
                raise
        await self._sessions.refresh_log(session_id)
        return generation

    def _next_refs(self, session: SessionRecord, count: int, after: int) -> list[str]:
        """``count`` image names of the session's folder numbered above ``after``. The filer claims them before
        writing; a name taken (a replica that lost its lease, or died, after writing but before committing) moves
        on to the next ones, never written over."""
        return [
            self._blobs.join(session.folder, *session_image_parts(number, "png"))
            for number in range(after + 1, after + count + 1)
        ]

    async def one_shot(
        self,
        principal: Principal,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        model: str | None,
        use_case: str = "general",
        subfolder: str | None = None,
    ) -> Generation:
        prompt = check_prompt(prompt)
        model = model or self.settings.mainline_model
        images_api = is_images_api_model(model)
        image_model = model if images_api else self.settings.image_model
        warning = check_options(image_model, options, self.catalog)
        spec = self.spec(
            principal, progress, image_model=image_model, mainline_model=None if images_api else model,
            options=options, prompt=prompt,
        )  # fmt: skip
        spending = Spending()
        provider = await self.provider.get()
        sink = self.events(progress)
        if images_api:
            images_request = ImagesRequest(model, prompt, options, partial_images=self.partials_for(progress))
            result = await self.call(lambda: provider.generate(images_request, sink), spec, spending)
        else:
            turn_request = TurnRequest(
                mainline_model=model,
                image_model=image_model,
                instructions=ONE_SHOT_INSTRUCTIONS,
                text=prompt,
                options=options,
                store=self.settings.store_responses,
                partial_images=self.partials_for(progress),
            )
            result = await self.call(lambda: provider.respond(turn_request, sink), spec, spending)
        now = self._clock.now()
        refs = [
            self._blobs.ref(use_case_key(use_case, prompt, options.output_format, subfolder=subfolder, now=now))
            for _ in result.images
        ]
        return await self.filer.persist(
            result, progress, prompt=prompt, options=options, model=model, image_model=image_model,
            use_case=use_case, refs=refs, owner=principal.name, cost=spending.summary(), warning=warning,
        )  # fmt: skip

    # -- steps -----------------------------------------------------------------------------
    def events(self, progress: Progress) -> Callable[[ProviderEvent], Awaitable[None]]:
        """Turn OpenAI's stream into progress: stages, and partial images saved as previews."""
        total = max(1, self.partials_for(progress))

        async def sink(event: ProviderEvent) -> None:
            if event.kind == "generating":
                await progress.report(10, "OpenAI is generating the image")
                return
            group = SIDE_TASKS.get()
            if group is not None:
                group.start_soon(save, event)
            else:
                await save(event)

        async def save(event: ProviderEvent) -> None:
            try:  # raw bytes only: the WebP preview is made if and when someone reads the resource
                data = await anyio.to_thread.run_sync(base64.b64decode, event.b64)
                await self._blobs.put_preview(progress.id, f"partial_{event.index}.img", data)
            except (ValueError, errors.ImageServerError) as exc:  # a preview is a nicety: never fail the turn
                log.warning("could not save partial image %d: %s", event.index, exc)
                return
            share = min(event.index + 1, total) / (total + 1)
            await progress.report(
                10 + 70 * share, f"partial image {event.index + 1} of {total}: {preview_uri(progress.id, event.index)}"
            )

        return sink

    def spec(
        self,
        who: Principal,
        progress: Progress,
        *,
        image_model: str,
        mainline_model: str | None,
        options: ImageOptions,
        n: int = 1,
        input_images: int = 0,
        prompt: str = "",
        session_id: str | None = None,
    ) -> CallSpec:
        """A call about to be made, with its worst-case cost."""
        worst = estimate(
            self.budget.table, image_model=image_model, mainline_model=mainline_model, quality=options.quality,
            size=options.size, n=n, partial_images=self.partials_for(progress), input_images=input_images,
            prompt_chars=len(prompt),
        )  # fmt: skip
        kind = str(getattr(progress, "kind", ""))
        return CallSpec(who, kind, image_model, mainline_model, worst, session_id, progress.id if kind else None)

    async def call(
        self, fn: Callable[[], Awaitable[ProviderResult]], spec: CallSpec, spending: Spending
    ) -> ProviderResult:
        """One provider call: within the budget, booked in the ledger, timed for the stats."""
        await self._pacer.wait()
        started = self._clock.monotonic()
        try:  # partial images are saved beside the call (in a job: beside the whole job)
            return await with_side_tasks(lambda: self.budget.call(spec, fn, spending))
        finally:
            self._stats.record_latency(self._clock.monotonic() - started)

    async def _turn_request(
        self,
        session: SessionRecord,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        force_replay: bool = False,
    ) -> TurnRequest:
        store = self.settings.store_responses
        if store and not force_replay:
            req = build_turn(session, prompt, options, store=True)
        else:
            history = await self._state.sessions.turns(session.id)
            latest = await self._state.images.for_session(session.id)
            image: tuple[bytes, str] | None = None
            if latest:
                image = (await self._blobs.get(latest[-1].path), latest[-1].mime_type)
            req = build_turn(
                session, prompt, options, store=store, history=history, latest_image=image, force_replay=True
            )
        return replace(req, partial_images=self.partials_for(progress))


def shown_again(session: SessionRecord) -> int:
    """The session's latest image, which a turn shows OpenAI again (chained or attached): one input image."""
    return 1 if session.image_count > 0 or session.last_response_id or session.pending_image_id else 0


def _attached(req: TurnRequest, att: Attachments) -> TurnRequest:
    return replace(req, input_images=att.images, mask=att.mask, input_fidelity=att.input_fidelity)
