"""``openai-image-mcp token add/list/revoke`` (the real command) and a running server taking the tokens file's
changes without a restart."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.web import tokenfile
from tests.web.conftest import CLI, Running, Tokens, cli_env, connect, legacy_initialize, ok, post_mcp

pytestmark = pytest.mark.subprocess


def token_cli(*args: str, tokens_file: Path | None = None, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env(workspace)
    if tokens_file is not None:
        env["OPENAI_IMAGE_MCP_TOKENS_FILE"] = str(tokens_file)
    return subprocess.run([CLI, "token", *args], env=env, capture_output=True, text=True, timeout=60)


def test_token_add_prints_the_token_once_and_the_file_keeps_only_its_hash(tmp_path: Path, workspace: Path) -> None:
    file = tmp_path / "tokens"
    out = token_cli("--file", str(file), "add", "alice", "--scope", "images:read", workspace=workspace)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert out.stdout == token + "\n" and token.startswith("oim_") and len(token) > 40
    assert token not in out.stderr and "alice" in out.stderr
    text = file.read_text()
    assert token not in text
    assert f"alice {hashlib.sha256(token.encode()).hexdigest()} images:read" in text
    assert oct(file.stat().st_mode & 0o777) == oct(0o600)
    again = token_cli("--file", str(file), "add", "alice", workspace=workspace)
    assert again.returncode == 0 and again.stdout.strip() != token  # a second token, never the same


def test_token_add_takes_the_file_from_the_environment(tmp_path: Path, workspace: Path) -> None:
    file = tmp_path / "tokens"
    out = token_cli("add", "ci-bot", tokens_file=file, workspace=workspace)
    assert out.returncode == 0, out.stderr
    (entry,) = tokenfile.read(file)
    assert (entry.principal, entry.scopes) == ("ci-bot", ("images:read", "images:generate"))
    assert tokenfile.match([entry], out.stdout.strip()) == entry


def test_token_add_accepts_the_file_option_after_the_subcommand(tmp_path: Path, workspace: Path) -> None:
    file = tmp_path / "tokens"
    out = token_cli("add", "alice", "--scope", "images:read", "--file", str(file), workspace=workspace)
    assert out.returncode == 0, out.stderr
    assert [e.principal for e in tokenfile.read(file)] == ["alice"]


def test_token_list_shows_names_and_scopes_never_tokens(tmp_path: Path, workspace: Path) -> None:
    file = tmp_path / "tokens"
    alice, _ = tokenfile.add(file, "alice", [])
    ops, _ = tokenfile.add(file, "ops", ["admin"])
    out = token_cli("list", tokens_file=file, workspace=workspace)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("alice", "images:read images:generate"), ("ops", "admin")]
    for token in (alice, ops):
        assert token not in out.stdout and token not in out.stderr
        assert hashlib.sha256(token.encode()).hexdigest() not in out.stdout  # only a short prefix of the hash


def test_token_revoke_removes_every_token_of_the_principal(tmp_path: Path, workspace: Path) -> None:
    file = tmp_path / "tokens"
    tokenfile.add(file, "alice", [])
    tokenfile.add(file, "alice", ["images:read"])
    tokenfile.add(file, "bob", [])
    out = token_cli("revoke", "alice", tokens_file=file, workspace=workspace)
    assert out.returncode == 0, out.stderr
    assert [e.principal for e in tokenfile.read(file)] == ["bob"]
    again = token_cli("revoke", "alice", tokens_file=file, workspace=workspace)
    assert again.returncode == 2
    assert "alice" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["add", "alice", "--scope", "images:write"], id="bad-scope"),
        pytest.param(["add", "alice", "--scope", "admin", "--scope", "root"], id="one-bad-scope"),
        pytest.param(["add", "not a name"], id="bad-name"),
        pytest.param(["add", "-alice"], id="name-starting-with-a-dash"),
    ],
)
def test_a_bad_token_argument_exits_2_and_writes_nothing(tmp_path: Path, workspace: Path, args: list[str]) -> None:
    file = tmp_path / "tokens"
    out = token_cli(*args, tokens_file=file, workspace=workspace)
    assert out.returncode == 2
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert not file.exists()


def test_without_a_tokens_file_the_command_exits_2(workspace: Path) -> None:
    out = token_cli("list", workspace=workspace)
    assert out.returncode == 2
    assert "OPENAI_IMAGE_MCP_TOKENS_FILE" in out.stderr


async def test_a_running_server_takes_new_and_revoked_tokens_without_a_restart(
    server: Running, tokens: Tokens, tokens_file: Path, workspace: Path
) -> None:
    added = token_cli("add", "carol", tokens_file=tokens_file, workspace=workspace)
    assert added.returncode == 0, added.stderr
    carol = added.stdout.strip()
    assert (await post_mcp(server.url, legacy_initialize(), token=carol)).status_code == 200
    async with connect(server.url, carol) as client:
        await ok(client, "create_image_session", {"description": "carol's cats"})
        assert (await ok(client, "list_active_sessions"))["count"] == 1

    revoked = token_cli("revoke", "carol", tokens_file=tokens_file, workspace=workspace)
    assert revoked.returncode == 0, revoked.stderr
    assert (await post_mcp(server.url, legacy_initialize(), token=carol)).status_code == 401
    assert (await post_mcp(server.url, legacy_initialize(), token=tokens.alice)).status_code == 200


async def test_a_malformed_tokens_file_keeps_the_last_good_tokens(
    server: Running, tokens: Tokens, tokens_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = tokens_file.stat()
    tokens_file.write_text(tokens_file.read_text() + "this line is broken\n")
    os.utime(tokens_file, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # surely a change
    assert (await post_mcp(server.url, legacy_initialize(), token=tokens.alice)).status_code == 200
    assert (await post_mcp(server.url, legacy_initialize(), token="oim_not-a-token")).status_code == 401
    assert any("cannot re-read the tokens file" in r.getMessage() for r in caplog.records)


async def test_a_revoke_within_the_same_mtime_tick_takes_effect(
    serve: Callable[..., Running], web_settings: Settings, tokens: Tokens, tokens_file: Path
) -> None:
    server = serve(web_settings)
    assert (await post_mcp(server.url, legacy_initialize(), token=tokens.bob)).status_code == 200
    before = tokens_file.stat()
    assert tokenfile.revoke(tokens_file, "bob") == 1
    os.utime(tokens_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick as the previous write
    assert (await post_mcp(server.url, legacy_initialize(), token=tokens.bob)).status_code == 401
