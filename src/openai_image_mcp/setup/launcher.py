"""The Claude Desktop extension's entry point: ``server/main.py`` in the ``.mcpb`` bundle is a copy of this file.

Claude Desktop runs it with uv in the unpacked bundle (manifest ``server.type`` ``"uv"``: uv installs the
dependencies listed in the bundle's ``pyproject.toml``), with the user's answers to the install dialog in the
environment. It serves the copy of the package under the bundle's ``src/`` on stdio.

An optional setting the user left empty arrives as ``""`` or as the unexpanded ``${user_config.workspace}``;
:func:`clean_environment` drops those, so the server falls back to its default instead of a folder named
``${user_config.workspace}``. Nothing of the package is imported before ``src/`` is on the path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

#: The variables the manifest fills from ``user_config``.
FROM_USER_CONFIG = ("OPENAI_API_KEY", "OPENAI_IMAGE_MCP_WORKSPACE")


def clean_environment(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the user-config variables that are empty or unexpanded; returns their names."""
    dropped = []
    for name in FROM_USER_CONFIG:
        value = environ.get(name)
        if value is not None and (not value.strip() or value.strip().startswith("${")):
            del environ[name]
            dropped.append(name)
    return dropped


def bundled_source(entry_point: Path) -> Path | None:
    """The bundle's ``src/`` folder (``server/main.py`` -> ``<bundle>/src``), if it holds the package."""
    source = entry_point.resolve().parent.parent / "src"
    return source if (source / "openai_image_mcp" / "__init__.py").is_file() else None


def main() -> None:
    source = bundled_source(Path(__file__))
    if source is not None:
        sys.path.insert(0, str(source))
    clean_environment(os.environ)
    from openai_image_mcp.cli import main as serve

    serve(["serve"])


if __name__ == "__main__":
    main()
