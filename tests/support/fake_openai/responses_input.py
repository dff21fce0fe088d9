"""Reading a Responses API request's input: items, the newest user text, the stored chain and input images."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.support.fake_openai.base import _FakeBase
from tests.support.fake_openai.helpers import ApiError
from tests.support.fake_openai.parsing import _decode_data_url, _decode_image


class _ResponsesInputMixin(_FakeBase):
    """Input handling for :class:`~tests.support.fake_openai.responses_api._ResponsesMixin`."""

    @staticmethod
    def _normalize_input(raw: Any) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if isinstance(raw, str):
            return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
        if not isinstance(raw, list):
            raise ApiError(400, "Invalid type for 'input': expected a string or an array.", param="input")
        items: list[dict[str, Any]] = []
        for item in raw:
            if not isinstance(item, dict):
                raise ApiError(400, "Invalid input item.", param="input")
            item = dict(item)
            if "role" in item and "type" not in item:
                item["type"] = "message"
            if item.get("type") == "message" and isinstance(item.get("content"), str):
                text_type = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": text_type, "text": item["content"]}]
            items.append(item)
        return items

    @staticmethod
    def _latest_user_text(items: list[dict[str, Any]]) -> str:
        for item in reversed(items):
            if item.get("type") == "message" and item.get("role") == "user":
                texts = [
                    str(part.get("text", ""))
                    for part in item.get("content") or []
                    if isinstance(part, dict) and part.get("type") == "input_text"
                ]
                return "\n".join(texts)
        return ""

    def _chain(self, previous_id: str | None) -> list[dict[str, Any]]:
        """Stored responses from the oldest to ``previous_id``."""
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        with self._lock:
            while previous_id and previous_id not in seen:
                seen.add(previous_id)
                stored = self._responses.get(previous_id)
                if stored is None:
                    break
                chain.append(stored)
                previous_id = stored["previous_response_id"]
        chain.reverse()
        return chain

    def _input_images(
        self, items: Iterable[dict[str, Any]], *, check: bool
    ) -> tuple[list[tuple[int, int] | None], bool]:
        """Sizes of input_image parts in ``items``, and whether an earlier generated image is referenced."""
        sizes: list[tuple[int, int] | None] = []
        earlier = False
        for item in items:
            kind = item.get("type")
            if kind == "message":
                for part in item.get("content") or []:
                    if isinstance(part, dict) and part.get("type") == "input_image":
                        sizes.append(self._input_image(part) if check else None)
            elif kind == "image_generation_call" and item.get("result"):
                earlier = True
            elif kind == "item_reference":
                item_id = str(item.get("id"))
                with self._lock:
                    ref = self._items.get(item_id)
                if ref is None:
                    if check:
                        raise ApiError(400, f"Item with id '{item_id}' not found.", param="input")
                elif ref.get("type") == "image_generation_call" and ref.get("result"):
                    earlier = True
        return sizes, earlier

    def _input_image(self, part: dict[str, Any]) -> tuple[int, int] | None:
        file_id = part.get("file_id")
        if file_id:
            with self._lock:
                data = self.files.get(str(file_id))
            if data is None:
                raise ApiError(400, f"File '{file_id}' not found.", param="file_id", code="file_not_found")
        else:
            url = part.get("image_url")
            if not url:
                raise ApiError(400, "An input_image needs 'image_url' or 'file_id'.", param="input")
            try:
                data = _decode_data_url(str(url))
            except ValueError as exc:
                raise ApiError(
                    400, f"Invalid base64 image data URL: {exc}", param="input", code="invalid_base64_image"
                ) from exc
            if data is None:
                return None
        try:
            return _decode_image(data)
        except ValueError as exc:
            raise ApiError(
                400,
                f"The image data you provided does not represent a valid image: {exc}",
                param="input",
                code="invalid_image_format",
            ) from exc
