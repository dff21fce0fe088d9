"""What a call costs: OpenAI's token usage times the price table, in US dollars.

The table (``prices.json`` in the package, with the date it was checked) gives, per model and per 1M
tokens, the price of text input, cached text input, image input, cached image input, image output and
text output. ``OPENAI_IMAGE_MCP_PRICES_FILE`` replaces or adds models (same format) when OpenAI changes
prices or a proxy bills differently. A model missing from the table (or ``null`` in it) costs
*unknown*, never zero.

:func:`cost_of` prices a call from the ``usage`` it returned (the mainline model's tokens and the image
tool's tokens, partial images included); :func:`estimate` prices one before it is made, at its worst
case (quality, size, partial images, number of images, input images), for the budget check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from openai_image_mcp.core import errors

PER = 1_000_000
#: Worst-case tokens of the mainline model around one image call (instructions, chained context, reply).
MAINLINE_INPUT_ALLOWANCE = 20_000
MAINLINE_OUTPUT_ALLOWANCE = 2_000
#: Output tokens of one partial image, and the worst case of one input image.
PARTIAL_IMAGE_TOKENS = 100
INPUT_IMAGE_TOKENS = 6_500
#: The largest size "auto" may choose.
AUTO_SIZE = (1536, 1024)
_QUALITY_FACTOR = {"low": 16, "medium": 48, "high": 96, "xhigh": 192, "max": 384}
#: gpt-image-1 / 1.5 output tokens for a 1024x1024 image, by quality (scaled by area for other sizes).
_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}


@dataclass(frozen=True, slots=True)
class Prices:
    text_input: float = 0.0
    cached_text_input: float | None = None
    image_input: float = 0.0
    cached_image_input: float | None = None
    image_output: float = 0.0
    text_output: float = 0.0


@dataclass(frozen=True, slots=True)
class PriceTable:
    checked: str
    models: dict[str, Prices | None]

    def get(self, model: str) -> Prices | None:
        return self.models.get(model)

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        base = json.loads(files("openai_image_mcp").joinpath("prices.json").read_text(encoding="utf-8"))
        checked, models = str(base["checked"]), _models(base["models"], "prices.json")
        if override is not None:
            try:
                extra = json.loads(override.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise errors.NotConfigured(f"Cannot read OPENAI_IMAGE_MCP_PRICES_FILE {override}: {exc}") from exc
            if not isinstance(extra, dict) or not isinstance(extra.get("models", {}), dict):
                raise errors.NotConfigured(
                    f'OPENAI_IMAGE_MCP_PRICES_FILE {override} must be a JSON object with a "models" object '
                    "(model name -> prices per 1M tokens), like the packaged prices.json."
                )
            models.update(_models(extra.get("models", {}), str(override)))
            checked = str(extra.get("checked", checked))
        return cls(checked, models)


def _models(raw: dict[str, Any], source: str) -> dict[str, Prices | None]:
    out: dict[str, Prices | None] = {}
    for name, entry in raw.items():
        if entry is None:
            out[name] = None
            continue
        if not isinstance(entry, dict):
            raise errors.NotConfigured(f"{source}: the prices of {name!r} must be an object of numbers, or null.")
        try:
            out[name] = Prices(**{k: float(v) for k, v in entry.items()})
        except (TypeError, ValueError) as exc:
            raise errors.NotConfigured(f"{source}: the prices of {name!r} are not valid: {exc}") from exc
    return out


@dataclass(frozen=True, slots=True)
class Cost:
    """Dollars, or ``None`` when a model of the call has no price."""

    usd: float | None
    prices_checked: str
    unpriced: tuple[str, ...] = ()
    tokens: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "usd": None if self.usd is None else round(self.usd, 6),
            "currency": "USD",
            "prices_checked": self.prices_checked,
            **({"unpriced_models": list(self.unpriced)} if self.unpriced else {}),
            "tokens": self.tokens,
        }


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def image_tokens(usage: dict[str, Any]) -> dict[str, int]:
    """Tokens of an image call by kind, from an Images API ``usage`` or a Responses ``tool_usage.image_gen``."""
    details = usage.get("input_tokens_details") or {}
    out_details = usage.get("output_tokens_details") or {}
    image_in = _int(details.get("image_tokens"))
    text_in = (
        _int(details.get("text_tokens")) if "text_tokens" in details else _int(usage.get("input_tokens")) - image_in
    )
    cached = usage.get("cached_tokens_details") or {}
    cached_text = _int(cached.get("text_tokens"))
    cached_image = _int(cached.get("image_tokens"))
    if not cached and _int(usage.get("cached_tokens")):
        cached_text = min(text_in, _int(usage.get("cached_tokens")))
    output = _int(usage.get("output_tokens"))
    text_out = _int(out_details.get("text_tokens"))
    return {
        "image_text_input": max(0, text_in - cached_text),
        "image_cached_text_input": cached_text,
        "image_input": max(0, image_in - cached_image),
        "image_cached_input": cached_image,
        "image_output": max(0, output - text_out),
        "image_text_output": text_out,
    }


def mainline_tokens(usage: dict[str, Any]) -> dict[str, int]:
    cached = _int((usage.get("input_tokens_details") or {}).get("cached_tokens"))
    return {
        "mainline_input": max(0, _int(usage.get("input_tokens")) - cached),
        "mainline_cached_input": cached,
        "mainline_output": _int(usage.get("output_tokens")),
    }


def cost_of(table: PriceTable, usage: dict[str, Any], *, mainline_model: str | None, image_model: str) -> Cost:
    """The cost of one OpenAI call from its ``usage`` (``{"mainline": ..., "image_generation": ...}``)."""
    tokens: dict[str, int] = {}
    usd = 0.0
    unpriced: list[str] = []
    image_usage = usage.get("image_generation") or {}
    if image_usage:
        t = image_tokens(image_usage)
        tokens.update(t)
        p = table.get(image_model)
        if p is None:
            unpriced.append(image_model)
        else:
            usd += (
                t["image_text_input"] * p.text_input
                + t["image_cached_text_input"]
                * (p.cached_text_input if p.cached_text_input is not None else p.text_input)
                + t["image_input"] * p.image_input
                + t["image_cached_input"]
                * (p.cached_image_input if p.cached_image_input is not None else p.image_input)
                + t["image_output"] * p.image_output
                + t["image_text_output"] * p.text_output
            ) / PER
    main_usage = usage.get("mainline") or {}
    if mainline_model and main_usage:
        t = mainline_tokens(main_usage)
        tokens.update(t)
        p = table.get(mainline_model)
        if p is None:
            unpriced.append(mainline_model)
        else:
            cached_rate = p.cached_text_input if p.cached_text_input is not None else p.text_input
            usd += (
                t["mainline_input"] * p.text_input + t["mainline_cached_input"] * cached_rate
                + t["mainline_output"] * p.text_output
            ) / PER  # fmt: skip
    return Cost(None if unpriced else usd, table.checked, tuple(unpriced), tokens)


def output_tokens(quality: str, size: str) -> int:
    """Worst-case output tokens of one image: the larger of the gpt-image-1/1.5 table and the gpt-image-2 rule."""
    q = quality if quality in _QUALITY_FACTOR else "high"  # auto may choose high
    if "x" in size:
        w, _, h = size.partition("x")
        width, height = int(w), int(h)
    else:
        width, height = AUTO_SIZE
    area = width * height
    by_table = math.ceil(_TOKENS_1024[q] * area / (1024 * 1024))
    f = _QUALITY_FACTOR[q]
    short, long_ = sorted((width, height))
    saf = (2 * f * short + long_) // (2 * long_)
    by_rule = math.ceil(f * saf * (2_000_000 + area) / 4_000_000)
    return max(by_table, by_rule)


def estimate(
    table: PriceTable,
    *,
    image_model: str,
    mainline_model: str | None,
    quality: str,
    size: str,
    n: int = 1,
    partial_images: int = 0,
    input_images: int = 0,
    prompt_chars: int = 0,
) -> Cost:
    """The worst-case cost of a call before it is made."""
    out = (output_tokens(quality, size) + PARTIAL_IMAGE_TOKENS * partial_images) * n
    usage: dict[str, Any] = {
        "image_generation": {
            "input_tokens": prompt_chars // 3 + 200 + INPUT_IMAGE_TOKENS * input_images,
            "input_tokens_details": {
                "text_tokens": prompt_chars // 3 + 200,
                "image_tokens": INPUT_IMAGE_TOKENS * input_images,
            },
            "output_tokens": out,
        }
    }
    if mainline_model:
        usage["mainline"] = {"input_tokens": MAINLINE_INPUT_ALLOWANCE, "output_tokens": MAINLINE_OUTPUT_ALLOWANCE}
    return cost_of(table, usage, mainline_model=mainline_model, image_model=image_model)
