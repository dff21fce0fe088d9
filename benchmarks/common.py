"""Helpers shared by the benchmark scripts: the loopback fake and the real server over stdio."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from tests.support.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent


def server_params(fake: FakeOpenAI | RemoteFake, workspace: Path, **env: str) -> StdioServerParameters:
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENAI_API_KEY": "sk-bench-0123456789",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace),
        "OPENAI_IMAGE_MCP_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
        **{k: v for k, v in os.environ.items() if k in ("PYTHONASYNCIODEBUG", "PYTHONPATH")},
        **env,
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "openai_image_mcp.server"], env=full_env)


@asynccontextmanager
async def stdio_server(fake: FakeOpenAI | RemoteFake, *, mode: str = "auto", **env: str) -> AsyncIterator[Client]:
    with tempfile.TemporaryDirectory() as tmp:
        async with Client(server_params(fake, Path(tmp), **env), mode=mode) as client:  # type: ignore[arg-type]
            yield client


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 4),
        "min": round(ordered[0], 4),
        "max": round(ordered[-1], 4),
    }


class RemoteFake:
    """The loopback fake in its own process, as OpenAI would be: its CPU work does not compete
    with the benchmark client's event loop for the GIL."""

    def __init__(self, latency: float, *, flat_images: bool = False) -> None:
        self.latency = latency
        self.flat_images = flat_images
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> RemoteFake:
        code = (
            "import sys; from tests.support.fake_openai import FakeOpenAI\n"
            f"f = FakeOpenAI(latency={self.latency!r}, flat_images={self.flat_images!r}).start()\n"
            "print(f.base_url, flush=True)\n"
            "sys.stdin.read(); f.stop()"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        self.base_url = self._proc.stdout.readline().strip()
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=10)
