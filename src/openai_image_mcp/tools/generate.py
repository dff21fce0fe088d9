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
                description="Optional image to work from (path under an allowed folder, or an image id / resource "
                "URI). Uploaded once; later turns remember it.",
            ),
        ] = None,
        mask_image_path: Annotated[
            str | None,
            Field(
                max_length=4_096,
                description="Optional mask: white (or transparent) = the area to change. It applies to the reference "
                "image if given, else to the session's latest image; any size, converted for OpenAI.",
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
        """Draw the next image of a session. The session remembers earlier turns, so a follow-up such as
        "make it more blue" refines the latest image. Returns a small preview, a link to the full image
        and its absolute path. Next: another turn, or get_session_status to review the session."""

        async def body() -> CallToolResult:
            options = ImageOptions(
                size=size, quality=quality, background=background, output_format=output_format,
                output_compression=output_compression, moderation=moderation,
            )  # fmt: skip
            if dry_run:
                refs = 1 if reference_image_path or mask_image_path else 0
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
        session_id: Annotated[
            str | None, Field(max_length=200, description="Optional: make this a turn of that session.")
        ] = None,
        model: Annotated[
            str | None,
            Field(
                max_length=100,
                description="A Responses API model (default from settings), or an image model such as "
                "'gpt-image-2' to use the Images API directly (no chat model tokens).",
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
        """Generate one image from a prompt, saved under the use case's folder with a metadata file.
        With session_id it becomes a turn of that session. For iterative work, prefer
        create_image_session + generate_image_in_session."""

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
