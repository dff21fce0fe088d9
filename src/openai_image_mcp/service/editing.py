"""The editing and specialised flows: edits with masks and references, analyze-and-improve,
promotion of an image to a session, product batches and UI assets.

They reuse the two core flows of :mod:`openai_image_mcp.service.generation` (a session turn; a one-shot
image) and add what is theirs: reading inputs safely, masks, lineage in the metadata, presets.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageOptions, ImageRecord, SessionRecord, extension, iso_utc
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.requests import EditRequest, ImageRef, InputFile, TurnRequest
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.attachments import Attacher, Attachments, Loaded
from openai_image_mcp.service.budget import Spending
from openai_image_mcp.service.generation import Generator
from openai_image_mcp.service.layout import (
    session_image_parts,
    use_case_key,
)
from openai_image_mcp.service.options import check_options, input_fidelity_for
from openai_image_mcp.service.outcome import Generation, Progress, check_prompt
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.store.ports import BlobStore, StateStore

if TYPE_CHECKING:
    pass

ANALYZE_INSTRUCTIONS = (
    "You are an art director. Look closely at the attached image. First write a concise critique of it "
    "against the user's improvement goals: what works, what does not, and what you will change. Then call "
    "the image generation tool once to produce the improved image, keeping everything the user asked to preserve."
)


def analyze_prompt(goals: str, preserve: str | None) -> str:
    text = f"Improvement goals: {goals.strip()}"
    if preserve and preserve.strip():
        text += f"\nPreserve exactly: {preserve.strip()}"
    return text + "\nCritique the attached image against these goals, then draw the improved version."


class Editor:
    def __init__(
        self,
        *,
        settings: Settings,
        generator: Generator,
        attacher: Attacher,
        sessions: SessionBook,
        state: StateStore,
        blobs: BlobStore,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._generator = generator
        self._attacher = attacher
        self._sessions = sessions
        self._state = state
        self._blobs = blobs
        self._clock = clock

    # -- edits -------------------------------------------------------------------------------
    async def edit(
        self,
        principal: Principal,
        image: str,
        prompt: str,
        progress: Progress,
        *,
        options: ImageOptions,
        references: list[str],
        mask: str | None,
        input_fidelity: str | None,
        session_id: str | None,
    ) -> Generation:
        """Edit ``image``: as a turn of ``session_id`` (the session then continues from the edit), or
        through the Images API into ``edits/``."""
        prompt = check_prompt(prompt)
        gen = self._generator
        if session_id:

            async def attach(session: SessionRecord) -> Attachments:
                fidelity = input_fidelity_for(session.image_model, input_fidelity, gen.catalog)
                return await self._attacher.for_turn(
                    principal, session, target=image, references=references, mask=mask, input_fidelity=fidelity
                )

            return await gen.in_session(
                principal, session_id, prompt, options, progress, use_case="edit", attach=attach,
                input_images=1 + len(references) + (1 if mask else 0),
            )  # fmt: skip
        model = self._settings.image_model
        warning = check_options(model, options, gen.catalog)
        loaded = await self._attacher.load_many(principal, [image, *references])
        mask_png, lineage = await self._attacher.edit_inputs(principal, loaded[0], loaded[1:], mask)
        request = EditRequest(
            model=model,
            prompt=prompt,
            images=tuple(_input_file(n, item) for n, item in enumerate(loaded)),
            options=options,
            mask=mask_png,
            input_fidelity=input_fidelity_for(model, input_fidelity, gen.catalog),
            partial_images=gen.partials_for(progress),
        )
        spec = gen.spec(
            principal, progress, image_model=model, mainline_model=None, options=options, input_images=len(loaded),
            prompt=prompt,
        )  # fmt: skip
        spending = Spending()
        provider = await gen.provider.get()
        sink = gen.events(progress)
        result = await gen.call(lambda: provider.edit(request, sink), spec, spending)
        refs = [self._edit_ref(prompt, options.output_format) for _ in result.images]
        return await gen.filer.persist(
            result, progress, prompt=prompt, options=options, model=model, image_model=model, use_case="edit",
            refs=refs, owner=principal.name, lineage=lineage, cost=spending.summary(), warning=warning,
        )  # fmt: skip

    def _edit_ref(self, prompt: str, ext: str) -> str:
        return self._blobs.ref(use_case_key("edit", prompt, ext, now=self._clock.now()))

    # -- analyze and improve -----------------------------------------------------------------
    async def analyze_and_improve(
        self,
        principal: Principal,
        image: str,
        goals: str,
        preserve: str | None,
        progress: Progress,
        *,
        session_id: str | None,
    ) -> Generation:
        """One Responses call: the model critiques the image against the goals (its text is the
        analysis) and draws the improved image."""
        goals = check_prompt(goals)
        gen, settings, attacher = self._generator, self._settings, self._attacher
        prompt = analyze_prompt(goals, preserve)
        if session_id:
            return await gen.in_session(
                principal, session_id, prompt, ImageOptions(), progress, use_case="edit",
                attach=lambda session: attacher.for_turn(principal, session, target=image), input_images=1,
            )  # fmt: skip
        spec = gen.spec(
            principal, progress, image_model=settings.image_model, mainline_model=settings.mainline_model,
            options=ImageOptions(), input_images=1, prompt=prompt,
        )  # fmt: skip
        await gen.budget.check(spec)  # before the image is uploaded
        spending = Spending()
        loaded = await attacher.load(principal, image)
        img = loaded.image
        file_id = await attacher.upload(principal.name, None, img.data, img.sha256, img.mime_type)
        try:
            request = TurnRequest(
                mainline_model=settings.mainline_model,
                image_model=settings.image_model,
                instructions=ANALYZE_INSTRUCTIONS,
                text=prompt,
                options=ImageOptions(),
                store=settings.store_responses,
                partial_images=gen.partials_for(progress),
                input_images=(ImageRef(file_id=file_id),),
            )
            provider = await gen.provider.get()
            sink = gen.events(progress)
            result = await gen.call(lambda: provider.respond(request, sink), spec, spending)
        finally:
            with anyio.CancelScope(shield=True):
                await attacher.delete_upload(file_id)  # the one-off upload is deleted as soon as it was used
        refs = [self._edit_ref(goals, "png") for _ in result.images]
        return await gen.filer.persist(
            result, progress, prompt=prompt, options=ImageOptions(), model=request.mainline_model,
            image_model=request.image_model, use_case="edit", refs=refs, owner=principal.name,
            lineage={"edited_image": loaded.describe(), "improvement_goals": goals, "preserve_elements": preserve},
            cost=spending.summary(),
        )  # fmt: skip

    # -- promotion ---------------------------------------------------------------------------
    async def promote(
        self, principal: Principal, image: str, description: str, name: str | None
    ) -> tuple[SessionRecord, ImageRecord]:
        """A new session whose next turn refines ``image``. An image of ours that OpenAI still holds
        (a Responses result, stored) is chained on directly; any other image is filed as the
        session's image_001 and attached to its first turn."""
        loaded = await self._attacher.load(principal, image)
        ours = loaded.record
        chain = ours.response_id if ours is not None and self._settings.store_responses else None
        session_id_hint = str(uuid.uuid4())
        description = description.strip() or (ours.prompt if ours else "")
        if ours is not None and ours.prompt and ours.prompt not in description:
            description = f"{description}\nThe session starts from an image made from: {ours.prompt}"
        seed = _seed_record(loaded, session_id_hint, principal.name, self._clock.now())
        data = await self._blobs.get(ours.path) if ours is not None else loaded.image.data
        # Filing the seed is short; done under a shield so that a cancel cannot leave half a session
        # (a session without its seed, or a seed without its row), and undone if it fails.
        with anyio.CancelScope(shield=True):
            session = await self._sessions.create(
                principal, description, None, name, seed=seed, last_response_id=chain, session_id=session_id_hint
            )
            ref = self._blobs.join(session.folder, *session_image_parts(1, extension(loaded.image.mime_type)))
            metadata = {**seed.metadata, "file_path": ref, "session_id": session.id}
            seed = replace(seed, path=ref, session_id=session.id, metadata=metadata)
            if not await self._state.journal.intend([ref]):  # a new session's folder: only a bug could make it taken
                await self._state.sessions.close(session.id, now=self._clock.now())
                raise errors.StorageError(f"The image name {ref} is already taken; nothing was written.")
            try:
                await self._blobs.put_image(ref, data, metadata)
                await self._state.images.add([seed])
            except errors.ImageServerError:
                await self._blobs.delete_images([ref])
                await self._state.journal.clear([ref])
                await self._state.sessions.close(session.id, now=self._clock.now())
                raise
        await self._sessions.refresh_log(session.id)
        return await self._sessions.get(principal, session.id), seed


