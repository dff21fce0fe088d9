"""Server-sent events, parsed for speed: lines split at CR/LF only, and events that repeat the final
image skipped without decoding their JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

#: Events whose payload repeats what the final event carries (the whole image, again).
_SKIPPED_EVENTS = frozenset({"response.output_item.done", "response.image_generation_call.completed"})


async def sse_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Lines of an event stream: split at CR, LF or CRLF only, as the SSE format says (``str.splitlines``
    would also split inside JSON at U+2028, U+2029 and U+0085), decoded as UTF-8 once complete. Each
    byte is scanned once, so a multi-megabyte image line costs a few memchr passes."""
    buffer = bytearray()
    skip_lf = False
    async for chunk in chunks:
        if skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        skip_lf = False
        start = len(buffer)
        buffer += chunk
        while True:
            cr, lf = buffer.find(b"\r", start), buffer.find(b"\n", start)
            ends = [i for i in (cr, lf) if i != -1]
            if not ends:
                break
            end = min(ends)
            line = bytes(buffer[:end])
            if buffer[end] == 13:  # CR, maybe followed by LF (possibly in the next chunk)
                if end + 1 < len(buffer):
                    cut = end + 2 if buffer[end + 1] == 10 else end + 1
                else:
                    cut, skip_lf = end + 1, True
            else:
                cut = end + 1
            del buffer[:cut]
            start = 0
            yield line.decode("utf-8")
    if buffer:
        yield bytes(buffer).decode("utf-8")


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events from text lines: ``data:`` lines joined, dispatched on a blank line.

    Events we never read (``_SKIPPED_EVENTS``: they repeat the final image) are recognised by their
    ``event:`` line and not JSON-decoded, which saves parsing megabytes of base64 twice.
    """
    data: list[str] = []
    name = ""
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif not line and (data or name):
            payload = "\n".join(data)
            skipped = name in _SKIPPED_EVENTS
            data, name = [], ""
            if payload.startswith("[DONE]"):
                return
            if payload and not skipped:
                yield json.loads(payload)
    if data and not data[0].startswith("[DONE]") and name not in _SKIPPED_EVENTS:
        yield json.loads("\n".join(data))
