"""Generation tools: a turn in a session, and one-shot generation."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.jobs import finish
from openai_image_mcp.tools.schemas import (
    GENERATES,
    BackgroundArg,
    CompressionArg,
    DryRunArg,
    FormatArg,
    GenerationOutput,
    ModerationArg,
    PromptArg,
    QualityArg,
    SessionIdArg,
    SizeArg,
    UseCaseArg,
    WaitArg,
)
from openai_image_mcp.tools.usage import dry_run_result


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="Generate in session", annotations=GENERATES)
    async def generate_image_in_session(
        session_id: SessionIdArg,
        prompt: PromptArg,
        reference_image_path: Annotated[
            str | None,
            Field(
                max_length=4_096,
                description="Image to work from (id, URI or allowed path); uploaded once.",
            ),
        ] = None,
        mask_image_path: Annotated[
            str | None,
            Field(
                max_length=4_096,
                description="Mask, white or transparent = change; for the reference, else the latest image.",
            ),
        ] = None,
        quality: QualityArg = "auto",
        size: SizeArg = "auto",
        background: BackgroundArg = "auto",
        output_format: FormatArg = "png",
        output_compression: CompressionArg = None,
        moderation: ModerationArg = "auto",
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """Draw the next image of a session; follow-ups like "make it more blue" refine the latest image. Returns a
        preview, a link to the full image and its metadata."""

        async def body() -> CallToolResult:
            options = ImageOptions(
                size=size, quality=quality, background=background, output_format=output_format,
                output_compression=output_compression, moderation=moderation,
            )  # fmt: skip
            if dry_run:
                refs = (1 if reference_image_path else 0) + (1 if mask_image_path else 0)
                estimate = await service.estimate(
                    caller(), options, session_id=session_id, input_images=refs, prompt=prompt
                )
                return dry_run_result(estimate)
            job = await service.generate_in_session(
                caller(), session_id, prompt, options, reference=reference_image_path, mask=mask_image_path
            )
            step = "Refine with another generate_image_in_session turn, or close_session when done."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("generate_image_in_session", body)

    @mcp.tool(title="Generate image", annotations=GENERATES)
    async def generate_image(
        prompt: PromptArg,
        session_id: Annotated[str | None, Field(max_length=200, description="Make it a turn of this session.")] = None,
        model: Annotated[
            str | None,
            Field(
                max_length=100,
                description="Responses model, or an image model (gpt-image-*) for the Images API.",
            ),
        ] = None,
        quality: QualityArg = "auto",
        size: SizeArg = "auto",
        background: BackgroundArg = "auto",
        use_case: UseCaseArg = "general",
        output_format: FormatArg = "png",
        output_compression: CompressionArg = None,
        moderation: ModerationArg = "auto",
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """One image from a prompt, filed by use_case. For iterative work use a session instead."""

        async def body() -> CallToolResult:
            options = ImageOptions(
                size=size, quality=quality, background=background, output_format=output_format,
                output_compression=output_compression, moderation=moderation,
            )  # fmt: skip
            if dry_run:
                return dry_run_result(
                    await service.estimate(caller(), options, session_id=session_id, model=model, prompt=prompt)
                )
            job = await service.generate(
                caller(), prompt, options, model=model, use_case=use_case, session_id=session_id
            )
            step = (
                "Refine it with generate_image_in_session on the same session_id."
                if session_id
                else "To refine it conversationally, start a session with create_image_session."
            )
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("generate_image", body)
