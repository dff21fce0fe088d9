from __future__ import annotations

import itertools
from datetime import date
from typing import get_args

import pytest

from openai_image_mcp.core.errors import InvalidInput
from openai_image_mcp.core.models import BASE_SIZES, ImageOptions, Size
from openai_image_mcp.service import presets
from openai_image_mcp.service.options import check_options
from openai_image_mcp.service.presets import (
    PRODUCT_ANGLES,
    PRODUCT_BACKGROUNDS,
    PRODUCT_LIGHTING,
    UI_ASSET_TYPES,
    UI_SIZE_PRESETS,
    UI_STYLES,
    UI_THEMES,
    ProductAngle,
    ProductLighting,
    plan_product,
    plan_ui_asset,
    supports_large_sizes,
)

MODELS = ["gpt-image-1.5", "gpt-image-1-mini", "gpt-image-2", "gpt-image-2.6-sunburst"]
#: the presets are checked against each model while it was still served (some shut down on 2026-12-01)
BEFORE_SHUTDOWNS = date(2026, 11, 1)
SIZES = set(get_args(Size))

ANGLE_WORDS: dict[ProductAngle, str] = {
    "front": "front view",
    "three_quarter": "three-quarter view",
    "side": "side profile",
    "top_down": "top-down",
    "back": "rear view",
    "close_up": "close-up",
}
LIGHTING_WORDS: dict[ProductLighting, str] = {
    "studio": "softbox",
    "soft": "diffused",
    "natural": "daylight",
    "dramatic": "low-key",
    "golden_hour": "golden hour",
    "backlit": "backlit",
}


def test_choice_tuples_follow_the_literals() -> None:
    assert get_args(presets.ProductBackground) == PRODUCT_BACKGROUNDS
    assert get_args(presets.ProductAngle) == PRODUCT_ANGLES
    assert get_args(presets.ProductLighting) == PRODUCT_LIGHTING
    assert get_args(presets.UIAssetType) == UI_ASSET_TYPES
    assert get_args(presets.UITheme) == UI_THEMES
    assert get_args(presets.UIStyle) == UI_STYLES
    assert get_args(presets.UISizePreset) == UI_SIZE_PRESETS
    assert set(ANGLE_WORDS) == set(PRODUCT_ANGLES)
    assert set(LIGHTING_WORDS) == set(PRODUCT_LIGHTING)


@pytest.mark.parametrize(("angle", "lighting"), list(zip(PRODUCT_ANGLES, PRODUCT_LIGHTING, strict=True)))
def test_product_prompt_reads_like_a_photographers_brief(angle: ProductAngle, lighting: ProductLighting) -> None:
    plan = plan_product("  a matte black ceramic coffee mug  ", angle=angle, lighting=lighting)
    (prompt,) = plan.prompts
    assert "Product: a matte black ceramic coffee mug\n" in prompt
    assert ANGLE_WORDS[angle] in prompt
    assert LIGHTING_WORDS[lighting] in prompt
    assert "e-commerce" in prompt and "sharp focus" in prompt and "watermark" in prompt
    assert "accurate colours, materials" in prompt


def test_product_defaults() -> None:
    plan = plan_product("running shoe")
    assert len(plan.prompts) == 1
    assert (plan.background, plan.output_format, plan.size) == ("opaque", "png", "1024x1024")
    assert "three-quarter" in plan.prompts[0] and "softbox" in plan.prompts[0] and "white" in plan.prompts[0]


def test_transparent_product() -> None:
    plan = plan_product("wireless earbuds", background_type="transparent", batch_count=2)
    assert (plan.background, plan.output_format) == ("transparent", "png")
    for prompt in plan.prompts:
        assert "fully transparent background" in prompt
        assert "no backdrop, no floor, no shadow on a surface, clean edges" in prompt
        assert "checker" not in prompt.lower()


