"""Preset choices turned into photographer / designer briefs and valid OpenAI parameters (pure, no I/O).

Two tools use this: ``generate_product_image`` (:func:`plan_product`) and ``generate_ui_asset``
(:func:`plan_ui_asset`). Every size returned is one the chosen image model accepts, so the plans pass
:func:`openai_image_mcp.service.options.check_options` as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast, get_args

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import Size

ProductBackground = Literal["white", "transparent", "studio", "lifestyle", "gradient", "outdoor"]
ProductAngle = Literal["front", "three_quarter", "side", "top_down", "back", "close_up"]
ProductLighting = Literal["studio", "soft", "natural", "dramatic", "golden_hour", "backlit"]
UIAssetType = Literal["icon", "illustration", "background", "hero", "logo", "button", "banner", "avatar"]
UITheme = Literal["light", "dark", "neutral", "colorful"]
UIStyle = Literal[
    "flat",
    "material",
    "glassmorphism",
    "neumorphism",
    "minimal",
    "isometric",
    "3d",
    "hand_drawn",
    "line_art",
    "gradient",
]
UISizePreset = Literal["auto", "square", "landscape", "portrait", "wide", "tall"]
PlanBackground = Literal["transparent", "opaque", "auto"]

# The original server's argument values, accepted as aliases of ours (README, "Tools").
THEME_ALIASES: dict[str, UITheme] = {
    "modern": "light",
    "classic": "neutral",
    "minimal": "neutral",
    "playful": "colorful",
}
STYLE_ALIASES: dict[str, UIStyle] = {"outline": "line_art", "filled": "flat"}
SIZE_ALIASES: dict[str, str] = {"small": "square", "standard": "auto", "large": "large"}
ANGLE_ALIASES: dict[str, ProductAngle] = {"three-quarter": "three_quarter", "top": "top_down"}
ProductAngleArg = Literal[ProductAngle, "three-quarter", "top"]
UIThemeArg = Literal[UITheme, "modern", "classic", "minimal", "playful"]
UIStyleArg = Literal[UIStyle, "outline", "filled"]
UISizePresetArg = Literal[UISizePreset, "small", "standard", "large"]

PRODUCT_BACKGROUNDS: tuple[ProductBackground, ...] = get_args(ProductBackground)
PRODUCT_ANGLES: tuple[ProductAngle, ...] = get_args(ProductAngle)
PRODUCT_LIGHTING: tuple[ProductLighting, ...] = get_args(ProductLighting)
UI_ASSET_TYPES: tuple[UIAssetType, ...] = get_args(UIAssetType)
UI_THEMES: tuple[UITheme, ...] = get_args(UITheme)
UI_STYLES: tuple[UIStyle, ...] = get_args(UIStyle)
UI_SIZE_PRESETS: tuple[UISizePreset, ...] = get_args(UISizePreset)
PLAN_BACKGROUNDS: tuple[PlanBackground, ...] = get_args(PlanBackground)

MAX_PRODUCT_BATCH = 3


class InvalidPreset(errors.InvalidInput, ValueError):
    """A preset argument out of range: a ``ValueError`` that tools also report as ``invalid_input``."""


@dataclass(frozen=True, slots=True)
class ProductPlan:
    prompts: tuple[str, ...]  # one per image; they differ slightly when there are several
    background: PlanBackground
    output_format: Literal["png", "webp", "jpeg"]
    size: Size


@dataclass(frozen=True, slots=True)
class UIPlan:
    prompt: str
    size: Size
    background: PlanBackground
    output_format: Literal["png", "webp"]


# --- product photography ---------------------------------------------------------------------------

_ANGLES: dict[ProductAngle, str] = {
    "front": "straight-on front view at product height, the product facing the camera squarely",
    "three_quarter": "three-quarter view, camera about 45 degrees off the front and slightly above, "
    "showing the front and one side",
    "side": "side profile view at product height, showing the product's full silhouette from the side",
    "top_down": "top-down flat-lay view, camera directly overhead looking straight down",
    "back": "rear view showing the back of the product, camera at product height",
    "close_up": "close-up macro detail shot, the product filling the frame to show texture, materials and finish",
}

_LIGHTING: dict[ProductLighting, str] = {
    "studio": "professional studio lighting: large softbox key light, fill light and a subtle rim light, "
    "even exposure with controlled highlights",
    "soft": "soft, diffused lighting with gentle wrap-around light, soft shadows and low contrast",
    "natural": "natural daylight from a large window, soft directional light with true-to-life colours",
    "dramatic": "dramatic low-key lighting: a single hard key light, deep shadows and strong contrast "
    "that sculpts the product's form",
    "golden_hour": "warm golden hour sunlight from a low sun angle, long soft shadows and a warm glow",
    "backlit": "backlit: a strong light behind the product drawing a glowing rim along its edges, "
    "with subtle front fill so details stay visible",
}

_BACKDROPS: dict[ProductBackground, str] = {
    "white": "seamless pure white (#FFFFFF) background with a soft, natural contact shadow beneath the product",
    "transparent": "isolated product on a fully transparent background, no backdrop, no floor, "
    "no shadow on a surface, clean edges",
    "studio": "seamless neutral grey studio sweep with a soft floor shadow",
    "lifestyle": "a realistic, tasteful lifestyle setting that suits the product, few props kept "
    "out of focus so the product stays the hero",
    "gradient": "smooth, subtle colour-gradient backdrop that complements the product's colours",
    "outdoor": "a natural outdoor setting that suits the product, background softly blurred "
    "with shallow depth of field",
}

_BATCH_VARIATIONS = (
    "Shot {n} of {total}: product centred with balanced negative space around it.",
    "Shot {n} of {total}: camera shifted slightly to the left and a touch lower; product placed slightly "
    "off-centre following the rule of thirds.",
    "Shot {n} of {total}: slightly tighter framing with the camera a little higher, emphasising surface "
    "detail and material.",
)


def plan_product(
    product_description: str,
    *,
    background_type: ProductBackground = "white",
    angle: ProductAngleArg = "three_quarter",
    lighting: ProductLighting = "studio",
    batch_count: int = 1,
) -> ProductPlan:
    """A product photographer's brief per image, plus the parameters for OpenAI."""
    product = _text(product_description, "product_description")
    view = cast(ProductAngle, ANGLE_ALIASES.get(angle, angle))
    _choice(background_type, PRODUCT_BACKGROUNDS, "background_type")
    _choice(view, PRODUCT_ANGLES, "angle")
    _choice(lighting, PRODUCT_LIGHTING, "lighting")
    if isinstance(batch_count, bool) or not 1 <= batch_count <= MAX_PRODUCT_BATCH:
        raise InvalidPreset(f"batch_count must be 1 to {MAX_PRODUCT_BATCH}, got {batch_count!r}.")

    base = [
        "Professional product photograph for an online store.",
        f"Product: {product}",
        f"Camera: {_ANGLES[view]}.",
        f"Lighting: {_LIGHTING[lighting]}.",
        f"Background: {_BACKDROPS[background_type]}.",
    ]
    closing = (
        "Commercial e-commerce quality: tack-sharp focus across the product, accurate colours, materials and "
        "proportions, faithful to the description. Do not add any text, labels, extra logos or watermark."
    )
    if batch_count == 1:
        prompts: tuple[str, ...] = ("\n".join([*base, closing]),)
    else:
        consistency = "Keep the same product, angle, lighting and background as the rest of the set."
        prompts = tuple(
            "\n".join([*base, _BATCH_VARIATIONS[i].format(n=i + 1, total=batch_count), consistency, closing])
            for i in range(batch_count)
        )
    return ProductPlan(
        prompts=prompts,
        background="transparent" if background_type == "transparent" else "opaque",
        output_format="png",
        size="1536x1024" if background_type in ("lifestyle", "outdoor") else "1024x1024",
    )


