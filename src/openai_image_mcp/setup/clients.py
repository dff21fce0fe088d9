"""What each MCP client needs to start this server: the command (an absolute path), the env block, the file the
client reads and the shape of its entry there.

The command is the ``openai-image-mcp`` console script beside the running interpreter (the installation being
configured), else a clone's ``scripts/serve``, else ``<python> -m openai_image_mcp``. The env block carries
``OPENAI_API_KEY`` (this shell's, or the placeholder ``sk-...``) and ``OPENAI_IMAGE_MCP_WORKSPACE`` when it is set.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai_image_mcp
from openai_image_mcp.setup import DEFAULT_NAME

__all__ = ["CLIENTS", "DEFAULT_NAME", "Client", "Command", "Where"]

#: The stand-in for a key this shell does not have.
KEY_PLACEHOLDER = "sk-..."
CONSOLE_SCRIPT = "openai-image-mcp"


@dataclass(frozen=True)
class Command:
    command: str
    args: tuple[str, ...]
    #: how it was found, for the note printed with the configuration
    source: str


def server_command(executable: str, platform: str) -> Command:
    """The command a client should run: absolute, independent of the client's working folder."""
    interpreter = Path(executable)
    script = interpreter.with_name(CONSOLE_SCRIPT + (".exe" if platform == "win32" else ""))
    if script.is_file():
        return Command(str(script), (), "the console script of this installation")
    clone = Path(openai_image_mcp.__file__).resolve().parents[2] / "scripts" / "serve"
    if platform != "win32" and clone.is_file():
        return Command(str(clone), (), "this clone's scripts/serve (it sets up .venv on its first run)")
    return Command(str(interpreter), ("-m", "openai_image_mcp"), "this Python, running the package as a module")


def env_block(api_key: str | None, workspace: Path | None) -> dict[str, str]:
    env = {"OPENAI_API_KEY": api_key or KEY_PLACEHOLDER}
    if workspace is not None:
        env["OPENAI_IMAGE_MCP_WORKSPACE"] = str(workspace)
    return env


def _claude_desktop_path(home: Path, environ: Mapping[str, str], platform: str) -> Path:
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if platform == "win32":
        appdata = environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Claude" / "claude_desktop_config.json"
    config = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / "Claude" / "claude_desktop_config.json"


@dataclass(frozen=True)
class Where:
    """What decides a client's config path: the home folder, the environment, the platform, the current folder."""

    home: Path
    environ: Mapping[str, str]
    platform: str
    cwd: Path


@dataclass(frozen=True)
class Client:
    key: str
    title: str
    #: the top-level key that holds the servers
    servers_key: str
    #: whether entries say ``"type": "stdio"``
    typed: bool
    path: Callable[[Where], Path]
    #: where the user finds the file, and what to do after writing it
    hint: str
    restart: str

    def entry(self, command: Command, env: Mapping[str, str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "stdio"} if self.typed else {}
        entry.update(command=command.command, args=list(command.args), env=dict(env))
        return entry


CLIENTS: dict[str, Client] = {
    c.key: c
    for c in [
        Client(
            "claude-desktop",
            "Claude Desktop",
            "mcpServers",
            False,
            lambda w: _claude_desktop_path(w.home, w.environ, w.platform),
            "Claude Desktop: Settings -> Developer -> Edit Config opens this file.",
            "Quit Claude Desktop completely and open it again.",
        ),
        Client(
            "claude-code",
            "Claude Code",
            "mcpServers",
            True,
            lambda w: w.cwd / ".mcp.json",
            "The project's .mcp.json (shared with everyone who opens the project: keep the key out of version "
            "control); the `claude mcp add` line instead keeps it in your own Claude Code settings.",
            "Start a new Claude Code session in this folder; it asks once to approve the project's server.",
        ),
        Client(
            "cursor",
            "Cursor",
            "mcpServers",
            False,
            lambda w: w.home / ".cursor" / "mcp.json",
            "Cursor's global MCP configuration (Settings -> MCP shows it).",
            "Restart Cursor, or turn the server off and on under Settings -> MCP.",
        ),
        Client(
            "vscode",
            "VS Code",
            "servers",
            True,
            lambda w: w.cwd / ".vscode" / "mcp.json",
            "The workspace's .vscode/mcp.json (keep the key out of version control).",
            "In VS Code, run 'MCP: List Servers' and start openai-image, or reload the window.",
        ),
    ]
}


def snippet(client: Client, name: str, entry: Mapping[str, Any]) -> str:
    """The JSON to add to the client's file."""
    return json.dumps({client.servers_key: {name: entry}}, indent=2, ensure_ascii=False)


def claude_mcp_add(name: str, command: Command, env: Mapping[str, str], platform: str) -> str:
    """The ``claude mcp add`` line (quoted for this platform's shell)."""
    argv = ["claude", "mcp", "add", name]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    argv += ["--", command.command, *command.args]
    return subprocess.list2cmdline(argv) if platform == "win32" else shlex.join(argv)


def workspace_from_env(environ: Mapping[str, str], resolved: Path) -> Path | None:
    """The workspace to pass on: only when this shell sets one (then absolute), else the server's default."""
    return resolved if environ.get("OPENAI_IMAGE_MCP_WORKSPACE", "").strip() else None


def default_where() -> Where:
    import sys

    return Where(Path.home(), os.environ, sys.platform, Path.cwd())
