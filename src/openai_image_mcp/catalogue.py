"""The ``tools/list`` reply read from a file, so the server answers it before the tool modules load.

Registering the tools with the SDK imports the tool modules and has pydantic build an argument model
and input/output schemas for each one: about 40 ms, most of what this server used to add to a bare
MCPServer's start-up. What registration produces depends only on the code and the installed ``mcp`` and
``pydantic`` (never on settings), so ``scripts/refresh-schemas`` stores it in ``catalogue.json``,
stamped with those versions. At start the server answers ``tools/list`` from the file and registers
the tools on the first ``tools/call`` (:meth:`openai_image_mcp.server.ImageMCPServer.register_tools`).

When the file is missing, unreadable, or was made with other versions (another SDK installed), the
server registers its tools at start, as any MCPServer does. ``tests/test_catalogue.py`` fails, naming
the command to run, whenever the file differs from what registration produces.
"""

from __future__ import annotations

import json
import logging
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from mcp.types import Tool

from openai_image_mcp import __version__

FILE_NAME = "catalogue.json"

log = logging.getLogger(__name__)


def fingerprint() -> dict[str, str]:
    """What the stored reply depends on besides our code: the versions that derive the schemas."""
    return {"openai-image-mcp": __version__, "mcp": version("mcp"), "pydantic": version("pydantic")}


def default_path() -> Path:
    return Path(str(files(__package__).joinpath(FILE_NAME)))


def dump(tools: list[Tool]) -> dict[str, Any]:
    """The file's content for a registered server's ``list_tools()``."""
    return {
        "made_with": fingerprint(),
        "tools": [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools],
    }


def load(path: Path | None = None) -> list[Tool] | None:
    """The stored ``tools/list`` reply, or None when the tools must be registered to answer it."""
    path = path or default_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        made_with = data["made_with"]
        if made_with != fingerprint():
            log.debug("%s was made with %s, not %s: registering the tools at start", path, made_with, fingerprint())
            return None
        return [Tool.model_validate(item) for item in data["tools"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        log.warning("ignoring %s (%s): registering the tools at start", path, exc)
        return None
