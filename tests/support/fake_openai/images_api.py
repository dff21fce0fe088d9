"""The Images API endpoints of the fake: generations and edits (multipart or JSON), plain or streamed."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.support.fake_openai.base import _FakeBase
from tests.support.fake_openai.helpers import ApiError, _partial_offsets, _Reply, _sse, _Stream
from tests.support.fake_openai.parsing import (
    _BOOL_FORM_FIELDS,
    _INT_FORM_FIELDS,
    _MODERATION_MESSAGE,
    _decode_data_url,
    _decode_image,
    _image_input_tokens,
    _image_output_tokens,
    _parse_size,
    _resolve_background,
    _resolve_format,
    _resolve_quality,
    _text_tokens,
)
from tests.support.fake_openai.photos import _photo_async
from tests.support.fake_openai.records import RecordedRequest


class _ImagesMixin(_FakeBase):
    """``POST /images/generations`` and ``POST /images/edits``."""

    def _image_ref(self, ref: Any, param: str) -> tuple[int, int] | None:
        """Check one JSON image reference ({image_url} | {file_id}); its size when known."""
        if not isinstance(ref, dict):
            raise ApiError(400, "Invalid image reference.", param=param)
        if ref.get("file_id") is not None:
            file_id = str(ref["file_id"])
            with self._lock:
                data = self.files.get(file_id)
            if data is None:
                raise ApiError(400, f"File '{file_id}' not found.", param=f"{param}.file_id", code="file_not_found")
        else:
            try:
                data = _decode_data_url(str(ref.get("image_url", "")))
            except ValueError as exc:
                raise ApiError(
                    400,
                    f"Invalid base64 image data URL: {exc}",
                    param=f"{param}.image_url",
                    code="invalid_base64_image",
                ) from exc
            if data is None:
                return None  # a remote URL: the fake cannot fetch it
        try:
            return _decode_image(data)
        except ValueError as exc:
            raise ApiError(
                400, f"Invalid image file or mode for {param}: {exc}", param=param, code="invalid_image_format"
            ) from exc

    def _edit_inputs(self, record: RecordedRequest) -> tuple[dict[str, Any], list[tuple[int, int] | None]]:
        """The edit parameters and the input image sizes, for multipart or JSON edits."""
        if record.form is not None:
            params: dict[str, Any] = {}
            for key, values in record.form.items():
                value: Any = values if len(values) > 1 else values[0]
                if key in _INT_FORM_FIELDS and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
                    value = int(value)
                elif key in _BOOL_FORM_FIELDS and isinstance(value, str) and value.lower() in ("true", "false"):
                    value = value.lower() == "true"
                params[key] = value
            images = [*record.files.get("image", []), *record.files.get("image[]", [])]
            for key, parts in record.files.items():
                if key in ("image", "image[]"):
                    continue
                params[key] = [f"<binary {len(p.data)} bytes>" for p in parts] if len(parts) > 1 else "<binary>"
            if images:
                as_list = "image[]" in record.files or len(images) > 1
                params["image"] = [f"<binary {len(p.data)} bytes>" for p in images] if as_list else "<binary>"
            self._schema_check(record, "CreateImageEditRequest", params)
            if not images:
                raise ApiError(
                    400, "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
                )
            sizes: list[tuple[int, int] | None] = []
            for i, part in enumerate(images):
                try:
                    sizes.append(_decode_image(part.data))
                except ValueError as exc:
                    raise ApiError(
                        400,
                        f"Invalid image file or mode for image {i + 1}, please check your image file: {exc}",
                        param="image",
                        code="invalid_image_format",
                    ) from exc
            masks = record.files.get("mask", [])
            if masks:
                try:
                    mask_size: tuple[int, int] | None = _decode_image(masks[0].data)
                except ValueError as exc:
                    raise ApiError(
                        400, f"Invalid mask image file: {exc}", param="mask", code="invalid_image_format"
                    ) from exc
                self._check_mask(mask_size, sizes[0])
            for part in record.files.get("markup", []):
                try:
                    _decode_image(part.data)
                except ValueError as exc:
                    raise ApiError(
                        400, f"Invalid markup image file: {exc}", param="markup", code="invalid_image_format"
                    ) from exc
            return params, sizes
        if record.json is None:
            raise ApiError(400, "Expected a multipart/form-data or JSON body.")
        params = dict(record.json)
        self._schema_check(record, "EditImageBodyJsonParam", params)
        refs = params.get("images")
        if not isinstance(refs, list) or not refs:
            raise ApiError(
                400, "Missing required parameter: 'images'.", param="images", code="missing_required_parameter"
            )
        sizes = [self._image_ref(ref, f"images[{i}]") for i, ref in enumerate(refs)]
        if params.get("mask") is not None:
            self._check_mask(self._image_ref(params["mask"], "mask"), sizes[0])
        return params, sizes

    @staticmethod
    def _check_mask(mask_size: tuple[int, int] | None, image_size: tuple[int, int] | None) -> None:
        if mask_size is not None and image_size is not None and mask_size != image_size:
            raise ApiError(400, "Invalid mask image: mask size must match image size", param="mask")

    async def _images(self, record: RecordedRequest, latency: float, *, edit: bool) -> _Reply | _Stream:
        input_sizes: list[tuple[int, int] | None] = []
        if edit:
            params, input_sizes = self._edit_inputs(record)
        else:
            if record.json is None:
                raise ApiError(400, "Expected a JSON object body.")
            params = record.json
            self._schema_check(record, "CreateImageRequest", params)
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise ApiError(
                400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
            )
        n = params.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 10:
            raise ApiError(
                400, f"Invalid value for 'n': {n!r}. Must be between 1 and 10.", param="n", code="invalid_value"
            )
        width, height = _parse_size(params.get("size"), "size")
        fmt = _resolve_format(params.get("output_format"), "output_format")
        background = _resolve_background(params.get("background"), fmt, "background")
        quality = _resolve_quality(params.get("quality"))
        if "[moderation]" in prompt:
            raise ApiError(
                400,
                _MODERATION_MESSAGE.format(request_id=record.request_id, category="sexual"),
                type="image_generation_user_error",
                code="moderation_blocked",
                extra={"moderation_details": {"moderation_stage": "output", "categories": ["sexual"]}},
            )
        stream = params.get("stream") is True
        partials = params.get("partial_images") or 0
        partials = max(0, min(3, int(partials))) if stream else 0
        _, b64 = await _photo_async(width, height, fmt, background == "transparent", self.flat_images)
        size = f"{width}x{height}"
        image_tokens = sum(_image_input_tokens(s) for s in input_sizes)
        text_tokens = _text_tokens(prompt)
        out_tokens = _image_output_tokens(quality, width, height) * n + 100 * partials * n
        usage = {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": out_tokens,
            "output_tokens_details": {"image_tokens": out_tokens, "text_tokens": 0},
            "total_tokens": text_tokens + image_tokens + out_tokens,
        }
        created = int(time.time())
        rate_headers = {
            "x-ratelimit-limit-images": "250",
            "x-ratelimit-remaining-images": "249",
            "x-ratelimit-reset-images": "240ms",
        }
        if not stream:
            body: dict[str, Any] = {
                "created": created,
                "background": background,
                "output_format": fmt,
                "quality": quality,
                "size": size,
                "data": [{"b64_json": b64} for _ in range(n)],
                "usage": usage,
            }
            safety = params.get("safety_identifier") or params.get("user")
            if safety:
                body["safety_identifier"] = safety
            return _Reply(200, body, rate_headers)

        prefix = "image_edit" if edit else "image_generation"
        common = {
            "created_at": created,
            "size": size,
            "quality": quality,
            "background": background,
            "output_format": fmt,
        }
        steps: list[tuple[float, list[bytes]]] = []
        if partials:
            pw, ph = self._partial_size(width, height)
            pfmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
            _, partial_b64 = await _photo_async(pw, ph, pfmt, background == "transparent", self.flat_images)
            for i, offset in enumerate(_partial_offsets(latency, partials)):
                events = [
                    _sse(
                        {"type": f"{prefix}.partial_image", "b64_json": partial_b64, "partial_image_index": i, **common}
                    )
                    for _ in range(n)
                ]
                steps.append((offset, events))
        final = [_sse({"type": f"{prefix}.completed", "b64_json": b64, **common, "usage": usage}) for _ in range(n)]
        steps.append((latency, final))
        return _Stream(steps, rate_headers)