@pytest.mark.parametrize("background_type", PRODUCT_BACKGROUNDS)
def test_product_sizes_and_background(background_type: presets.ProductBackground) -> None:
    plan = plan_product("leather wallet", background_type=background_type)
    assert plan.size in BASE_SIZES
    wide = background_type in ("lifestyle", "outdoor")
    assert plan.size == ("1536x1024" if wide else "1024x1024")
    assert plan.background == ("transparent" if background_type == "transparent" else "opaque")
    if background_type != "transparent":
        assert "transparent" not in plan.prompts[0]
    for model in MODELS:
        check_options(
            model,
            ImageOptions(size=plan.size, background=plan.background, output_format=plan.output_format),
            today=BEFORE_SHUTDOWNS,
        )


@pytest.mark.parametrize("count", [1, 2, 3])
def test_batch_prompts_differ(count: int) -> None:
    plan = plan_product("glass perfume bottle", batch_count=count)
    assert len(plan.prompts) == count
    assert len(set(plan.prompts)) == count
    assert all("glass perfume bottle" in p and "three-quarter" in p for p in plan.prompts)


@pytest.mark.parametrize("count", [0, 4, -1, True])
def test_batch_count_out_of_range(count: int) -> None:
    with pytest.raises(ValueError, match="batch_count"):
        plan_product("lamp", batch_count=count)


def test_bad_arguments_are_value_errors_and_invalid_input() -> None:
    with pytest.raises(ValueError, match="product_description"):
        plan_product("   ")
    with pytest.raises(InvalidInput, match="angle"):
        plan_product("lamp", angle="upside_down")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="description"):
        plan_ui_asset("icon", "", image_model="gpt-image-2")
    with pytest.raises(ValueError, match="style_preset"):
        plan_ui_asset("icon", "cog", style_preset="baroque", image_model="gpt-image-2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="background"):
        plan_ui_asset("icon", "cog", image_model="gpt-image-2", background="clear")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "large"),
    [
        ("gpt-image-1", False),
        ("gpt-image-1.5", False),
        ("gpt-image-1-mini", False),
        ("dall-e-3", False),
        ("gpt-image-2", True),
        ("gpt-image-2.6-sunburst", True),
        ("chatgpt-image-latest", True),
    ],
)
def test_supports_large_sizes(model: str, large: bool) -> None:
    assert supports_large_sizes(model) is large


@pytest.mark.parametrize("model", MODELS)
def test_ui_size_matrix(model: str) -> None:
    for asset_type, size_preset in itertools.product(UI_ASSET_TYPES, UI_SIZE_PRESETS):
        plan = plan_ui_asset(asset_type, "a compass", size_preset=size_preset, image_model=model)
        assert plan.size in SIZES, (asset_type, size_preset)
        assert plan.size != "auto"
        if not supports_large_sizes(model):
            assert plan.size in BASE_SIZES, (asset_type, size_preset)
        # the plan passes the server's own pre-flight checks as it is
        check_options(
            model,
            ImageOptions(size=plan.size, background=plan.background, output_format=plan.output_format),
            today=BEFORE_SHUTDOWNS,
        )


@pytest.mark.parametrize(
    ("size_preset", "new", "old"),
    [
        ("square", "1024x1024", "1024x1024"),
        ("landscape", "1536x1024", "1536x1024"),
        ("portrait", "1024x1536", "1024x1536"),
        ("wide", "2048x1152", "1536x1024"),
        ("tall", "1152x2048", "1024x1536"),
    ],
)
def test_size_presets(size_preset: presets.UISizePreset, new: str, old: str) -> None:
    assert plan_ui_asset("illustration", "x", size_preset=size_preset, image_model="gpt-image-2").size == new
    assert plan_ui_asset("illustration", "x", size_preset=size_preset, image_model="gpt-image-1.5").size == old


