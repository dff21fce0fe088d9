"""No server path reaches a remote caller: for a principal authenticated over HTTP, the path fields are
taken out of a result (``file_path``, ``metadata_path``, ``folder``, ``workspace``, ``pid``) and any
server folder or image store left in a text (an error message, say) is replaced by a placeholder. Local
callers (stdio, open localhost) get results unchanged: for them the paths are the point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote as unquote_url
from urllib.parse import urlsplit

from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings

HIDDEN_KEYS = frozenset({"file_path", "metadata_path", "folder", "workspace", "pid"})


def _blob_places(blob_url: str | None) -> list[str]:
    """The image store's root as refs and messages name it: a folder (``file://``, outside the workspace perhaps), or
    the ``s3://bucket/prefix`` of an S3 store's refs. (A presigned URL names the endpoint, which stays: it is the
    link.)"""
    if not blob_url:
        return []
    parts = urlsplit(blob_url)
    if parts.scheme.lower() == "file":
        return [str(Path(unquote_url(parts.netloc + parts.path)).expanduser())]
    return [blob_url.rstrip("/")] if parts.netloc else []


class PathScrubber:
    def __init__(self, settings: Settings) -> None:
        places = [(str(settings.workspace), "<workspace>")]
        places += [(str(root), "<allowed folder>") for root in settings.input_roots[1:]]
        places += [(store, "<image store>") for store in _blob_places(settings.blob_url)]
        # longest first, so a folder inside another is replaced as a whole
        self._places = sorted(places, key=lambda p: len(p[0]), reverse=True)

    def text(self, value: str, who: Principal) -> str:
        if not who.remote:
            return value
        for place, label in self._places:
            value = value.replace(place, label)
        return value

    def data(self, value: Any, who: Principal) -> Any:
        """Any JSON-like value made fit for ``who``."""
        return self._value(value, who) if who.remote else value

    def _value(self, value: Any, who: Principal) -> Any:
        if isinstance(value, str):
            return self.text(value, who)
        if isinstance(value, list):
            return [self._value(v, who) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v, who) for k, v in value.items() if k not in HIDDEN_KEYS}
        return value

    def result(self, result: dict[str, Any], who: Principal) -> dict[str, Any]:
        """A tools/call (or resources/list) result in wire form, made fit for ``who``."""
        if not who.remote:
            return result
        out = {k: self._value(v, who) for k, v in result.items() if k != "content"}
        if "content" in result:
            out["content"] = [self._block(block, who) for block in result["content"]]
        return out

    def _block(self, block: Any, who: Principal) -> Any:
        if not isinstance(block, dict) or block.get("type") != "text":
            return self._value(block, who) if isinstance(block, dict) and block.get("type") != "image" else block
        text = str(block.get("text", ""))
        try:
            parsed = json.loads(text)
        except ValueError:
            return {**block, "text": self.text(text, who)}
        if isinstance(parsed, dict | list):
            return {**block, "text": json.dumps(self._value(parsed, who), ensure_ascii=False)}
        return {**block, "text": self.text(text, who)}
