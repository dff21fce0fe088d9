"""Process start to the tools/list reply: our server versus a bare MCPServer with one tool.

Both are started the same way (``python -c ...`` / ``python -m ...`` over stdio), alternately, in the
same run; the time is from spawning the process to reading the tools/list response line.

Run: .venv/bin/python -m benchmarks.startup
Target: ours within 15% of the bare server.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 15
BARE = (
    "from mcp.server import MCPServer\n"
    "mcp = MCPServer('bare')\n"
    "@mcp.tool()\n"
    "def hello(name: str) -> str:\n"
    "    return 'hi ' + name\n"
    "mcp.run()\n"
)
MESSAGES = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},'
    '"clientInfo":{"name":"bench","version":"1"}}}\n'
    '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
)


def time_to_tools_list(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(MESSAGES.encode())
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("server exited before answering tools/list")
        if b'"id":2' in line:
            break
    elapsed = time.perf_counter() - start
    proc.stdin.close()
    proc.wait(timeout=10)
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "OPENAI_IMAGE_MCP_WORKSPACE": tmp, "OPENAI_API_KEY": "sk-bench-123456"}
        ours_cmd = [sys.executable, "-m", "openai_image_mcp.server"]
        bare_cmd = [sys.executable, "-c", BARE]
        time_to_tools_list(ours_cmd, env)  # first run creates the workspace and database
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(RUNS):
            bare.append(time_to_tools_list(bare_cmd, env))
            ours.append(time_to_tools_list(ours_cmd, env))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare MCPServer, one tool: median {b * 1000:.0f} ms (min {min(bare) * 1000:.0f})")
    print(f"openai-image-mcp:          median {o * 1000:.0f} ms (min {min(ours) * 1000:.0f})")
    print(f"ratio: {o / b:.3f} ({(o / b - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
