"""The Claude Desktop extension (``.mcpb``): ``scripts/build-mcpb`` runs ``python -m openai_image_mcp.setup.mcpb``.

The bundle is a zip of::

    manifest.json              MCPB manifest (see below)
    pyproject.toml             the runtime dependencies (the package's own), for uv; no build step (uv package = false)
    server/main.py             the entry point (:mod:`openai_image_mcp.setup.launcher`): serves src/ on stdio
    src/openai_image_mcp/...   the package, as installed here (code, guide.md, prices.json)
    LICENSE

Why ``manifest_version`` 0.4 and ``server.type`` ``"uv"``: the package needs compiled dependencies (pydantic-core,
Pillow, jiter), and a ``"python"`` bundle must carry them in ``server/lib`` built for one OS, CPU and Python version,
which the MCPB docs call out as not portable. With ``"uv"`` (manifest 0.4, the newest version the ``@anthropic-ai/mcpb``
CLI :data:`MCPB_CLI_VERSION` validates), the host installs Python and the dependencies from ``pyproject.toml`` on the
user's machine. That CLI's 0.4 schema requires ``mcp_config`` for every server type, so it is given: ``uv run`` in the
bundle's folder, with the ``user_config`` answers as environment variables (``OPENAI_API_KEY``, required and
sensitive; ``OPENAI_IMAGE_MCP_WORKSPACE``, an optional folder).

The build is deterministic: files in name order with a fixed time stamp, so the same tree gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio

import openai_image_mcp
from openai_image_mcp import __version__
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup import launcher

#: The @anthropic-ai/mcpb CLI the manifest is validated with (tests and scripts/build-mcpb install this version).
MCPB_CLI_VERSION = "2.1.2"
MANIFEST_VERSION = "0.4"
BUNDLE_NAME = "openai-image-mcp"
ENTRY_POINT = "server/main.py"
DEFAULT_OUT = Path("dist") / f"{BUNDLE_NAME}.mcpb"
PRIVACY_POLICY = "https://openai.com/policies/privacy-policy/"
_FIXED_TIME = (2026, 1, 1, 0, 0, 0)
_DISTRIBUTION = "openai-image-mcp"

DESCRIPTION = "Make and refine images with OpenAI's image models: sessions that remember, edits, organized files."
LONG_DESCRIPTION = (
    "Conversational image sessions that survive restarts (each turn refines the last image), one-shot images, "
    "edits with masks and reference images, product shots and UI assets, all saved as files with full metadata "
    "in your image folder. Needs an OpenAI API key; generations are billed to your OpenAI account. Image models "
    "may require a verified OpenAI organisation (platform.openai.com -> Settings -> Organization -> Verify)."
)

USER_CONFIG: dict[str, dict[str, Any]] = {
    "openai_api_key": {
        "type": "string",
        "title": "OpenAI API key",
        "description": "Your OpenAI API key (sk-...), from https://platform.openai.com/api-keys.",
        "sensitive": True,
        "required": True,
    },
    "workspace": {
        "type": "directory",
        "title": "Image folder",
        "description": "Where images, their metadata and the session database are kept. Leave empty for the "
        "per-user data folder.",
        "required": False,
    },
}
ENV = {
    "OPENAI_API_KEY": "${user_config.openai_api_key}",
    "OPENAI_IMAGE_MCP_WORKSPACE": "${user_config.workspace}",
}


async def tool_summaries() -> list[dict[str, str]]:
    """Name and description of every tool, as ``tools/list`` answers a client (the studio's app-only tools are for
    the MCP App, not the model; nothing is started or written)."""
    from openai_image_mcp.server import create_server

    unused = Path(tempfile.gettempdir()) / "openai-image-mcp-mcpb-build"  # never created: tools/list writes nothing
    server = create_server(Settings(workspace=unused, openai_api_key=None))
    tools = [t for t in await server.list_tools() if (t.meta or {}).get("ui", {}).get("visibility") != ["app"]]
    return [{"name": t.name, "description": " ".join((t.description or "").split())} for t in tools]


def _requirements() -> tuple[str, list[str]]:
    """``Requires-Python`` and the runtime dependencies of the installed distribution (extras left out)."""
    dist = metadata.metadata(_DISTRIBUTION)
    requires = [r for r in metadata.requires(_DISTRIBUTION) or [] if "extra ==" not in r]
    return (dist.get_all("Requires-Python") or [">=3.11"])[0], requires


def manifest(tools: Sequence[Mapping[str, str]], requires_python: str) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": BUNDLE_NAME,
        "display_name": "OpenAI Image MCP",
        "version": __version__,
        "description": DESCRIPTION,
        "long_description": LONG_DESCRIPTION,
        "author": {"name": "The openai-image-mcp authors"},
        "license": "MIT",
        "keywords": ["images", "image generation", "image editing", "openai", "gpt-image"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {"command": "uv", "args": ["run", "--directory", "${__dirname}", ENTRY_POINT], "env": ENV},
        },
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": requires_python}},
        "user_config": USER_CONFIG,
        "tools": [dict(t) for t in tools],
        "tools_generated": False,
        "privacy_policies": [PRIVACY_POLICY],
    }


def pyproject(requires_python: str, requires: Sequence[str]) -> str:
    deps = "".join(f"    {json.dumps(r)},\n" for r in requires)
    return (
        "# The extension's Python project (written by scripts/build-mcpb): Claude Desktop's uv installs these\n"
        "# dependencies and runs server/main.py, which serves the package under src/. Nothing is built.\n"
        "[project]\n"
        f"name = {json.dumps(BUNDLE_NAME)}\n"
        f"version = {json.dumps(__version__)}\n"
        f"description = {json.dumps(DESCRIPTION)}\n"
        f"requires-python = {json.dumps(requires_python)}\n"
        f"dependencies = [\n{deps}]\n"
        "\n[tool.uv]\n"
        "package = false\n"
    )


def package_files() -> dict[str, bytes]:
    """The package's files as installed here (no caches, no hidden files), under ``src/openai_image_mcp/``."""
    root = Path(openai_image_mcp.__file__).parent
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
        if path.is_file() and not hidden and path.suffix not in (".pyc", ".pyo"):
            files[f"src/openai_image_mcp/{rel.as_posix()}"] = path.read_bytes()
    return files


