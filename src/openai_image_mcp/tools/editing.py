"""Editing and specialised tools: edit_image, analyze_and_improve_image, promote_image_to_session,
generate_product_image, generate_ui_asset."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.service.presets import (
    ProductAngleArg,
    ProductBackground,
    ProductLighting,
    UIAssetType,
    UISizePresetArg,
    UIStyleArg,
    UIThemeArg,
    plan_product,
    plan_ui_asset,
)
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.jobs import finish
from openai_image_mcp.tools.render import image_out, session_out
from openai_image_mcp.tools.schemas import (
    CREATES_SESSION,
    GENERATES,
    BackgroundArg,
    DryRunArg,
    FidelityArg,
    FormatArg,
    GenerationOutput,
    ImageInputArg,
    PromptArg,
    QualityArg,
    SessionOutput,
    SizeArg,
    WaitArg,
)
from openai_image_mcp.tools.usage import dry_run_result

OptionalSession = Annotated[str | None, Field(max_length=200, description="Do it as a turn of this session.")]


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="Edit image", annotations=GENERATES)
    async def edit_image(
        image_path: ImageInputArg,
        prompt: PromptArg,
        ctx: Context,
        session_id: OptionalSession = None,
        mask_path: Annotated[
            str | None,
            Field(
                max_length=4_096,
                description="Mask: white or transparent = change, black = keep; any size.",
            ),
        ] = None,
        quality: QualityArg = "auto",
        reference_image_paths: Annotated[
            list[str] | None,
            Field(max_length=15, description="Up to 15 more images to draw from."),
        ] = None,
        size: SizeArg = "auto",
        background: BackgroundArg = "auto",
        output_format: FormatArg = "png",
        input_fidelity: FidelityArg = None,
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """Edit an image with a prompt, optionally inside a mask and with reference images; the source is kept in the
        metadata."""

        async def body() -> CallToolResult:
            options = ImageOptions(size=size, quality=quality, background=background, output_format=output_format)
            refs = list(reference_image_paths or [])
            if dry_run:
                estimate = await service.estimate(
                    caller(), options, session_id=session_id, images_api=True,
                    input_images=1 + len(refs) + (1 if mask_path else 0), prompt=prompt,
                )  # fmt: skip
                return dry_run_result(estimate)
            job = await service.edit(
                caller(), image_path, prompt, options, references=refs, mask=mask_path,
                input_fidelity=input_fidelity, session_id=session_id,
            )  # fmt: skip
            step = "Edit again, or promote_image_to_session to refine it conversationally."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("edit_image", body)

    @mcp.tool(title="Analyze and improve image", annotations=GENERATES)
    async def analyze_and_improve_image(
        image_path: ImageInputArg,
        improvement_goals: Annotated[
            str, Field(min_length=1, max_length=8_000, description="What should get better (composition, light...).")
        ],
        ctx: Context,
        session_id: OptionalSession = None,
        preserve_elements: Annotated[
            str | None, Field(max_length=4_000, description="What must stay exactly as it is.")
        ] = None,
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """Critique an image against the goals (returned as model_text) and draw the improved version, keeping
        preserve_elements."""

        async def body() -> CallToolResult:
            if dry_run:
                estimate = await service.estimate(
                    caller(), ImageOptions(), session_id=session_id, input_images=1, prompt=improvement_goals
                )
                return dry_run_result(estimate)
            job = await service.analyze(
                caller(), image_path, improvement_goals, preserve_elements, session_id=session_id
            )
            step = "model_text is the analysis. Improve again, or promote_image_to_session to iterate."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("analyze_and_improve_image", body)

    @mcp.tool(
        title="Promote image to session",
        annotations=CREATES_SESSION,
    )
    async def promote_image_to_session(
        image_path: ImageInputArg,
        session_description: Annotated[
            str, Field(min_length=1, max_length=4_000, description="The brief of the new session.")
        ],
        session_name: Annotated[str | None, Field(max_length=200)] = None,
    ) -> Annotated[CallToolResult, SessionOutput]:
        """Start a session from an existing image; its next turn refines that image."""

        async def body() -> CallToolResult:
            session, seed = await service.promote(caller(), image_path, session_description, session_name)
            return results.success(
                SessionOutput(
                    session=session_out(session, service.settings.session_timeout),
                    seed_image=image_out(seed),
                    next_step=f"Call generate_image_in_session with session_id='{session.id}' to refine the image.",
                )
            )

        return await results.guarded("promote_image_to_session", body)

    @mcp.tool(title="Generate product image", annotations=GENERATES)
    async def generate_product_image(
        product_description: Annotated[str, Field(min_length=1, max_length=4_000)],
        ctx: Context,
        session_id: Annotated[
            str | None,
            Field(
                max_length=200,
                description="Draw it as a turn of this session (batch_count 1).",
            ),
        ] = None,
        background_type: ProductBackground = "white",
        angle: ProductAngleArg = "three_quarter",
        lighting: ProductLighting = "studio",
        batch_count: Annotated[int, Field(ge=1, le=3, description="1-3 variations, drawn at the same time.")] = 1,
        quality: QualityArg = "auto",
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """E-commerce product shots from presets (background, angle, lighting); transparent gives real alpha."""

        async def body() -> CallToolResult:
            plan = plan_product(
                product_description,
                background_type=background_type,
                angle=angle,
                lighting=lighting,
                batch_count=batch_count,
            )
            if dry_run:
                options = ImageOptions(size=plan.size, quality=quality, background=plan.background)
                estimate = await service.estimate(
                    caller(), options, session_id=session_id, images_api=True, calls=len(plan.prompts),
                    prompt=max(plan.prompts, key=len),
                )  # fmt: skip
                return dry_run_result(estimate)
            job = await service.product(caller(), product_description, plan, quality, session_id=session_id)
            step = "Pick one and refine it with edit_image or promote_image_to_session."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("generate_product_image", body)

    @mcp.tool(title="Generate UI asset", annotations=GENERATES)
    async def generate_ui_asset(
        asset_type: UIAssetType,
        description: Annotated[str, Field(min_length=1, max_length=4_000)],
        ctx: Context,
        session_id: Annotated[
            str | None,
            Field(max_length=200, description="Draw it as a turn of this session."),
        ] = None,
        theme: UIThemeArg = "light",
        style_preset: UIStyleArg = "flat",
        size_preset: UISizePresetArg = "auto",
        background: BackgroundArg | None = None,
        quality: QualityArg = "auto",
        dry_run: DryRunArg = False,
        wait_seconds: WaitArg = None,
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """Icons, logos, illustrations, backgrounds, heroes and more, in a theme and style; icons and logos transparent
        by default."""

        async def body() -> CallToolResult:
            plan = plan_ui_asset(
                asset_type,
                description,
                theme=theme,
                style_preset=style_preset,
                size_preset=size_preset,
                image_model=service.settings.image_model,
                background=background,
            )
            if dry_run:
                options = ImageOptions(size=plan.size, quality=quality, background=plan.background)
                estimate = await service.estimate(
                    caller(), options, session_id=session_id, images_api=True, prompt=plan.prompt
                )
                return dry_run_result(estimate)
            job = await service.ui_asset(caller(), asset_type, plan, quality, session_id=session_id)
            step = "Refine it with edit_image, or generate variants with another style_preset."
            return await finish(service, job, wait_seconds, ctx, step)

        return await results.guarded("generate_ui_asset", body)
