"""Process start to the tools/list reply: our server versus a bare MCPServer with one tool.

Both are started the same way (``python -c ...`` / ``python -m ...`` over stdio), alternately, in the
same run; the time is from spawning the process to reading the tools/list response line.

Our server registers its 17 tools at start, as the SDK expects (the SDK derives each tool's input and
output JSON schemas then); the script also reports, for information, the time from spawning to the
reply of a first tools/call (``hello`` on the bare server, ``get_usage_guide`` on ours).

Run: .venv/bin/python -m benchmarks.startup
Target: ours within 25% of the bare server (tools/list), on a fresh install.
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
INIT = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},'
    '"clientInfo":{"name":"bench","version":"1"}}}\n'
    '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
)
MESSAGES = INIT + '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'


def first_call(tool: str, arguments: str) -> str:
    """INIT, then a tools/call with id 2."""
    return INIT + (
        f'{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}\n'
    )


def time_to_reply(args: list[str], env: dict[str, str], messages: str = MESSAGES) -> float:
    """Seconds from spawning the server to reading the reply to request id 2."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(messages.encode())
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("server exited before answering request 2")
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
        time_to_reply(ours_cmd, env)  # first run creates the workspace and database
        ours: list[float] = []
        bare: list[float] = []
        ours_call: list[float] = []
        bare_call: list[float] = []
        for _ in range(RUNS):
            bare.append(time_to_reply(bare_cmd, env))
            ours.append(time_to_reply(ours_cmd, env))
            bare_call.append(time_to_reply(bare_cmd, env, first_call("hello", '{"name":"x"}')))
            ours_call.append(time_to_reply(ours_cmd, env, first_call("get_usage_guide", "{}")))
    b, o = statistics.median(bare), statistics.median(ours)
    print("tools/list reply:")
    print(f"  bare MCPServer, one tool: median {b * 1000:.0f} ms (min {min(bare) * 1000:.0f})")
    print(f"  openai-image-mcp:         median {o * 1000:.0f} ms (min {min(ours) * 1000:.0f})")
    print(f"  ratio: {o / b:.3f} ({(o / b - 1) * 100:+.1f}%)")
    bc, oc = statistics.median(bare_call), statistics.median(ours_call)
    print("first tools/call reply (for information):")
    print(f"  bare MCPServer, hello:            median {bc * 1000:.0f} ms")
    print(f"  openai-image-mcp, get_usage_guide: median {oc * 1000:.0f} ms ({(oc / bc - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
