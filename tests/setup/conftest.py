"""Fixtures of the set-up commands' tests: the real ``openai-image-mcp`` command, and the official MCPB CLI.

The MCPB CLI (``@anthropic-ai/mcpb``, the version pinned in ``setup/mcpb.py``) is installed into ``.tools/mcpb`` by
npm the first time a test needs it, under a file lock so that concurrent test runs do not install it twice at once.
That install is the only network access of the tests (the npm registry); without node or npm those tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from openai_image_mcp.setup.mcpb import MCPB_CLI_VERSION

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("openai-image-mcp"))
TOOLS = ROOT / ".tools" / "mcpb"
MCPB_PACKAGE = "@anthropic-ai/mcpb"


def cli_env(workspace: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for the command: PATH, HOME (an empty folder beside the workspace's first existing
    ancestor: nothing reads the developer's files), the workspace, UTF-8 output, and ``extra``."""
    base = workspace.parent
    while not base.is_dir():
        base = base.parent
    home = base / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONIOENCODING": "utf-8",
        "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace),
        **extra,
    }


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no concurrent runs to guard against here
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _installed_version() -> str | None:
    package = TOOLS / "node_modules" / MCPB_PACKAGE / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def mcpb_cli() -> Path:
    """The ``mcpb`` executable of the pinned ``@anthropic-ai/mcpb``, installed on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not on PATH: the official MCPB CLI (@anthropic-ai/mcpb) cannot run here")
    with _locked(ROOT / ".tools" / "mcpb.lock"):
        if _installed_version() != MCPB_CLI_VERSION:
            spec = f"{MCPB_PACKAGE}@{MCPB_CLI_VERSION}"
            done = subprocess.run(
                [
                    "npm",
                    "install",
                    "--prefix",
                    str(TOOLS),
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--save-exact",
                    spec,
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                pytest.fail(
                    f"npm could not install {spec} into {TOOLS} (is the npm registry reachable?):\n{done.stderr}"
                )
    cli = TOOLS / "node_modules" / ".bin" / "mcpb"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == MCPB_CLI_VERSION, (version.stdout, version.stderr)
    return cli


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on a loopback port nobody listens on (connection refused at once)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
