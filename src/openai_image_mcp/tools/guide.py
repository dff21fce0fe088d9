"""The packaged usage guide (``guide.md``), shared by the tool, the resource and the prompt."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def read_guide() -> str:
    return files("openai_image_mcp").joinpath("guide.md").read_text(encoding="utf-8")
