"""``openai-image-mcp install CLIENT``: the exact configuration of this installation, printed or merged into the
client's file (other servers and keys kept, a backup first, idempotent, never over a file that is not JSON)."""

from __future__ import annotations

import argparse
import io
import json
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup import CLIENT_NAMES, DEFAULT_NAME, install
from openai_image_mcp.setup.clients import CLIENTS, KEY_PLACEHOLDER, Where, server_command
from tests.conftest import TEST_KEY
from tests.setup.conftest import CLI, ROOT, cli_env, run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


@pytest.fixture
def executable(tmp_path: Path) -> str:
    """An interpreter path with an ``openai-image-mcp`` console script beside it, as in a virtual environment."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "openai-image-mcp").write_text("#!/bin/sh\n")
    return str(bin_dir / "python")


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


def run(
    client: str,
    *,
    home: Path,
    project: Path,
    executable: str,
    key: str | None = TEST_KEY,
    write: bool = False,
    config: Path | None = None,
    name: str = DEFAULT_NAME,
    platform: str = "linux",
    environ: dict[str, str] | None = None,
    workspace: Path | None = None,
) -> Run:
    environ = dict(environ or {})
    if workspace is not None:
        environ["OPENAI_IMAGE_MCP_WORKSPACE"] = str(workspace)
    settings = Settings(openai_api_key=key, workspace=workspace or home / "default-ws")
    args = argparse.Namespace(client=client, write=write, config=config, name=name)
    out, err = io.StringIO(), io.StringIO()
    where = Where(home=home, environ=environ, platform=platform, cwd=project)
    code = install.main(args, settings, where=where, executable=executable, out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


# ---- what is printed -------------------------------------------------------------------------------------------------


def test_claude_desktop_prints_the_exact_entry(home: Path, project: Path, executable: str, tmp_path: Path) -> None:
    r = run("claude-desktop", home=home, project=project, executable=executable, workspace=tmp_path / "pics")
    assert r.code == 0
    script = str(Path(executable).with_name("openai-image-mcp"))
    assert r.json() == {
        "mcpServers": {
            "openai-image": {
                "command": script,
                "args": [],
                "env": {"OPENAI_API_KEY": TEST_KEY, "OPENAI_IMAGE_MCP_WORKSPACE": str(tmp_path / "pics")},
            }
        }
    }
    assert str(home / ".config" / "Claude" / "claude_desktop_config.json") in r.err
    assert "console script" in r.err and "keep the file private" in r.err


def test_without_a_key_the_placeholder_and_a_note(home: Path, project: Path, executable: str) -> None:
    r = run("cursor", home=home, project=project, executable=executable, key=None)
    entry = r.json()["mcpServers"]["openai-image"]
    assert entry["env"] == {"OPENAI_API_KEY": KEY_PLACEHOLDER}  # no workspace variable: the server's default
    assert "OPENAI_API_KEY is not set" in r.err and "https://platform.openai.com/api-keys" in r.err
    assert str(home / ".cursor" / "mcp.json") in r.err


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("darwin", {}, "Library/Application Support/Claude/claude_desktop_config.json"),
        ("win32", {"APPDATA": "{home}/AppData/Roaming"}, "AppData/Roaming/Claude/claude_desktop_config.json"),
        ("linux", {}, ".config/Claude/claude_desktop_config.json"),
        ("linux", {"XDG_CONFIG_HOME": "{home}/xdg"}, "xdg/Claude/claude_desktop_config.json"),
    ],
)
def test_claude_desktops_config_file_per_platform(
    home: Path, project: Path, platform: str, environ: dict[str, str], expected: str
) -> None:
    where = Where(home, {k: v.format(home=home) for k, v in environ.items()}, platform, project)
    assert CLIENTS["claude-desktop"].path(where) == home / expected


def test_claude_code_prints_the_claude_mcp_add_line(home: Path, project: Path, executable: str) -> None:
    r = run("claude-code", home=home, project=project, executable=executable)
    script = str(Path(executable).with_name("openai-image-mcp"))
    argv = shlex.split(r.out)
    assert argv == ["claude", "mcp", "add", "openai-image", "-e", f"OPENAI_API_KEY={TEST_KEY}", "--", script]
    assert "--write" in r.err and ".mcp.json" in r.err


def test_vscode_uses_servers_and_stdio(home: Path, project: Path, executable: str) -> None:
    r = run("vscode", home=home, project=project, executable=executable)
    assert list(r.json()) == ["servers"]
    assert r.json()["servers"]["openai-image"]["type"] == "stdio"
    assert str(project / ".vscode" / "mcp.json") in r.err


def test_every_client_is_offered() -> None:
    assert tuple(sorted(CLIENTS)) == CLIENT_NAMES


def test_the_command_prefers_the_console_script_then_the_clone(tmp_path: Path, executable: str) -> None:
    assert server_command(executable, "linux").command == str(Path(executable).with_name("openai-image-mcp"))
    bare = str(tmp_path / "elsewhere" / "python")
    found = server_command(bare, "linux")
    assert found.command == str(ROOT / "scripts" / "serve") and found.args == ()  # tests run in a clone
    windows = server_command(bare, "win32")
    assert (windows.command, windows.args) == (bare, ("-m", "openai_image_mcp"))


# ---- --write ---------------------------------------------------------------------------------------------------------


def existing_config(path: Path) -> str:
    text = json.dumps(
        {
            "globalShortcut": "Ctrl+Space",
            "mcpServers": {
                "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
                "openai-image": {"command": "/old/path/openai-image-mcp", "args": [], "env": {}},
            },
        },
        indent=4,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".backup-*"))


def test_write_merges_keeps_the_rest_backs_up_and_is_idempotent(home: Path, project: Path, executable: str) -> None:
    config = home / "claude_desktop_config.json"
    old = existing_config(config)
    first = run("claude-desktop", home=home, project=project, executable=executable, write=True, config=config)
    assert first.code == 0 and "Replaced the 'openai-image' server" in first.out
    data = json.loads(config.read_text())
    assert data["globalShortcut"] == "Ctrl+Space"
    assert data["mcpServers"]["filesystem"] == json.loads(old)["mcpServers"]["filesystem"]
    assert data["mcpServers"]["openai-image"]["command"] == str(Path(executable).with_name("openai-image-mcp"))
    assert data["mcpServers"]["openai-image"]["env"]["OPENAI_API_KEY"] == TEST_KEY
    (saved,) = backups(config)
    assert saved.read_text() == old and str(saved) in first.out
    after_first = config.read_bytes()
    second = run("claude-desktop", home=home, project=project, executable=executable, write=True, config=config)
    assert second.code == 0 and "nothing changed" in second.out
    assert config.read_bytes() == after_first and backups(config) == [saved]


def test_write_creates_a_missing_file_privately(home: Path, project: Path, executable: str) -> None:
    r = run("cursor", home=home, project=project, executable=executable, write=True)
    config = home / ".cursor" / "mcp.json"
    assert r.code == 0 and "Added the 'openai-image' server" in r.out
    assert json.loads(config.read_text())["mcpServers"]["openai-image"]["env"] == {"OPENAI_API_KEY": TEST_KEY}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and backups(config) == []


def test_write_keeps_the_files_permissions(home: Path, project: Path, executable: str) -> None:
    config = home / "mcp.json"
    existing_config(config)
    config.chmod(0o640)
    run("cursor", home=home, project=project, executable=executable, write=True, config=config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_write_for_claude_code_and_vscode_in_the_current_folder(home: Path, project: Path, executable: str) -> None:
    run("claude-code", home=home, project=project, executable=executable, write=True, name="images")
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["images"]
    assert entry["type"] == "stdio" and entry["command"].endswith("openai-image-mcp")
    vscode = project / ".vscode" / "mcp.json"
    vscode.parent.mkdir()
    vscode.write_text('{"inputs": [{"id": "x", "type": "promptString"}], "servers": {"other": {"url": "http://h"}}}')
    run("vscode", home=home, project=project, executable=executable, write=True)
    data = json.loads(vscode.read_text())
    assert data["inputs"] == [{"id": "x", "type": "promptString"}]
    assert set(data["servers"]) == {"other", "openai-image"} and data["servers"]["openai-image"]["type"] == "stdio"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"mcpServers": {"a": {"command": "x"},}}', "is not valid JSON"),
        ('// my servers\n{"servers": {}}', "is not valid JSON"),
        ("[1, 2]", "not an object"),
        ('{"mcpServers": ["a"]}', '"mcpServers" in'),
    ],
)
def test_write_refuses_a_file_it_cannot_merge(home: Path, project: Path, executable: str, text: str, says: str) -> None:
    config = home / "claude_desktop_config.json"
    config.write_text(text)
    r = run("claude-desktop", home=home, project=project, executable=executable, write=True, config=config)
    assert r.code == 2 and says in r.err and "add this by hand" in r.err
    assert config.read_text() == text and backups(config) == []
    assert '"openai-image"' in r.err  # the entry, to paste


def test_an_empty_file_is_an_empty_configuration(home: Path, project: Path, executable: str) -> None:
    config = home / "claude_desktop_config.json"
    config.write_text("\n")
    r = run("claude-desktop", home=home, project=project, executable=executable, write=True, config=config)
    assert r.code == 0 and list(json.loads(config.read_text())["mcpServers"]) == ["openai-image"]
    (saved,) = backups(config)
    assert saved.read_text() == "\n"


def test_backups_made_in_the_same_second_do_not_collide(tmp_path: Path) -> None:
    from datetime import datetime

    config = tmp_path / "c.json"
    config.write_text("{}")
    now = datetime(2026, 11, 30, 10, 0, 0)
    first, second = install.backup(config, now), install.backup(config, now)
    assert (first.name, second.name) == ("c.json.backup-20261130-100000", "c.json.backup-20261130-100000-2")


# ---- the real command ------------------------------------------------------------------------------------------------


@pytest.mark.subprocess
def test_the_command_writes_this_installations_console_script(tmp_path: Path, workspace: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    existing_config(config)
    env = cli_env(workspace, OPENAI_API_KEY=TEST_KEY)
    done = run_cli("install", "claude-desktop", "--write", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    entry = json.loads(config.read_text())["mcpServers"]["openai-image"]
    assert entry == {
        "command": CLI,
        "args": [],
        "env": {"OPENAI_API_KEY": TEST_KEY, "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace)},
    }
    assert Path(entry["command"]) == Path(sys.executable).with_name("openai-image-mcp")
    again = run_cli("install", "claude-desktop", "--write", "--config", str(config), env=env)
    assert again.returncode == 0 and "nothing changed" in again.stdout and len(backups(config)) == 1


@pytest.mark.subprocess
def test_the_command_refuses_broken_json_with_status_2(tmp_path: Path, workspace: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text("{not json")
    done = run_cli("install", "cursor", "--write", "--config", str(config), env=cli_env(workspace))
    assert done.returncode == 2 and "is not valid JSON" in done.stderr and config.read_text() == "{not json"


@pytest.mark.subprocess
def test_the_command_prints_without_a_key(workspace: Path) -> None:
    done = run_cli("install", "vscode", env=cli_env(workspace))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["servers"]["openai-image"]["env"]["OPENAI_API_KEY"] == KEY_PLACEHOLDER
    bad = run_cli("install", "emacs", env=cli_env(workspace))
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
