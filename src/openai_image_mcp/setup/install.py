"""``openai-image-mcp install CLIENT [--write] [--name NAME] [--config PATH]``: the exact configuration for this
installation, printed, or merged into the client's file.

``--write`` adds (or replaces) one entry under the client's servers key and leaves every other server and key as it
was. Before it changes an existing file it copies it next to itself (``<name>.backup-<YYYYmmdd-HHMMSS>``); a second
run with the same entry changes nothing. A file that is not valid JSON is never overwritten: the command says so and
exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup.clients import (
    CLIENTS,
    KEY_PLACEHOLDER,
    Client,
    Where,
    claude_mcp_add,
    default_where,
    env_block,
    server_command,
    snippet,
    workspace_from_env,
)

EXIT_OK = 0
EXIT_REFUSED = 2
API_KEYS_URL = "https://platform.openai.com/api-keys"


class Refused(Exception):
    """The config file cannot be merged into safely; nothing was changed."""


def load(path: Path, servers_key: str) -> dict[str, Any]:
    """The config file as an object (``{}`` when it is missing or empty). Raises :class:`Refused`."""
    if not path.exists():
        return {}
    if path.is_dir():
        raise Refused(f"{path} is a folder, not a config file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; comments are not "
            "JSON either), so it was left as it is."
        ) from exc
    if not isinstance(data, dict):
        raise Refused(f"{path} is JSON, but not an object ({{...}}), so it was left as it is.")
    if not isinstance(data.get(servers_key, {}), dict):
        raise Refused(f'"{servers_key}" in {path} is not an object ({{...}}), so the file was left as it is.')
    return data


def backup(path: Path, now: datetime | None = None) -> Path:
    """Copy ``path`` to ``<name>.backup-<timestamp>`` beside it (``-2``, ``-3``... if that exists)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.backup-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.backup-{stamp}-{n}")
    shutil.copy2(path, target)
    return target


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, keeping its permissions (a new file is private: it may hold a key)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def merge(path: Path, client: Client, name: str, entry: dict[str, Any]) -> tuple[str, Path | None]:
    """Put ``entry`` under ``name`` in the client's file. Returns what happened (``added``, ``replaced`` or
    ``unchanged``) and the backup made, if any. Raises :class:`Refused`."""
    data = load(path, client.servers_key)
    servers = data.setdefault(client.servers_key, {})
    if servers.get(name) == entry:
        return "unchanged", None
    outcome = "replaced" if name in servers else "added"
    servers[name] = entry
    saved = backup(path) if path.is_file() else None
    try:
        write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise Refused(f"cannot write {path}: {exc}") from exc
    return outcome, saved


def _notes(settings: Settings, source: str, command: str) -> list[str]:
    notes = [f"Command: {command} ({source})."]
    if settings.api_key:
        notes.append("The env block holds this shell's OPENAI_API_KEY: keep the file private, never commit it.")
    else:
        notes.append(
            f"OPENAI_API_KEY is not set in this shell, so the env block has the placeholder {KEY_PLACEHOLDER}: "
            f"replace it with your key ({API_KEYS_URL})."
        )
    return notes


def main(
    args: argparse.Namespace,
    settings: Settings,
    *,
    where: Where | None = None,
    executable: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print or write the configuration; returns the exit status."""
    where = where or default_where()
    out, err = out or sys.stdout, err or sys.stderr
    client = CLIENTS[args.client]
    command = server_command(executable or sys.executable, where.platform)
    env = env_block(settings.api_key, workspace_from_env(where.environ, settings.workspace))
    entry = client.entry(command, env)
    path: Path = args.config.expanduser().absolute() if args.config else client.path(where)
    notes = _notes(settings, command.source, command.command)
    if args.write:
        try:
            outcome, saved = merge(path, client, args.name, entry)
        except Refused as exc:
            err.write(f"openai-image-mcp: {exc}\nFix or move the file and run again, or add this by hand:\n")
            err.write(snippet(client, args.name, entry) + "\n")
            return EXIT_REFUSED
        if outcome == "unchanged":
            out.write(f"{path} already has this {args.name!r} entry; nothing changed.\n")
        else:
            kept = f" The old file is kept as {saved}." if saved else ""
            out.write(f"{outcome.capitalize()} the {args.name!r} server in {path}.{kept}\n{client.restart}\n")
        err.write("\n".join(notes[1:]) + "\n")
        return EXIT_OK
    if client.key == "claude-code":
        out.write(claude_mcp_add(args.name, command, env, where.platform) + "\n")
        notes.append(f"Or, for the project's {path.name}: openai-image-mcp install claude-code --write. {client.hint}")
    else:
        out.write(snippet(client, args.name, entry) + "\n")
        notes.append(
            f"Add this to {path} under {client.servers_key!r}, beside the servers already there ({client.hint}), or "
            f"run again with --write to merge it (the old file is backed up). Then: {client.restart}"
        )
    err.write("\n".join(notes) + "\n")
    return EXIT_OK
