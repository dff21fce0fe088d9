"""Filing a finished generation: previews sized to the result budget, the image blobs and sidecars written
through the journal, and the rows committed; and rebuilding a finished job's result from its rows."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageOptions, ImageRecord, SessionRecord, TurnRecord
from openai_image_mcp.core.refs import cap, json_size, preview_budget
from openai_image_mcp.core.requests import ProviderResult
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.outcome import Generation, Progress
from openai_image_mcp.service.runtime import gather2
from openai_image_mcp.service.saving import (
    PreparedImage,
    SaveContext,
    SavedImage,
    prepare_images,
    preview_of,
    sniff_format,
    with_extension,
)
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.ports import BlobStore, StateStore

log = logging.getLogger(__name__)

#: How many times a taken name moves on before saving gives up.
MAX_RENAMES = 50
#: ``(refs, attempt)`` -> the next refs to try after ``refs`` were taken.
Renumber = Callable[[list[str], int], Awaitable[list[str]]]


async def _suffixed(refs: list[str], attempt: int) -> list[str]:
    """``edit_x.png`` -> ``edit_x_2.png`` (attempt 1), ``edit_x_3.png``, ...: the original names with a counter."""
    out = []
    for ref in refs:
        head, dot, ext = ref.rpartition(".")
        base = re.sub(r"_\d+$", "", head) if attempt > 1 else head
        out.append(f"{base}_{attempt + 1}{dot}{ext}" if dot else f"{ref}_{attempt + 1}")
    return out


class Filer:
    def __init__(
        self,
        *,
        settings: Settings,
        state: StateStore,
        blobs: BlobStore,
        stats: ServerStats,
        cpu: anyio.CapacityLimiter,
        clock: Clock,
    ) -> None:
        self._budget = settings.result_budget_bytes
        self._preview_side = settings.preview_max_side
        self._state = state
        self._blobs = blobs
        self._stats = stats
        self._cpu = cpu
        self._clock = clock

    def preview_bytes(self, revised: Sequence[str | None], model_text: str, usage: dict[str, Any]) -> int:
        """Raw bytes each preview may take so that the whole result fits the budget."""
        texts = {"r": [cap(r) for r in revised], "t": cap(model_text), "u": usage}
        return preview_budget(self._budget, json_size(texts) + 1_500, len(revised))

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
        refs: Sequence[str],
        owner: str,
        session: SessionRecord | None = None,
        turn: TurnRecord | None = None,
        lineage: dict[str, Any] | None = None,
        cost: dict[str, Any] | None = None,
        warning: str | None = None,
        fence: int | None = None,
        renumber: Renumber | None = None,
    ) -> Generation:
        """Write the images, then commit their rows (for a session turn: fenced by the session lock's token, so a
        replica that lost the lock cannot commit, and its files are removed). ``refs`` are claimed first; a name
        another writer has (or an image already filed) is never written over: ``renumber`` gives the next names
        (by default ``name_2.png``, ``name_3.png``, ...)."""
        await progress.report(90, "saving the image")
        formats = [sniff_format(i.data, i.output_format) for i in result.images]
        planned = [with_extension(r, f) for r, f in zip(refs, formats, strict=True)]
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
            extra={**({"lineage": lineage} if lineage else {}), **({"cost": cost} if cost else {})},
            owner=owner,
        )
        budget = self.preview_bytes([i.revised_prompt for i in result.images], result.model_text, result.usage)
        side, now = self._preview_side, self._clock.now()

        def prepare(names: list[str]) -> Awaitable[list[PreparedImage]]:
            return anyio.to_thread.run_sync(
                lambda: prepare_images(result.images, names, ctx, now=now, preview_side=side, preview_bytes=budget),
                limiter=self._cpu,
            )

        given = renumber or _suffixed

        async def next_names(taken: list[str], attempt: int) -> list[str]:  # keeping the real formats' extensions
            return [with_extension(r, f) for r, f in zip(await given(taken, attempt), formats, strict=True)]

        names = await self._claim(planned, next_names, 1)
        try:
            # a file already there (unknown to the state) is looked for while the images are prepared (CPU, in a
            # thread): a remote store's round trip costs nothing then
            taken, prepared = await gather2(lambda: self._any_exist(names), lambda: prepare(names))
            attempt = 1
            while taken:
                await self._state.journal.clear(names)
                attempt += 1
                if attempt > MAX_RENAMES:
                    raise errors.StorageError(f"Could not find free names near {names[0]}; nothing was written.")
                names = await self._claim(await next_names(names, attempt - 1), next_names, attempt)
                taken = await self._any_exist(names)
                if not taken:
                    prepared = await prepare(names)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._state.journal.clear(names)
            raise
        final = [p.saved.record.path for p in prepared]
        try:
            for item in prepared:
                await self._blobs.put_image(item.saved.record.path, item.data, item.metadata)
            with anyio.CancelScope(shield=True):
                records = [p.saved.record for p in prepared]
                if session is not None and turn is not None:
                    await self._state.sessions.complete_turn(
                        turn,
                        response_id=result.response_id,
                        model_text=result.model_text,
                        usage={**result.usage, "cost": cost} if cost else result.usage,
                        images=records,
                        now=self._clock.now(),
                        fence=fence,
                    )
                else:
                    await self._state.images.add(records)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._blobs.delete_images(final)
                await self._state.journal.clear(final)
            raise
        saved = [p.saved for p in prepared]
        self._stats.record_generation(len(saved), model=image_model, size=sum(s.record.file_size for s in saved))
        log.info("saved %d image(s) to %s", len(saved), ", ".join(s.record.path for s in saved))
        await progress.report(100, "done")
        return Generation(
            images=saved, model=model, image_model=image_model, use_case=use_case, params=params,
            response_id=result.response_id, model_text=result.model_text, usage=result.usage,
            session_id=session.id if session else None, turn=turn.seq if turn else None, cost=cost,
            warnings=(warning,) if warning else (),
        )  # fmt: skip

    async def _claim(self, refs: list[str], renumber: Renumber, attempt: int) -> list[str]:
        """Claim names in the journal before anything is written (a crash from here on leaves no orphan, and two
        writers never share a name); a name another writer claimed or filed moves on to the next names."""
        while attempt <= MAX_RENAMES:
            if await self._state.journal.intend(refs):
                return refs
            refs = await renumber(refs, attempt)
            attempt += 1
        raise errors.StorageError(f"Could not find free names for the images near {refs[0]}; nothing was written.")

    async def _any_exist(self, refs: list[str]) -> bool:
        for ref in refs:
            if await self._blobs.exists(ref):
                return True
        return False

    @staticmethod
    def _preview(rec: ImageRecord, data: bytes, side: int, budget: int) -> SavedImage:
        return preview_of(rec, data, preview_side=side, preview_bytes=budget)

    async def rebuild(self, summary: dict[str, Any]) -> Generation:
        """The result of a finished job, from its DB summary; previews are made again from the files."""
        records: list[ImageRecord] = []
        for image_id in summary["image_ids"]:
            rec = await self._state.images.get(image_id, owner=None)
            if rec is None:
                raise errors.ImageNotFound(f"Image '{image_id}' of this job is no longer recorded.")
            records.append(rec)
        budget = self.preview_bytes(
            [r.revised_prompt for r in records], summary.get("model_text") or "", summary.get("usage") or {}
        )
        side = self._preview_side
        saved: list[SavedImage] = []
        for rec in records:
            data = await self._blobs.get(rec.path)
            saved.append(await anyio.to_thread.run_sync(self._preview, rec, data, side, budget, limiter=self._cpu))
        return Generation(
            images=saved, model=summary["model"], image_model=summary["image_model"], use_case=summary["use_case"],
            params=summary["params"], response_id=summary.get("response_id"),
            model_text=summary.get("model_text") or "", usage=summary.get("usage") or {},
            session_id=summary.get("session_id"), turn=summary.get("turn"), cost=summary.get("cost"),
        )  # fmt: skip
