"""The price table and its arithmetic (service/pricing.py): costs from usage, unknown prices, the override
file, and worst-case estimates that are never below what the fake bills for the same request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openai_image_mcp.core import errors
from openai_image_mcp.service.pricing import (
    INPUT_IMAGE_TOKENS,
    PARTIAL_IMAGE_TOKENS,
    Cost,
    Prices,
    PriceTable,
    cost_of,
    estimate,
    output_tokens,
)
from tests.support.fake_bill import price, price_table
from tests.support.fake_openai.parsing import _image_input_tokens, _image_output_tokens, _resolve_quality, _text_tokens

TABLE = PriceTable.load()
SIZES = ["auto", "1024x1024", "1536x1024", "1024x1536", "2048x2048", "3840x2160", "2160x3840", "4096x4096", "512x512"]
QUALITIES = ["auto", "low", "medium", "high"]


def test_the_packaged_table_loads_with_its_date() -> None:
    assert TABLE.checked == "2026-11-30"
    assert TABLE.get("gpt-image-2") == Prices(5.0, 1.25, 8.0, 2.0, 30.0, 10.0)
    assert TABLE.get("gpt-5.4-mini") == Prices(text_input=0.75, cached_text_input=0.075, text_output=4.5)
    assert TABLE.get("gpt-6-astra") is None  # null in the table: known to have no price
    assert TABLE.get("gpt-image-2.6-flare") is None  # missing from the table
    assert set(TABLE.models) == set(price_table())


def test_cost_of_a_responses_call_is_mainline_plus_image_tool_tokens() -> None:
    usage = {
        "mainline": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 200}, "output_tokens": 80},
        "image_generation": {
            "input_tokens": 900,
            "input_tokens_details": {"text_tokens": 135, "image_tokens": 765},
            "output_tokens": 4160,
            "output_tokens_details": {"image_tokens": 4160, "text_tokens": 0},
        },
    }
    cost = cost_of(TABLE, usage, mainline_model="gpt-5.4-mini", image_model="gpt-image-2")
    by_hand = (1000 * 0.75 + 200 * 0.075 + 80 * 4.5 + 135 * 5.0 + 765 * 8.0 + 4160 * 30.0) / 1e6
    assert cost.usd == pytest.approx(by_hand, rel=1e-12)
    assert cost.unpriced == () and cost.prices_checked == "2026-11-30"
    assert cost.tokens == {
        "image_text_input": 135, "image_cached_text_input": 0, "image_input": 765, "image_cached_input": 0,
        "image_output": 4160, "image_text_output": 0, "mainline_input": 1000, "mainline_cached_input": 200,
        "mainline_output": 80,
    }  # fmt: skip
    uncached = {**usage, "mainline": {"input_tokens": 1200, "output_tokens": 80}}
    assert price(uncached, image_model="gpt-image-2", mainline_model="gpt-5.4-mini", prices=price_table()) == (
        pytest.approx(cost_of(TABLE, uncached, mainline_model="gpt-5.4-mini", image_model="gpt-image-2").usd)
    )


def test_cost_of_cached_and_text_output_image_tokens() -> None:
    usage = {
        "image_generation": {
            "input_tokens": 1000,
            "input_tokens_details": {"text_tokens": 300, "image_tokens": 700},
            "cached_tokens_details": {"text_tokens": 100, "image_tokens": 200},
            "output_tokens": 1100,
            "output_tokens_details": {"image_tokens": 1056, "text_tokens": 44},
        }
    }
    cost = cost_of(TABLE, usage, mainline_model=None, image_model="gpt-image-2")
    by_hand = (200 * 5.0 + 100 * 1.25 + 500 * 8.0 + 200 * 2.0 + 1056 * 30.0 + 44 * 10.0) / 1e6
    assert cost.usd == pytest.approx(by_hand, rel=1e-12)
    # without a cached price the cached tokens cost the full price (gpt-image-1-mini has no text_output: 0)
    table = PriceTable("x", {"m": Prices(text_input=2.0, image_input=3.0, image_output=4.0)})
    cost = cost_of(table, usage, mainline_model=None, image_model="m")
    assert cost.usd == pytest.approx((300 * 2.0 + 700 * 3.0 + 1056 * 4.0) / 1e6, rel=1e-12)
    # an Images API usage without input details: all input is text; a bare cached_tokens counts as cached text
    bare = {"image_generation": {"input_tokens": 50, "cached_tokens": 20, "output_tokens": 272}}
    cost = cost_of(TABLE, bare, mainline_model=None, image_model="gpt-image-2")
    assert cost.usd == pytest.approx((30 * 5.0 + 20 * 1.25 + 272 * 30.0) / 1e6, rel=1e-12)


@pytest.mark.parametrize(
    ("image_model", "mainline_model", "unpriced"),
    [
        ("gpt-image-2.6-flare", "gpt-5.4-mini", ("gpt-image-2.6-flare",)),
        ("gpt-image-2", "gpt-6-astra", ("gpt-6-astra",)),
        ("chatgpt-image-latest", "gpt-6-astra", ("chatgpt-image-latest", "gpt-6-astra")),
    ],
)
def test_a_model_without_a_price_costs_unknown_not_zero(image_model: str, mainline_model: str, unpriced: tuple) -> None:
    usage = {
        "mainline": {"input_tokens": 10, "output_tokens": 10},
        "image_generation": {"input_tokens": 10, "output_tokens": 272},
    }
    cost = cost_of(TABLE, usage, mainline_model=mainline_model, image_model=image_model)
    assert cost.usd is None and cost.unpriced == unpriced
    assert cost.tokens["image_output"] == 272
    assert cost.as_dict()["usd"] is None and cost.as_dict()["unpriced_models"] == list(unpriced)


def test_cost_as_dict_rounds_to_a_millionth_of_a_dollar() -> None:
    assert Cost(0.12345678, "d").as_dict() == {"usd": 0.123457, "currency": "USD", "prices_checked": "d", "tokens": {}}


def test_the_override_file_replaces_adds_and_unprices(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "checked": "2027-02-01",
                "models": {
                    "gpt-image-2": {"text_input": 1, "image_input": 2, "image_output": 3},
                    "gpt-image-2.6-flare": {"image_output": 50},
                    "gpt-5.4-mini": None,
                },
            }
        )
    )
    table = PriceTable.load(path)
    assert table.checked == "2027-02-01"
    assert table.get("gpt-image-2") == Prices(text_input=1.0, image_input=2.0, image_output=3.0)
    assert table.get("gpt-image-2.6-flare") == Prices(image_output=50.0)
    assert table.get("gpt-5.4-mini") is None
    assert table.get("gpt-image-1") == TABLE.get("gpt-image-1")  # untouched models stay
    path.write_text(json.dumps({"models": {}}))
    assert PriceTable.load(path).checked == TABLE.checked  # no date: the packaged one


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "Cannot read OPENAI_IMAGE_MCP_PRICES_FILE"),
        ('{"models": {"gpt-image-2": {"image_output": null}}}', "'gpt-image-2' are not valid"),
        ('{"models": {"gpt-image-2": {"output": 30}}}', "'gpt-image-2' are not valid"),
    ],
)
def test_a_malformed_override_names_the_file(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(errors.NotConfigured) as caught:
        PriceTable.load(path)
    assert says in caught.value.message and str(path) in caught.value.message


# -- worst cases ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("quality", QUALITIES)
def test_worst_case_output_tokens_cover_what_the_fake_bills(quality: str, size: str) -> None:
    width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
    assert output_tokens(quality, size) >= _image_output_tokens(_resolve_quality(quality), width, height)


def test_auto_quality_and_size_are_priced_at_their_largest() -> None:
    assert output_tokens("auto", "1024x1024") == output_tokens("high", "1024x1024")
    assert output_tokens("high", "auto") == output_tokens("high", "1536x1024")
    assert output_tokens("low", "1024x1024") == 272  # the gpt-image-1 table; the gpt-image-2 rule gives less


@pytest.mark.parametrize("size", [(512, 512), (1024, 1024), (1536, 1024), (2048, 2048), (3072, 3072)])
def test_one_input_images_allowance_covers_the_fakes_tokens_up_to_3072_pixels(size: tuple[int, int]) -> None:
    assert _image_input_tokens(size) <= INPUT_IMAGE_TOKENS


@pytest.mark.parametrize("prompt", ["", "a fox", "x" * 4_000, "ü" * 999])
@pytest.mark.parametrize(("n", "partials", "inputs"), [(1, 0, 0), (1, 2, 0), (3, 3, 0), (1, 2, 4)])
def test_an_images_api_estimate_covers_the_fakes_bill(prompt: str, n: int, partials: int, inputs: int) -> None:
    """For the same request (quality low: no slack in the output tokens), the estimate is at least the fake's bill."""
    worst = estimate(
        TABLE, image_model="gpt-image-2", mainline_model=None, quality="low", size="1024x1024", n=n,
        partial_images=partials, input_images=inputs, prompt_chars=len(prompt),
    )  # fmt: skip
    out = _image_output_tokens("low", 1024, 1024) * n + 100 * partials * n
    billed = {
        "image_generation": {
            "input_tokens_details": {"text_tokens": _text_tokens(prompt or "x"), "image_tokens": 765 * inputs},
            "output_tokens": out,
        }
    }
    expected = price(billed, image_model="gpt-image-2", mainline_model=None, prices=price_table())
    assert worst.usd is not None and expected is not None
    assert worst.usd >= expected
    assert worst.tokens["image_output"] == (272 + PARTIAL_IMAGE_TOKENS * partials) * n


def test_an_estimate_adds_the_mainline_allowance_and_is_unknown_for_an_unpriced_model() -> None:
    base = dict(quality="high", size="1024x1024")
    images_api = estimate(TABLE, image_model="gpt-image-2", mainline_model=None, **base)
    responses = estimate(TABLE, image_model="gpt-image-2", mainline_model="gpt-5.4-mini", **base)
    assert responses.usd is not None and images_api.usd is not None
    assert responses.usd - images_api.usd == pytest.approx((20_000 * 0.75 + 2_000 * 4.5) / 1e6)
    unknown = estimate(TABLE, image_model="gpt-image-2.6-flare", mainline_model=None, **base)
    assert unknown.usd is None and unknown.unpriced == ("gpt-image-2.6-flare",)