@pytest.mark.parametrize(
    ("asset_type", "size"),
    [
        ("icon", "1024x1024"),
        ("logo", "1024x1024"),
        ("button", "1024x1024"),
        ("avatar", "1024x1024"),
        ("illustration", "1536x1024"),
        ("background", "1536x1024"),
        ("hero", "2048x1152"),
        ("banner", "2048x1152"),
    ],
)
def test_auto_size_per_type(asset_type: presets.UIAssetType, size: str) -> None:
    assert plan_ui_asset(asset_type, "x", image_model="gpt-image-2").size == size


@pytest.mark.parametrize("asset_type", ["icon", "logo", "button", "avatar"])
def test_small_assets_default_to_transparent(asset_type: presets.UIAssetType) -> None:
    plan = plan_ui_asset(asset_type, "a paper plane", theme="dark", image_model="gpt-image-1.5")
    assert (plan.background, plan.output_format) == ("transparent", "png")
    assert "on a fully transparent background" in plan.prompt
    assert "checker" not in plan.prompt.lower()
    assert "dark UI surfaces" in plan.prompt


@pytest.mark.parametrize("asset_type", ["background", "hero", "banner", "illustration"])
def test_large_assets_are_opaque(asset_type: presets.UIAssetType) -> None:
    plan = plan_ui_asset(asset_type, "mountains at dawn", image_model="gpt-image-2")
    assert plan.background == "opaque"
    assert "transparent" not in plan.prompt


def test_hero_is_wide_on_new_models_only() -> None:
    new = plan_ui_asset("hero", "a team collaborating", image_model="gpt-image-2")
    old = plan_ui_asset("hero", "a team collaborating", image_model="gpt-image-1.5")
    assert (new.size, new.background) == ("2048x1152", "opaque")
    assert "16:9 landscape canvas" in new.prompt and "3:2 landscape canvas" in old.prompt
    assert (old.size, old.background) == ("1536x1024", "opaque")
    assert "negative space" in new.prompt and "left or right" in new.prompt and "no text" in new.prompt
    tall = plan_ui_asset("hero", "a team collaborating", size_preset="tall", image_model="gpt-image-2")
    assert tall.size == "1152x2048" and "above or below" in tall.prompt


def test_explicit_background_overrides_the_default() -> None:
    icon = plan_ui_asset("icon", "a bell", image_model="gpt-image-2", background="opaque")
    assert icon.background == "opaque" and "fully transparent" not in icon.prompt
    hero = plan_ui_asset("hero", "a rocket", image_model="gpt-image-2", background="transparent")
    assert hero.background == "transparent" and "on a fully transparent background" in hero.prompt
    auto = plan_ui_asset("logo", "a fox", image_model="gpt-image-2", background="auto")
    assert auto.background == "auto" and "Background:" not in auto.prompt


def test_ui_prompt_is_a_designers_brief() -> None:
    plan = plan_ui_asset(
        "icon", "  a shield with a check mark ", theme="dark", style_preset="glassmorphism", image_model="gpt-image-2"
    )
    prompt = plan.prompt
    assert "Subject: a shield with a check mark\n" in prompt
    assert "App icon" in prompt and "32 px" in prompt and "no text" in prompt
    assert "frosted translucent glass" in prompt
    assert "deep backgrounds" in prompt and "light foreground" in prompt
    assert "No watermark, no mockup frame, no device frame." in prompt
    assert "Consistency:" in prompt
    logo = plan_ui_asset("logo", "a fox", style_preset="line_art", theme="light", image_model="gpt-image-2").prompt
    assert "vector-like mark" in logo and "monoline" in logo and "airy, light backgrounds" in logo


def test_every_theme_and_style_yields_a_distinct_prompt() -> None:
    prompts = [
        plan_ui_asset("illustration", "a cat", theme=theme, style_preset=style, image_model="gpt-image-2").prompt
        for theme, style in itertools.product(UI_THEMES, UI_STYLES)
    ]
    assert len(set(prompts)) == len(UI_THEMES) * len(UI_STYLES)
    assert not any("checker" in prompt.lower() for prompt in prompts)
