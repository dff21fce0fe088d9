"""The Responses API endpoints of the fake: create (plain or streamed), retrieve and delete."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from tests.support.fake_openai.helpers import ApiError, _hex, _partial_offsets, _Reply, _sse, _Stream
from tests.support.fake_openai.parsing import (
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
from tests.support.fake_openai.responses_input import _ResponsesInputMixin


class _ResponsesMixin(_ResponsesInputMixin):
    """``POST /responses`` (+ SSE), ``GET`` and ``DELETE /responses/{id}``."""

    def _responses_get(self, response_id: str) -> _Reply:
        with self._lock:
            stored = self._responses.get(response_id)
        if stored is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.", param="response_id")
        return _Reply(200, stored["response"])

    def _responses_delete(self, response_id: str) -> _Reply:
        with self._lock:
            stored = self._responses.pop(response_id, None)
        if stored is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.", param="response_id")
        return _Reply(200, {"id": response_id, "object": "response.deleted", "deleted": True})

    async def _responses_create(self, record: RecordedRequest, latency: float) -> _Reply | _Stream:
        body = record.json
        if body is None:
            raise ApiError(400, "Expected a JSON object body.")
        self._schema_check(record, "CreateResponse", body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        previous_id = body.get("previous_response_id")
        if previous_id is not None:
            with self._lock:
                known = previous_id in self._responses
            if not known:
                raise ApiError(
                    400,
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        chain = self._chain(previous_id)
        new_input = self._normalize_input(body.get("input"))
        input_sizes, earlier_image = self._input_images(new_input, check=True)
        for stored in chain:
            chain_sizes, chain_earlier = self._input_images(stored["input"], check=False)
            earlier_image = earlier_image or chain_earlier or bool(chain_sizes)
            earlier_image = earlier_image or any(
                o.get("type") == "image_generation_call" and o.get("result") for o in stored["output"]
            )

        tools = body.get("tools") or []
        tool_index, tool = next(
            ((i, t) for i, t in enumerate(tools) if isinstance(t, dict) and t.get("type") == "image_generation"),
            (-1, None),
        )
        text = self._latest_user_text(new_input)
        stream = body.get("stream") is True
        make_image = tool is not None and body.get("tool_choice") != "none" and "[no-image]" not in text

        output: list[dict[str, Any]] = []
        image_usage = {
            "input_tokens": 0,
            "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
            "output_tokens": 0,
            "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
            "total_tokens": 0,
        }
        partial_b64 = ""
        partials = 0
        if make_image:
            assert tool is not None
            param = f"tools[{tool_index}]"
            width, height = _parse_size(tool.get("size"), f"{param}.size")
            fmt = _resolve_format(tool.get("output_format"), f"{param}.output_format")
            background = _resolve_background(tool.get("background"), fmt, f"{param}.background")
            quality = _resolve_quality(tool.get("quality"))
            mask = tool.get("input_image_mask")
            if isinstance(mask, dict) and mask:
                self._input_image({"type": "input_image", **mask})
            action = tool.get("action")
            if action not in ("generate", "edit"):
                action = "edit" if input_sizes or earlier_image else "generate"
            item: dict[str, Any] = {
                "id": "ig_" + _hex(48),
                "type": "image_generation_call",
                "status": "completed",
                "result": None,
                "revised_prompt": "Revised: " + text,
                "action": action,
                "background": background,
                "output_format": fmt,
                "quality": quality,
                "size": f"{width}x{height}",
            }
            image_in = sum(_image_input_tokens(s) for s in input_sizes)
            if earlier_image and not input_sizes:
                image_in += _image_input_tokens((1024, 1024))
            text_in = _text_tokens(item["revised_prompt"])
            if "[moderation]" in text:
                item["status"] = "failed"
                item["error"] = {
                    "code": "moderation_blocked",
                    "message": "Your request was rejected by the safety system. safety_violations=[violence].",
                    "param": None,
                    "type": "image_generation_user_error",
                    "moderation_details": {"moderation_stage": "input", "categories": ["violence"]},
                }
                out_image = 0
            else:
                _, item["result"] = await _photo_async(
                    width, height, fmt, background == "transparent", self.flat_images
                )
                partials = max(0, min(3, int(tool.get("partial_images") or 0))) if stream else 0
                if partials:
                    pw, ph = self._partial_size(width, height)
                    pfmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
                    _, partial_b64 = await _photo_async(pw, ph, pfmt, background == "transparent", self.flat_images)
                out_image = _image_output_tokens(quality, width, height) + 100 * partials
            image_usage = {
                "input_tokens": text_in + image_in,
                "input_tokens_details": {"text_tokens": text_in, "image_tokens": image_in},
                "output_tokens": out_image,
                "output_tokens_details": {"image_tokens": out_image, "text_tokens": 0},
                "total_tokens": text_in + image_in + out_image,
            }
            output.append(item)

        if tool is None or body.get("tool_choice") == "none":
            reply = "I can only answer in words here: " + text
        elif "[no-image]" in text:
            reply = "I can't draw that, but here is a description: " + text
        elif output and output[0]["status"] == "failed":
            reply = "I couldn't create that image: it was blocked by the safety system."
        elif "[text-too]" in text:
            reply = (
                "Here is your image. I went for soft, even light and a shallow depth of field, kept the palette "
                "warm, and left some empty space on the left so a title can go there. Tell me what to change."
            )
        else:
            reply = "Here is your image."
        message = {
            "id": "msg_" + _hex(48),
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": reply, "annotations": [], "logprobs": []}],
        }
        output.append(message)

        input_tokens = max(1, len(record.body) // 4)
        output_tokens = _text_tokens(reply) + (20 if make_image else 0)
        now = int(time.time())
        response: dict[str, Any] = {
            "id": "resp_" + _hex(48),
            "object": "response",
            "created_at": now,
            "status": "completed",
            "completed_at": now,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "model": model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": previous_id,
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True) is not False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": tools,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
            "tool_usage": {"image_gen": image_usage, "web_search": {"num_requests": 0}},
            "user": None,
        }
        if response["store"]:
            with self._lock:
                self._responses[response["id"]] = {
                    "response": response,
                    "input": new_input,
                    "output": output,
                    "instructions": body.get("instructions"),
                    "model": model,
                    "previous_response_id": previous_id,
                }
                for out in output:
                    self._items[out["id"]] = out
        if not stream:
            return _Reply(200, response)
        return _Stream(self._response_events(response, latency, partials, partial_b64))

    @staticmethod
    def _response_events(
        response: dict[str, Any], latency: float, partials: int, partial_b64: str
    ) -> list[tuple[float, list[bytes]]]:
        seq = itertools.count()

        def ev(event: dict[str, Any]) -> bytes:
            event["sequence_number"] = next(seq)
            return _sse(event)

        snapshot = {
            **response,
            "status": "in_progress",
            "completed_at": None,
            "output": [],
            "usage": None,
            "tool_usage": None,
        }
        first = [
            ev({"type": "response.created", "response": snapshot}),
            ev({"type": "response.in_progress", "response": snapshot}),
        ]
        steps: list[tuple[float, list[bytes]]] = [(0.0, first)]
        final: list[bytes] = []
        for index, item in enumerate(response["output"]):
            if item["type"] == "image_generation_call":
                ids = {"item_id": item["id"], "output_index": index}
                added = {"id": item["id"], "type": "image_generation_call", "status": "in_progress", "result": None}
                first.append(ev({"type": "response.output_item.added", "output_index": index, "item": added}))
                first.append(ev({"type": "response.image_generation_call.in_progress", **ids}))
                first.append(ev({"type": "response.image_generation_call.generating", **ids}))
                if item["status"] == "completed":
                    extras = {k: item[k] for k in ("background", "output_format", "quality", "size")}
                    for i, offset in enumerate(_partial_offsets(latency, partials)):
                        event = {
                            "type": "response.image_generation_call.partial_image",
                            **ids,
                            "partial_image_b64": partial_b64,
                            "partial_image_index": i,
                            **extras,
                        }
                        steps.append((offset, [ev(event)]))
                    final.append(ev({"type": "response.image_generation_call.completed", **ids}))
                final.append(ev({"type": "response.output_item.done", "output_index": index, "item": item}))
            elif item["type"] == "message":
                part = item["content"][0]
                text: str = part["text"]
                ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
                added = {**item, "status": "in_progress", "content": []}
                final.append(ev({"type": "response.output_item.added", "output_index": index, "item": added}))
                empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                final.append(ev({"type": "response.content_part.added", **ids, "part": empty_part}))
                for delta in re.findall(r"\S+\s*", text) or [text]:
                    final.append(ev({"type": "response.output_text.delta", **ids, "delta": delta, "logprobs": []}))
                final.append(ev({"type": "response.output_text.done", **ids, "text": text, "logprobs": []}))
                final.append(ev({"type": "response.content_part.done", **ids, "part": part}))
                final.append(ev({"type": "response.output_item.done", "output_index": index, "item": item}))
        final.append(ev({"type": "response.completed", "response": response}))
        steps.append((latency, final))
        return steps
