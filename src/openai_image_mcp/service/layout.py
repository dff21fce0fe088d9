"""The workspace folder: the original layout, file names, metadata sidecars, atomic writes.

::

    <workspace>/generated_images/
        sessions/<session id>/conversation_log.json
        sessions/<session id>/images/image_001.png + image_001_metadata.json
        single_shot/   products/<product>/   ui_assets/<asset type>/   style_series/<name>/

Every file is written to a hidden temporary name in its final folder and renamed into place, so a
reader (or a crash) never sees half a file. The database row is committed only after the rename.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openai_image_mcp.core.models import SessionRecord, TurnRecord

USE_CASE_FOLDERS: dict[str, str] = {
    "general": "single_shot",
    "product": "products",
    "ui_asset": "ui_assets",
    "style_series": "style_series",
    "edit": "edits",
}
TOP_FOLDERS = ("sessions", *USE_CASE_FOLDERS.values())
TEMP_PREFIX = ".tmp-"


def slugify(text: str, max_len: int = 40) -> str:
    """A short, filesystem-safe name from free text (``"A red Fox!"`` -> ``"a-red-fox"``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "image"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}-{path.name}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8") + b"\n")


def metadata_path(image_path: Path) -> Path:
    """``image_001.png`` -> ``image_001_metadata.json``."""
    return image_path.with_name(f"{image_path.stem}_metadata.json")


class Workspace:
    """Paths under ``generated_images/``; creates folders on demand."""

    def __init__(self, root: Path, *, previews_root: Path | None = None) -> None:
        self.root = root
        #: partial-image previews of running generations (outside generated_images/)
        self.previews_root = previews_root or root.parent / "previews"

    def ensure(self) -> None:
        for name in TOP_FOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def session_dir(self, session_id: str) -> Path:
        return self.root / "sessions" / session_id

    def style_series_dir(self, name: str) -> Path:
        return self.root / "style_series" / slugify(name)

    def conversation_log(self, session: SessionRecord) -> Path:
        return Path(session.folder) / "conversation_log.json"

    def session_image_path(self, session: SessionRecord, index: int, ext: str) -> Path:
        return Path(session.folder) / "images" / f"image_{index:03d}.{ext}"

    def use_case_path(self, use_case: str, prompt: str, ext: str, *, subfolder: str | None = None) -> Path:
        """A new, unique file name for a non-session image in its use case's folder."""
        folder = self.root / USE_CASE_FOLDERS.get(use_case, "single_shot")
        if subfolder:
            folder = folder / slugify(subfolder)
        stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        return folder / f"{stamp}_{slugify(prompt)}_{secrets.token_hex(3)}.{ext}"

    def sweep_temporaries(self, *, older_than: float | None = None, preview_age: float = 86_400) -> int:
        """Remove temporary files a crash left behind (those older than ``older_than``, a timestamp, so a
        write in progress is never touched), and partial previews older than a day."""
        removed = 0
        cutoff_tmp = time.time() if older_than is None else older_than
        if self.root.exists():
            for tmp in self.root.rglob(f"{TEMP_PREFIX}*"):
                try:
                    if tmp.stat().st_mtime < cutoff_tmp:
                        tmp.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        if self.previews_root.exists():
            cutoff = time.time() - preview_age
            for folder in self.previews_root.iterdir():
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    for f in folder.iterdir():
                        f.unlink(missing_ok=True)
                    folder.rmdir()
        return removed


def write_conversation_log(workspace: Workspace, session: SessionRecord, turns: Sequence[TurnRecord]) -> None:
    """Rewrite ``conversation_log.json``: the session and every turn, as the original layout keeps it.

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
                "usage": t.usage,
            },
            ensure_ascii=False,
        )
        for t in turns
    ]
    body = (
        "{\n" + "\n".join(lines) + '\n  "turns": [' + (("\n    " + ",\n    ".join(entries) + "\n  ") if entries else "")
    )
    write_atomic(workspace.conversation_log(session), (body + "]\n}\n").encode("utf-8"))