def bundle_files(tools: Sequence[Mapping[str, str]]) -> dict[str, bytes]:
    requires_python, requires = _requirements()
    files = {
        "manifest.json": (json.dumps(manifest(tools, requires_python), indent=2, ensure_ascii=False) + "\n").encode(),
        "pyproject.toml": pyproject(requires_python, requires).encode(),
        ENTRY_POINT: Path(launcher.__file__).read_bytes(),
        **package_files(),
    }
    license_file = Path(openai_image_mcp.__file__).resolve().parents[2] / "LICENSE"  # in a clone
    if license_file.is_file():
        files["LICENSE"] = license_file.read_bytes()
    return files


def write_zip(files: Mapping[str, bytes], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.create_system = 3  # Unix, so the permissions below are honoured
            info.external_attr = (0o755 if name == ENTRY_POINT else 0o644) << 16
            zf.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, out)


def write_tree(files: Mapping[str, bytes], folder: Path) -> None:
    """The bundle unpacked into ``folder`` (emptied first, if it is an earlier unpacked bundle)."""
    if folder.exists():
        if any(folder.iterdir()) and not (folder / "manifest.json").is_file():
            raise FileExistsError(f"{folder} is not empty and holds no manifest.json: not replacing it")
        shutil.rmtree(folder)
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if name == ENTRY_POINT:
            target.chmod(0o755)


def build(out: Path, *, unpacked: Path | None = None) -> dict[str, bytes]:
    """Write the ``.mcpb`` to ``out`` (and, with ``unpacked``, its tree); returns the files."""
    files = bundle_files(anyio.run(tool_summaries))
    write_zip(files, out)
    if unpacked is not None:
        write_tree(files, unpacked)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openai_image_mcp.setup.mcpb", description="Build the .mcpb bundle."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the bundle to write (default {DEFAULT_OUT})")
    parser.add_argument("--unpacked", type=Path, help="also write the bundle's files into this folder")
    args = parser.parse_args(argv)
    files = build(args.out, unpacked=args.unpacked)
    tools = len(json.loads(files["manifest.json"])["tools"])
    size = args.out.stat().st_size
    sys.stdout.write(f"{args.out}: {len(files)} files, {tools} tools, {size / 1e3:.0f} kB\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