def _input_file(n: int, item: Loaded) -> InputFile:
    return InputFile(item.image.data, f"image_{n}.{extension(item.image.mime_type)}", item.image.mime_type)


def _seed_record(loaded: Loaded, session_id: str, owner: str, now: float) -> ImageRecord:
    img, ours = loaded.image, loaded.record
    image_id = uuid.uuid4().hex
    metadata: dict[str, Any] = {
        "original_prompt": ours.prompt if ours else None,
        "revised_prompt": ours.revised_prompt if ours else None,
        "model": ours.model if ours else None,
        "image_model": ours.metadata.get("image_model") if ours else None,
        "generation_params": (ours.metadata.get("generation_params") if ours else None) or {},
        "session_id": session_id,
        "created_at": iso_utc(now),
        "generation_id": image_id,
        "file_size_bytes": len(img.data) if ours is None else ours.file_size,
        "use_case": "promoted",
        "width": img.width,
        "height": img.height,
        "mime_type": img.mime_type,
        "sha256": img.sha256 if ours is None else ours.sha256,
        "lineage": {"promoted_from": loaded.describe()},
    }
    return ImageRecord(
        id=image_id,
        path=str(Path(img.source)),
        sha256=metadata["sha256"],
        file_size=metadata["file_size_bytes"],
        width=img.width,
        height=img.height,
        mime_type=img.mime_type if ours is None else ours.mime_type,
        use_case="promoted",
        prompt=ours.prompt if ours else "",
        revised_prompt=ours.revised_prompt if ours else None,
        model=ours.model if ours else "",
        created_at=now,
        session_id=session_id,
        response_id=ours.response_id if ours else None,
        metadata=metadata,
        owner=owner,
    )
