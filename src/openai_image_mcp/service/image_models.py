"""What each OpenAI image model accepts, and when it shuts down.

OpenAI retires image models often (DALL·E on 2026-05-12, gpt-image-1 on 2026-10-23, gpt-image-1-mini,
gpt-image-1.5 and chatgpt-image-latest on 2026-12-01). A request naming a model that has shut down fails
before any call with ``model_retired``, naming the replacement; a model with an announced shutdown is
warned about. ``GET /v1/models`` (its ``shutdown_date``) refreshes the dates at run time when reachable
(:meth:`ModelCatalog.refresh`). Models not in the table are allowed (model names are never an allow-list).

Custom sizes (gpt-image-2 and newer): both edges multiples of 16, the long edge at most 3840, the ratio
at most 3:1, and 655,360 to 8,294,400 pixels; an invalid size is refused with the nearest valid one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from openai_image_mcp.core import errors

log = logging.getLogger(__name__)

BASE_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
MIN_PIXELS, MAX_PIXELS, MAX_EDGE, MAX_RATIO = 655_360, 8_294_400, 3840, 3.0


@dataclass(frozen=True, slots=True)
class ImageModel:
    name: str
    custom_sizes: bool  # any WxH by the rules above, beside the base sizes
    qualities: tuple[str, ...]
    transparency: bool
    input_fidelity: tuple[str, ...]  # values accepted; () = the parameter must be left out
    partial_images: bool = True
    shutdown: date | None = None
    replacement: str | None = None


_GPT2 = ("auto", "low", "medium", "high")
_GPT25 = (*_GPT2, "xhigh", "max")
_REPLACE = "gpt-image-2.6-sunburst"


def _m(name: str, **kw: object) -> ImageModel:
    base: dict[str, object] = {
        "custom_sizes": True, "qualities": _GPT2, "transparency": True, "input_fidelity": (),
    }  # fmt: skip
    base.update(kw)
    return ImageModel(name=name, **base)  # type: ignore[arg-type]


KNOWN: dict[str, ImageModel] = {
    m.name: m
    for m in (
        _m("dall-e-2", custom_sizes=False, transparency=False, partial_images=False, shutdown=date(2026, 5, 12),
           replacement=_REPLACE),
        _m("dall-e-3", custom_sizes=False, transparency=False, partial_images=False, shutdown=date(2026, 5, 12),
           replacement=_REPLACE),
        _m("gpt-image-1", custom_sizes=False, input_fidelity=("low", "high"), shutdown=date(2026, 10, 23),
           replacement=_REPLACE),
        _m("gpt-image-1-mini", custom_sizes=False, input_fidelity=("low",), shutdown=date(2026, 12, 1),
           replacement="gpt-image-2.6-flare"),
        _m("gpt-image-1.5", custom_sizes=False, input_fidelity=("low", "high"), shutdown=date(2026, 12, 1),
           replacement=_REPLACE),
        _m("gpt-image-1.5-2025-12-16", custom_sizes=False, input_fidelity=("low", "high"),
           shutdown=date(2026, 12, 1), replacement=_REPLACE),
        _m("chatgpt-image-latest", custom_sizes=False, shutdown=date(2026, 12, 1), replacement=_REPLACE),
        _m("gpt-image-2"),
        _m("gpt-image-2-2026-04-21"),
        _m("gpt-image-2.5-sunburst", qualities=_GPT25),
        _m("gpt-image-2.5-sunburst-2026-09-08", qualities=_GPT25),
        _m("gpt-image-2.5-flare", qualities=_GPT25),
        _m("gpt-image-2.5-flare-2026-09-08", qualities=_GPT25),
        _m("gpt-image-2.6-sunburst", qualities=_GPT25),
        _m("gpt-image-2.6-flare", qualities=_GPT25),
    )
}  # fmt: skip


class ModelRetired(errors.InvalidInput):
    error_type = "model_retired"
    suggestion = "Use the replacement named in the error (or leave the model out to use the server's default)."


def parse_size(size: str) -> tuple[int, int] | None:
    width, sep, height = size.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        return None
    return int(width), int(height)


def nearest_size(width: int, height: int) -> tuple[int, int]:
    """The valid custom size closest to ``width`` x ``height`` (same orientation)."""
    w, h = float(max(16, width)), float(max(16, height))
    if max(w, h) / min(w, h) > MAX_RATIO:  # clamp the ratio, keeping the long edge
        if w >= h:
            h = w / MAX_RATIO
        else:
            w = h / MAX_RATIO
    for bound in (MAX_EDGE,):
        scale = min(1.0, bound / max(w, h))
        w, h = w * scale, h * scale
    pixels = w * h
    if pixels > MAX_PIXELS or pixels < MIN_PIXELS:
        scale = math.sqrt((MAX_PIXELS if pixels > MAX_PIXELS else MIN_PIXELS) / pixels)
        w, h = w * scale, h * scale

    def snap(v: float, down: bool) -> int:
        return max(16, (math.floor if down else math.ceil)(v / 16) * 16)

    best: tuple[int, int] | None = None
    for sw in (snap(w, False), snap(w, True)):  # on a tie, the larger size
        for sh in (snap(h, False), snap(h, True)):
            if (
                max(sw, sh) <= MAX_EDGE
                and MIN_PIXELS <= sw * sh <= MAX_PIXELS
                and max(sw, sh) / min(sw, sh) <= MAX_RATIO
                and (best is None or abs(sw - width) + abs(sh - height) < abs(best[0] - width) + abs(best[1] - height))
            ):
                best = (sw, sh)
    return best or (1024, 1024)


def size_problem(width: int, height: int) -> str | None:
    if width % 16 or height % 16:
        return "both edges must be multiples of 16"
    if max(width, height) > MAX_EDGE:
        return f"the long edge may be at most {MAX_EDGE}"
    if max(width, height) / min(width, height) > MAX_RATIO:
        return "the ratio of the edges may be at most 3:1"
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        return f"the image must have {MIN_PIXELS:,} to {MAX_PIXELS:,} pixels"
    return None


class ModelCatalog:
    def __init__(self) -> None:
        self.models = dict(KNOWN)

    def get(self, name: str) -> ImageModel | None:
        return self.models.get(name)

    def check(self, name: str, *, today: date | None = None) -> str | None:
        """Refuse a model that has shut down; a warning (or None) for one that will."""
        model = self.models.get(name)
        if model is None or model.shutdown is None:
            return None
        today = today or datetime.now(UTC).date()
        if model.shutdown <= today:
            instead = f" Use {model.replacement} instead." if model.replacement else ""
            raise ModelRetired(f"{name} was shut down by OpenAI on {model.shutdown.isoformat()}.{instead}")
        warning = f"{name} shuts down on {model.shutdown.isoformat()}"
        if model.replacement:
            warning += f"; move to {model.replacement}"
        log.warning("%s", warning)
        return warning + "."

    def check_size(self, name: str, size: str) -> None:
        if size in BASE_SIZES:
            return
        model = self.models.get(name)
        parsed = parse_size(size)
        if parsed is None:
            raise errors.InvalidInput(f"size must be 'auto' or WIDTHxHEIGHT, such as 1536x1024; got {size!r}.")
        if model is not None and not model.custom_sizes:
            raise errors.InvalidInput(
                f"{name} takes only {', '.join(BASE_SIZES)}; size {size} needs gpt-image-2 or newer."
            )
        problem = size_problem(*parsed)
        if problem:
            w, h = nearest_size(*parsed)
            raise errors.InvalidInput(f"size {size} is not allowed: {problem}. The nearest allowed size is {w}x{h}.")

    def check_quality(self, name: str, quality: str) -> None:
        model = self.models.get(name)
        if model is not None and quality not in model.qualities:
            raise errors.InvalidInput(f"{name} takes quality {', '.join(model.qualities)}; got {quality!r}.")

    def merge_shutdowns(self, dates: dict[str, str | None]) -> int:
        """Shutdown dates from ``GET /v1/models``; returns how many changed."""
        changed = 0
        for name, value in dates.items():
            try:
                when = date.fromisoformat(value) if value else None
            except ValueError:
                continue
            known = self.models.get(name)
            if known is not None and known.shutdown != when and when is not None:
                self.models[name] = replace(known, shutdown=when)
                changed += 1
            elif known is None and when is not None and "image" in name:
                self.models[name] = _m(name, shutdown=when, replacement=_REPLACE)
                changed += 1
        return changed
