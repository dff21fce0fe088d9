"""The original folder layout, as keys a blob store turns into refs; and the conversation log.

::

    <workspace>/generated_images/
        sessions/<session id>/conversation_log.json
        sessions/<session id>/images/image_001.png + image_001_metadata.json
        single_shot/   products/<product>/   ui_assets/<asset type>/   style_series/<name>/   edits/   uploads/

Image files and their ``*_metadata.json`` are written through the blob store; the state row is
committed only after they are in place.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import unicodedata
from collections.abc import Sequence

from openai_image_mcp.core.models import SessionRecord, TurnRecord

USE_CASE_FOLDERS: dict[str, str] = {
    "general": "single_shot",
    "product": "products",
    "ui_asset": "ui_assets",
    "style_series": "style_series",
    "edit": "edits",
    "upload": "uploads",
}


def slugify(text: str, max_len: int = 40) -> str:
    """A short, filesystem-safe name from free text (``"A red Fox!"`` -> ``"a-red-fox"``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "image"


def session_key(session_id: str) -> str:
    return f"sessions/{session_id}"


def style_series_key(name: str) -> str:
    return f"style_series/{slugify(name)}"


def use_case_key(use_case: str, prompt: str, ext: str, *, subfolder: str | None = None, now: float) -> str:
    """A new, unique key for a non-session image in its use case's folder."""
    folder = USE_CASE_FOLDERS.get(use_case, "single_shot")
    if subfolder:
        folder = f"{folder}/{slugify(subfolder)}"
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(now))
    return f"{folder}/{stamp}_{slugify(prompt)}_{secrets.token_hex(3)}.{ext}"


def session_image_parts(index: int, ext: str) -> tuple[str, str]:
    """Where a session's n-th image goes, below its folder."""
    return "images", f"image_{index:03d}.{ext}"


CONVERSATION_LOG = "conversation_log.json"


def conversation_log(session: SessionRecord, turns: Sequence[TurnRecord]) -> bytes:
    """``conversation_log.json``: the session and every turn, as the original layout keeps it.

    One turn per line: readable, and built with the C JSON encoder (``indent`` would switch to the
    pure-Python one, which is several times slower on a long session)."""
    header = {
        "session_id": session.id,
        "session_name": session.name,
        "description": session.description,
        "model": session.model,
        "image_model": session.image_model,
        "created_at": session.created_at,
        "style_series": session.style_series,
    }
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in header.items()]
    entries = [
        json.dumps(
            {
                "turn": t.seq,
                "role": "user",
                "prompt": t.prompt,
                "parameters": t.params,
                "status": t.status,
                "created_at": t.created_at,
                "finished_at": t.finished_at,
                "response_id": t.response_id,
                "model_text": t.model_text or None,
                "image_ids": list(t.image_ids),
                "error": t.error,
                "usage": {k: v for k, v in t.usage.items() if k != "cost"},
                "cost": t.usage.get("cost"),
            },
            ensure_ascii=False,
        )
        for t in turns
    ]
    body = (
        "{\n" + "\n".join(lines) + '\n  "turns": [' + (("\n    " + ",\n    ".join(entries) + "\n  ") if entries else "")
    )
    return (body + "]\n}\n").encode("utf-8")