# --- UI assets -------------------------------------------------------------------------------------

_PURPOSES: dict[UIAssetType, str] = {
    "icon": "App icon: a single centred glyph with a simple, bold silhouette that stays readable at 32 px, "
    "even padding around it; no text or letters unless the description asks for them.",
    "illustration": "Spot illustration for an app or website: one clear focal subject, a simple readable "
    "composition and a limited palette; no text.",
    "background": "Background image for an app or web page: low-detail, low-contrast and evenly balanced with "
    "no strong focal point, so UI content placed on top stays readable; no text.",
    "hero": "Website hero image: {space}; no text, no buttons, no UI elements in the image.",
    "logo": "Logo mark: a simple, distinctive vector-like mark built from clean shapes with flat fills and crisp "
    "edges, centred with even padding, that still works in one colour and at small sizes; no text unless the "
    "description asks for a wordmark.",
    "button": "UI button graphic: a single button shape, centred, with crisp edges and a clear, tappable look; "
    "include a label only if the description gives one, spelled exactly.",
    "banner": "Web banner: {space}, room for a headline and a call to action; no text.",
    "avatar": "Avatar / profile picture: a single centred subject in head-and-shoulders or emblem framing that "
    "still reads well when cropped to a circle; no text.",
}

_STYLES: dict[UIStyle, str] = {
    "flat": "flat design: solid colour fills, no gradients or textures, no or minimal shadows, simple geometric shapes",
    "material": "Material Design: bold solid colours, subtle layered elevation shadows, geometric shapes, "
    "clean and tactile",
    "glassmorphism": "glassmorphism: frosted translucent glass panels with background blur, thin light borders, "
    "subtle specular highlights and vivid soft colour showing through",
    "neumorphism": "neumorphism: soft extruded shapes in the same colour as their surface, paired light and dark "
    "soft shadows, low contrast, rounded forms",
    "minimal": "minimalist: very few elements, generous whitespace, one or two restrained accent colours, "
    "thin precise shapes",
    "isometric": "isometric illustration: 30-degree isometric projection, clean geometric forms, consistent "
    "light from the top left, no perspective distortion",
    "3d": "3D render: soft rounded clay-like forms, smooth matte materials, soft global illumination and gentle "
    "ambient-occlusion shadows",
    "hand_drawn": "hand-drawn: organic, slightly imperfect ink or pencil lines with marker or watercolour "
    "textured fills, friendly and personal",
    "line_art": "line art: clean monoline strokes of uniform weight with rounded caps, no fills or only minimal "
    "flat accents",
    "gradient": "gradient style: smooth, vibrant colour gradients blending two or three hues, modern and luminous",
}

