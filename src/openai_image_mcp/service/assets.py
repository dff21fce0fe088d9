"""Product shots and UI assets: presets turned into prompts (:mod:`openai_image_mcp.service.presets`), drawn
with the Images API on the configured image model and filed under ``products/<product>/`` and
``ui_assets/<asset type>/``. A product batch draws its images concurrently.

With a ``session_id`` the preset prompt becomes a turn of that session instead (filed with the
session's images), so the next ``generate_image_in_session`` refines it; a session's turns run one
after another, so a batch there is one image."""

from __future__ import annotations

from typing import Any

import anyio

from openai_image_mcp.core.errors import ImageServerError, InvalidInput
from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.service.generation import Generator
from openai_image_mcp.service.outcome import Generation, Progress
from openai_image_mcp.service.presets import ProductPlan, UIPlan


async def product_batch(
    generator: Generator,
    principal: Principal,
    product: str,
    plan: ProductPlan,
    quality: str,
    progress: Progress,
    *,
    session_id: str | None = None,
) -> Generation:
    options = _options(plan, quality)
    if session_id:
        if len(plan.prompts) > 1:
            raise InvalidInput(
                "batch_count must be 1 with session_id: a session's turns run one after another. "
                "Leave session_id empty to draw a batch at once."
            )
        return await generator.in_session(principal, session_id, plan.prompts[0], options, progress, use_case="product")
    results: list[Generation | None] = [None] * len(plan.prompts)
    image_model = generator.settings.image_model

    async def one(i: int, prompt: str) -> None:
        results[i] = await generator.one_shot(
            principal, prompt, options, progress, model=image_model, use_case="product", subfolder=product
        )

    try:
        async with anyio.create_task_group() as tg:
            for i, prompt in enumerate(plan.prompts):
                tg.start_soon(one, i, prompt)
    except* ImageServerError as group:  # report the first failure as itself, not as a group
        raise group.exceptions[0] from None
    done = [g for g in results if g is not None]
    first = done[0]
    return Generation(
        images=[img for g in done for img in g.images],
        model=first.model,
        image_model=first.image_model,
        use_case="product",
        params={**first.params, "batch_count": len(done)},
        usage={"batch": [g.usage for g in done]},
        cost=_sum_costs([g.cost for g in done]),
    )


async def ui_asset(
    generator: Generator,
    principal: Principal,
    asset_type: str,
    plan: UIPlan,
    quality: str,
    progress: Progress,
    *,
    session_id: str | None = None,
) -> Generation:
    options = _options(plan, quality)
    if session_id:
        return await generator.in_session(principal, session_id, plan.prompt, options, progress, use_case="ui_asset")
    return await generator.one_shot(
        principal, plan.prompt, options, progress, model=generator.settings.image_model, use_case="ui_asset",
        subfolder=asset_type,
    )  # fmt: skip


def _options(plan: ProductPlan | UIPlan, quality: str) -> ImageOptions:
    return ImageOptions(size=plan.size, quality=quality, background=plan.background, output_format=plan.output_format)


def _sum_costs(costs: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    known = [c for c in costs if c]
    if not known:
        return None
    usd = [c.get("usd") for c in known]
    return {
        "usd": None if any(u is None for u in usd) else round(sum(u or 0.0 for u in usd), 6),
        "currency": "USD",
        "prices_checked": known[-1].get("prices_checked"),
        "calls": [call for c in known for call in c.get("calls", [])],
    }
