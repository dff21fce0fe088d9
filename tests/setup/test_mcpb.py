"""The Claude Desktop extension bundle: its manifest passes the official MCPB CLI (``mcpb validate``, ``mcpb pack``,
``mcpb unpack``), it names the server's tools, and the bundle's entry point serves MCP from the bundled package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from openai_image_mcp.setup import launcher, mcpb

pytestmark = pytest.mark.timeout(600)  # the first test may install the MCPB CLI


class Bundle:
    def __init__(self, path: Path, tree: Path, files: dict[str, bytes]) -> None:
        self.path, self.tree, self.files = path, tree, files

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.files["manifest.json"]))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    base = tmp_path_factory.mktemp("mcpb")
    out = base / "dist" / "openai-image-mcp.mcpb"
    files = mcpb.build(out, unpacked=base / "dist" / "openai-image-mcp")
    yield Bundle(out, base / "dist" / "openai-image-mcp", files)


def mcpb_run(cli: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cli), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


# ---- the official CLI ------------------------------------------------------------------------------------------------


def test_the_official_cli_validates_the_manifest(bundle: Bundle, mcpb_cli: Path) -> None:
    done = mcpb_run(mcpb_cli, "validate", "manifest.json", cwd=bundle.tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Manifest schema validation passes!" in done.stdout


def test_the_official_cli_rejects_a_broken_manifest(bundle: Bundle, mcpb_cli: Path, tmp_path: Path) -> None:
    """The validation is real: the same manifest without mcp_config (required by the 0.4 schema) fails."""
    broken = bundle.manifest
    del broken["server"]["mcp_config"]
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    done = mcpb_run(mcpb_cli, "validate", "manifest.json", cwd=tmp_path)
    assert done.returncode == 1 and "server.mcp_config" in done.stdout


def test_the_official_cli_packs_the_tree_and_unpacks_our_zip(bundle: Bundle, mcpb_cli: Path, tmp_path: Path) -> None:
    packed = mcpb_run(mcpb_cli, "pack", bundle.tree, tmp_path / "theirs.mcpb", cwd=tmp_path)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    assert f"total files: {len(bundle.files)}" in packed.stdout
    with zipfile.ZipFile(tmp_path / "theirs.mcpb") as theirs:
        assert sorted(theirs.namelist()) == sorted(bundle.files)
    unpacked = mcpb_run(mcpb_cli, "unpack", bundle.path, tmp_path / "out", cwd=tmp_path)
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr
    for name, data in bundle.files.items():
        assert (tmp_path / "out" / name).read_bytes() == data, name


# ---- the manifest ----------------------------------------------------------------------------------------------------


def test_the_manifest_asks_for_the_key_and_the_folder(bundle: Bundle) -> None:
    m = bundle.manifest
    assert (m["manifest_version"], m["name"], m["version"]) == ("0.4", "openai-image-mcp", mcpb.__version__)
    assert m["server"]["type"] == "uv" and m["server"]["entry_point"] == "server/main.py"
    config = m["server"]["mcp_config"]
    assert config["command"] == "uv" and config["args"] == ["run", "--directory", "${__dirname}", "server/main.py"]
    assert config["env"] == {
        "OPENAI_API_KEY": "${user_config.openai_api_key}",
        "OPENAI_IMAGE_MCP_WORKSPACE": "${user_config.workspace}",
    }
    key, folder = m["user_config"]["openai_api_key"], m["user_config"]["workspace"]
    assert (key["type"], key["sensitive"], key["required"]) == ("string", True, True)
    assert (folder["type"], folder["required"]) == ("directory", False)
    assert m["compatibility"]["runtimes"] == {"python": ">=3.11"}


async def test_the_manifest_lists_the_servers_tools(bundle: Bundle, client: Client) -> None:
    listed = (await client.list_tools()).tools
    assert bundle.manifest["tools"] == [
        {"name": t.name, "description": " ".join((t.description or "").split())} for t in listed
    ]


# ---- the files -------------------------------------------------------------------------------------------------------


def test_the_bundle_holds_the_package_and_a_uv_project(bundle: Bundle) -> None:
    names = set(bundle.files)
    assert {"manifest.json", "pyproject.toml", "server/main.py", "LICENSE"} <= names
    package = Path(mcpb.openai_image_mcp.__file__).parent
    for extra in ("guide.md", "prices.json", "py.typed", "__init__.py", "setup/launcher.py"):
        assert f"src/openai_image_mcp/{extra}" in names, extra
    modules = {f"src/openai_image_mcp/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    assert modules <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert bundle.files["server/main.py"] == Path(launcher.__file__).read_bytes()
    pyproject = bundle.files["pyproject.toml"].decode()
    assert "package = false" in pyproject and '"mcp<3,>=2.3"' in pyproject and "pytest" not in pyproject
    with zipfile.ZipFile(bundle.path) as zf:
        assert sorted(zf.namelist()) == sorted(names)
        assert (zf.getinfo("server/main.py").external_attr >> 16) & 0o777 == 0o755


def test_the_build_is_reproducible(bundle: Bundle, tmp_path: Path) -> None:
    mcpb.build(tmp_path / "again.mcpb")
    assert (tmp_path / "again.mcpb").read_bytes() == bundle.path.read_bytes()


def test_the_build_never_replaces_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        mcpb.write_tree({"manifest.json": b"{}"}, tmp_path / "precious")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


# ---- the entry point -------------------------------------------------------------------------------------------------


def test_empty_or_unexpanded_settings_are_dropped() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-real",
        "OPENAI_IMAGE_MCP_WORKSPACE": "${user_config.workspace}",
        "OTHER": "${kept}",
    }
    assert launcher.clean_environment(environ) == ["OPENAI_IMAGE_MCP_WORKSPACE"]
    assert environ == {"OPENAI_API_KEY": "sk-real", "OTHER": "${kept}"}
    environ = {"OPENAI_API_KEY": " ", "OPENAI_IMAGE_MCP_WORKSPACE": "/Users/me/Pictures"}
    assert launcher.clean_environment(environ) == ["OPENAI_API_KEY"]
    assert environ == {"OPENAI_IMAGE_MCP_WORKSPACE": "/Users/me/Pictures"}


def test_the_bundled_package_comes_first(bundle: Bundle) -> None:
    code = (
        "import sys; from pathlib import Path; "
        f"sys.path.insert(0, {str(bundle.tree / 'src')!r}); "
        "import openai_image_mcp; print(openai_image_mcp.__file__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert Path(done.stdout.strip()).is_relative_to(bundle.tree)
    assert launcher.bundled_source(bundle.tree / "server" / "main.py") == (bundle.tree / "src").resolve()


@pytest.mark.subprocess
async def test_the_entry_point_serves_mcp_from_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    """As Claude Desktop starts it when the user left the folder empty: the placeholder is dropped and the server
    uses the per-user data folder (here under a temporary HOME)."""
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "OPENAI_API_KEY": "${user_config.openai_api_key}",
        "OPENAI_IMAGE_MCP_WORKSPACE": "${user_config.workspace}",
    }
    params = StdioServerParameters(command=sys.executable, args=[str(bundle.tree / "server" / "main.py")], env=env)
    async with Client(params) as client:  # type: ignore[arg-type]
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {t["name"] for t in bundle.manifest["tools"]} == tools
        stats = await client.call_tool("get_server_stats", {})
        assert not stats.is_error, stats.content
        workspace = Path(str(stats.structured_content["workspace"]))  # type: ignore[index]
        assert workspace.is_relative_to(home) and "${" not in str(workspace)
        generated = await client.call_tool("generate_image", {"prompt": "a fox"})
        assert generated.is_error and generated.structured_content["error_type"] == "not_configured"  # type: ignore[index]