_THEMES: dict[UITheme, tuple[str, str]] = {  # (palette, the surfaces a transparent asset will sit on)
    "light": (
        "light theme: airy, light backgrounds and surfaces (white, off-white, pale grey) with mid-to-dark "
        "foreground elements and one or two clear accent colours",
        "light UI surfaces",
    ),
    "dark": (
        "dark theme: deep backgrounds (near-black, charcoal, deep navy) with light foreground elements and "
        "luminous accent colours",
        "dark UI surfaces",
    ),
    "neutral": (
        "neutral palette: greys, warm beiges and muted earth tones with restrained, desaturated accents",
        "both light and dark UI surfaces",
    ),
    "colorful": (
        "colourful palette: bright, saturated, harmonious colours with playful accents, still cohesive",
        "both light and dark UI surfaces",
    ),
}

_TRANSPARENT_BY_DEFAULT: frozenset[UIAssetType] = frozenset({"icon", "logo", "button", "avatar"})
_AUTO_PRESET: dict[UIAssetType, UISizePreset] = {
    **dict.fromkeys(_TRANSPARENT_BY_DEFAULT, "square"),
    **dict.fromkeys(("illustration", "background"), "landscape"),
    **dict.fromkeys(("hero", "banner"), "wide"),
}
_PRESET_SIZES: dict[UISizePreset, tuple[Size, Size]] = {  # (gpt-image-2 or newer, older models)
    "square": ("1024x1024", "1024x1024"),
    "landscape": ("1536x1024", "1536x1024"),
    "portrait": ("1024x1536", "1024x1536"),
    "wide": ("2048x1152", "1536x1024"),
    "tall": ("1152x2048", "1024x1536"),
}


