"""Generation flows: a session turn and a one-shot image, from prompt to committed files.

Each flow streams from OpenAI and reports its stages to a :class:`Progress` (the job): queued,
generating, each partial image (saved as a small WebP preview whose resource URI is in the
message), saving, done. Files are renamed into place before their rows are committed, and a turn
that fails or is cancelled leaves no file and no half-written row behind.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import (
    ImageOptions,
    ImageRecord,
    ImagesRequest,
    ProviderEvent,
    ProviderResult,
    SessionRecord,
    TurnRecord,
    TurnRequest,
)
from openai_image_mcp.service.attachments import Attachments
from openai_image_mcp.service.conversation import build_turn
from openai_image_mcp.service.layout import metadata_path
from openai_image_mcp.service.options import check_options, is_images_api_model
from openai_image_mcp.service.outcome import Generation, Progress, Silent, check_prompt, preview_uri
from openai_image_mcp.service.saving import SaveContext, discard, final_paths, preview_files, save_images
from openai_image_mcp.tools.results import cap, json_size, preview_budget

if TYPE_CHECKING:
    from openai_image_mcp.service.facade import ImageService

log = logging.getLogger(__name__)

ONE_SHOT_INSTRUCTIONS = (
    "Call the image generation tool once to draw exactly what the user describes. "
    "Answer with at most one short sentence."
)


class Generator:
    """The flows, on the service's stores, workspace, provider and limits."""

    def __init__(self, service: ImageService) -> None:
        self.s = service
        self.partial_images_setting = service.settings.partial_images

    def partials_for(self, progress: Progress) -> int:
        """Partial images to ask OpenAI for (about 100 output tokens each); none for a silent flow."""
        return 0 if isinstance(progress, Silent) else self.partial_images_setting

    # -- flows -----------------------------------------------------------------------------
    async def in_session(
        self,
        session_id: str,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        use_case: str = "general",
        attach: Callable[[SessionRecord], Awaitable[Attachments]] | None = None,
    ) -> Generation:
        """A turn of a session. ``attach`` prepares the images it shows OpenAI (edits, references, masks);
        a promoted session's seed image is attached to its first turn."""
        svc = self.s
        prompt = check_prompt(prompt)
        session = await svc.active_session(session_id)
        check_options(session.image_model, options)
        provider = await svc.provider()
        lock = svc.session_lock(session_id)
        if lock.locked():
            await progress.report(1, "queued behind the previous turn of this session")
        async with lock:
            session = await svc.active_session(session_id)
            params = {"prompt_source": "session", **options.as_dict()}
            turn = await svc.sessions.begin_turn(session_id, prompt, params, session.last_response_id, now=time.time())
            try:
                if attach is not None:
                    attachments = await attach(session)
                elif session.pending_image_id:
                    attachments = await svc.attacher.for_turn(session)
                else:
                    attachments = Attachments()
                sink = self.events(progress)
                request = _attached(await self._turn_request(session, prompt, options, progress), attachments)
                try:
                    result = await self.call(lambda: provider.respond(request, sink))
                except errors.ChainBroken:
                    log.warning("OpenAI lost the response chain; replaying the session locally")
                    request = await self._turn_request(session, prompt, options, progress, force_replay=True)
                    request = _attached(request, attachments)
                    result = await self.call(lambda: provider.respond(request, sink))
                paths = [
                    svc.workspace.session_image_path(session, session.image_count + i + 1, "png")
                    for i in range(len(result.images))
                ]
                generation = await self.persist(
                    result, progress, prompt=prompt, options=options, model=session.model,
                    image_model=session.image_model, use_case=use_case, paths=paths, session=session, turn=turn,
                    lineage=attachments.lineage,
                )  # fmt: skip
            except errors.ImageServerError as exc:
                with anyio.CancelScope(shield=True):
                    await svc.sessions.end_turn(
                        turn.id, "failed", error_type=exc.error_type, error=exc.message, now=time.time()
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
                    await svc.sessions.end_turn(
                        turn.id,
                        status,  # type: ignore[arg-type]
                        error_type=status if cancelled else "internal_error",
                        error=message,
                        now=time.time(),
                    )
                raise
        await svc.refresh_log(session_id)
        return generation

    async def one_shot(
        self,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        model: str | None,
        use_case: str = "general",
        subfolder: str | None = None,
    ) -> Generation:
        svc = self.s
        prompt = check_prompt(prompt)
        model = model or svc.settings.mainline_model
        images_api = is_images_api_model(model)
        image_model = model if images_api else svc.settings.image_model
        check_options(image_model, options)
        provider = await svc.provider()
        sink = self.events(progress)
        if images_api:
            images_request = ImagesRequest(model, prompt, options, partial_images=self.partials_for(progress))
            result = await self.call(lambda: provider.generate(images_request, sink))
        else:
            turn_request = TurnRequest(
                mainline_model=model,
                image_model=image_model,
                instructions=ONE_SHOT_INSTRUCTIONS,
                text=prompt,
                options=options,
                store=svc.settings.store_responses,
                partial_images=self.partials_for(progress),
            )
            result = await self.call(lambda: provider.respond(turn_request, sink))
        paths = [
            svc.workspace.use_case_path(use_case, prompt, options.output_format, subfolder=subfolder)
            for _ in result.images
        ]
        return await self.persist(
            result, progress, prompt=prompt, options=options, model=model, image_model=image_model,
            use_case=use_case, paths=paths,
        )  # fmt: skip

    # -- steps -----------------------------------------------------------------------------
    def events(self, progress: Progress) -> Callable[[ProviderEvent], Awaitable[None]]:
        """Turn OpenAI's stream into progress: stages, and partial images saved as previews."""
        total = max(1, self.partials_for(progress))
        previews = self.s.workspace.previews_root / progress.id

        async def sink(event: ProviderEvent) -> None:
            if event.kind == "generating":
                await progress.report(10, "OpenAI is generating the image")
                return
            path = previews / f"partial_{event.index}.img"
            try:  # raw bytes only: the WebP preview is made if and when someone reads the resource
                await anyio.to_thread.run_sync(_save_partial, event.b64, path)
            except (OSError, errors.ImageServerError) as exc:  # a preview is a nicety: never fail the turn
                log.warning("could not save partial image %d: %s", event.index, exc)
                return
            share = min(event.index + 1, total) / (total + 1)
            await progress.report(
                10 + 70 * share, f"partial image {event.index + 1} of {total}: {preview_uri(progress.id, event.index)}"
            )

        return sink

    async def call(self, fn: Callable[[], Awaitable[ProviderResult]]) -> ProviderResult:
        """One provider call, timed for the stats."""
        started = time.monotonic()
        try:
            return await fn()
        finally:
            self.s.stats.record_latency(time.monotonic() - started)

    async def _turn_request(
        self,
        session: SessionRecord,
        prompt: str,
        options: ImageOptions,
        progress: Progress,
        *,
        force_replay: bool = False,
    ) -> TurnRequest:
        store = self.s.settings.store_responses
        if store and not force_replay:
            req = build_turn(session, prompt, options, store=True)
        else:
            history = await self.s.sessions.turns(session.id)
            latest = await self.s.images.for_session(session.id)
            image: tuple[bytes, str] | None = None
            if latest:
                image = (await anyio.Path(latest[-1].path).read_bytes(), latest[-1].mime_type)
            req = build_turn(
                session, prompt, options, store=store, history=history, latest_image=image, force_replay=True
            )
        return replace(req, partial_images=self.partials_for(progress))

    def preview_bytes(self, revised: Sequence[str | None], model_text: str, usage: dict[str, Any]) -> int:
        """Raw bytes each preview may take so that the whole result fits the budget."""
        texts = {"r": [cap(r) for r in revised], "t": cap(model_text), "u": usage}
        return preview_budget(self.s.settings.result_budget_bytes, json_size(texts) + 1_500, len(revised))

    async def persist(
        self,
        result: ProviderResult,
        progress: Progress,
        *,
        prompt: str,
        options: ImageOptions,
        model: str,
        image_model: str,
        use_case: str,
        paths: Sequence[Path],
        session: SessionRecord | None = None,
        turn: TurnRecord | None = None,
        lineage: dict[str, Any] | None = None,
    ) -> Generation:
        svc = self.s
        await progress.report(90, "saving the image")
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
            extra={"lineage": lineage} if lineage else {},
        )
        budget = self.preview_bytes([i.revised_prompt for i in result.images], result.model_text, result.usage)
        side = svc.settings.preview_max_side
        final = await anyio.to_thread.run_sync(final_paths, result.images, paths)
        await svc.journal.intend(final)  # named before they exist: a crash from here on leaves no orphan
        try:
            saved = await anyio.to_thread.run_sync(
                lambda: save_images(result.images, final, ctx, preview_side=side, preview_bytes=budget),
                limiter=svc.cpu,
            )
            with anyio.CancelScope(shield=True):
                records = [s.record for s in saved]
                if session is not None and turn is not None:
                    await svc.sessions.complete_turn(
                        turn,
                        response_id=result.response_id,
                        model_text=result.model_text,
                        usage=result.usage,
                        images=records,
                        now=time.time(),
                    )
                else:
                    await svc.images.add(records)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(discard, [f for p in final for f in (p, metadata_path(p))])
                await svc.journal.clear(final)
            raise
        svc.stats.record_generation(len(saved))
        log.info("saved %d image(s) to %s", len(saved), ", ".join(s.record.path for s in saved))
        await progress.report(100, "done")
        return Generation(
            images=saved, model=model, image_model=image_model, use_case=use_case, params=params,
            response_id=result.response_id, model_text=result.model_text, usage=result.usage,
            session_id=session.id if session else None, turn=turn.seq if turn else None,
        )  # fmt: skip

    async def rebuild(self, summary: dict[str, Any]) -> Generation:
        """The result of a finished job, from its DB summary; previews are made again from the files."""
        records: list[ImageRecord] = []
        for image_id in summary["image_ids"]:
            rec = await self.s.images.get(image_id)
            if rec is None:
                raise errors.ImageNotFound(f"Image '{image_id}' of this job is no longer recorded.")
            records.append(rec)
        budget = self.preview_bytes(
            [r.revised_prompt for r in records], summary.get("model_text") or "", summary.get("usage") or {}
        )
        side = self.s.settings.preview_max_side
        saved = await anyio.to_thread.run_sync(
            lambda: preview_files(records, preview_side=side, preview_bytes=budget), limiter=self.s.cpu
        )
        return Generation(
            images=saved, model=summary["model"], image_model=summary["image_model"], use_case=summary["use_case"],
            params=summary["params"], response_id=summary.get("response_id"),
            model_text=summary.get("model_text") or "", usage=summary.get("usage") or {},
            session_id=summary.get("session_id"), turn=summary.get("turn"),
        )  # fmt: skip


def _attached(req: TurnRequest, att: Attachments) -> TurnRequest:
    return replace(req, input_images=att.images, mask=att.mask, input_fidelity=att.input_fidelity)


def _save_partial(b64: str, path: Path) -> None:
    from openai_image_mcp.service.layout import write_atomic

    write_atomic(path, base64.b64decode(b64))