def supports_large_sizes(image_model: str) -> bool:
    """Sizes above 1536 px need gpt-image-2 or newer (not ``gpt-image-1*`` nor ``dall-e*``)."""
    return not image_model.strip().lower().startswith(("gpt-image-1", "dall-e"))


def ui_size(asset_type: UIAssetType, size_preset: UISizePreset, image_model: str) -> Size:
    """The concrete size for a preset, never larger than ``image_model`` accepts."""
    preset = _AUTO_PRESET[asset_type] if size_preset == "auto" else size_preset
    large, base = _PRESET_SIZES[preset]
    return large if supports_large_sizes(image_model) else base


def large_size(asset_type: UIAssetType, image_model: str) -> Size:
    """The original's ``large``: the asset's usual shape at the largest common size the model takes."""
    preset = _AUTO_PRESET[asset_type]
    if preset == "square":
        return "2048x2048" if supports_large_sizes(image_model) else "1024x1024"
    return ui_size(asset_type, preset, image_model)


def plan_ui_asset(
    asset_type: UIAssetType,
    description: str,
    *,
    theme: UIThemeArg = "light",
    style_preset: UIStyleArg = "flat",
    size_preset: UISizePresetArg = "auto",
    image_model: str,
    background: PlanBackground | None = None,
) -> UIPlan:
    """A UI designer's brief for one asset, plus the parameters for OpenAI."""
    subject = _text(description, "description")
    theme_name = cast(UITheme, THEME_ALIASES.get(theme, theme))
    style = cast(UIStyle, STYLE_ALIASES.get(style_preset, style_preset))
    large = size_preset == "large"
    preset = cast(UISizePreset, SIZE_ALIASES.get(size_preset, size_preset))
    _choice(theme_name, UI_THEMES, "theme")
    _choice(style, UI_STYLES, "style_preset")
    if not large:
        _choice(preset, UI_SIZE_PRESETS, "size_preset")
    if background is not None:
        _choice(background, PLAN_BACKGROUNDS, "background")

    if background is None:
        background = "transparent" if asset_type in _TRANSPARENT_BY_DEFAULT else "opaque"
    size = large_size(asset_type, image_model) if large else ui_size(asset_type, preset, image_model)
    width, height = (int(side) for side in size.split("x"))
    ratio = math.gcd(width, height)
    orientation = "square" if width == height else "portrait" if height > width else "landscape"
    space = (
        "a tall composition with the subject at the top or bottom and generous negative space above or below it"
        if height > width
        else "a wide composition with the subject on one side and generous negative space on the left or right "
        "for headline text"
    )
    palette, surfaces = _THEMES[theme_name]
    lines = [
        _PURPOSES[asset_type].format(space=space),
        f"Subject: {subject}",
        f"Style: {_STYLES[style]}.",
        f"Palette: {palette}.",
    ]
    if background == "transparent":
        lines.append(
            f"Background: on a fully transparent background - only the {asset_type} itself, no backdrop, no scene, "
            f"no shadow cast onto a surface, clean anti-aliased edges; colours chosen to read well on {surfaces}."
        )
    elif background == "opaque":
        lines.append("Background: fully opaque, filling the entire canvas edge to edge in the theme's palette.")
    lines += [
        f"Composition framed for a {width // ratio}:{height // ratio} {orientation} canvas.",
        "Consistency: uniform stroke weights, corner radii, lighting direction and palette throughout, so the asset "
        "fits a cohesive design system.",
        "Crisp, clean, production-ready UI asset. No watermark, no mockup frame, no device frame.",
    ]
    return UIPlan(prompt="\n".join(lines), size=size, background=background, output_format="png")


def _text(value: str, name: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidPreset(f"{name} must be a non-empty string.")
    return text


def _choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise InvalidPreset(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
