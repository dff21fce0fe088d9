"""``openai-image-mcp studio``, the real command: 127.0.0.1 only, a one-time token in the URL it logs, the page and
its api behind that token, a clean stop."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

from tests.conftest import TEST_KEY
from tests.support.fake_openai import FakeOpenAI
from tests.web.conftest import CLI, HTTP_TIMEOUT, STARTUP_TIMEOUT, cli_env, free_port

URL = re.compile(r"(http://127\.0\.0\.1:\d+/studio/#token=[A-Za-z0-9_-]+)")


@dataclass
class Studio:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)
    stdout: str = ""

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return self.url.split("#token=", 1)[1]


@contextmanager
def studio_command(args: list[str], env: dict[str, str]) -> Iterator[Studio]:
    """The command until the block ends (then SIGINT, as Ctrl-C); waits for the URL it logs (no polling)."""
    proc = subprocess.Popen([CLI, "studio", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    fresh: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            fresh.put(line)
        fresh.put(None)

    reader = threading.Thread(target=pump, name="studio-stderr", daemon=True)
    reader.start()
    studio: Studio | None = None
    try:
        while True:
            line = fresh.get(timeout=STARTUP_TIMEOUT)
            assert line is not None, "the studio exited:\n" + "".join(lines)
            found = URL.search(line)
            if found:
                break
        studio = Studio(proc, found.group(1), lines)
        yield studio
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
            if studio is not None and proc.stdout is not None:
                studio.stdout = proc.stdout.read()
        finally:
            reader.join(10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def test_the_studio_command_serves_the_page_and_its_api_behind_a_one_time_token(
    workspace: Path, fake: FakeOpenAI
) -> None:
    port = free_port()
    env = cli_env(workspace, OPENAI_API_KEY=TEST_KEY, OPENAI_BASE_URL=fake.base_url)
    with studio_command(["--no-browser", "--port", str(port)], env) as studio:
        assert studio.base == f"http://127.0.0.1:{port}"
        assert len(studio.token) >= 40
        with httpx2.Client(timeout=HTTP_TIMEOUT) as http:
            page = http.get(f"{studio.base}/studio/")
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert "default-src 'none'" in page.headers["content-security-policy"]

            api = f"{studio.base}/studio/api"
            made = {"method": "tools/call", "params": {"name": "generate_image", "arguments": {"prompt": "a fox"}}}
            listed = {"method": "tools/call", "params": {"name": "list_images", "arguments": {}}}
            assert http.post(api, json=listed).status_code == 401
            assert http.post(api, json=listed, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
            auth = {"Authorization": f"Bearer {studio.token}"}
            result = http.post(api, json=made, headers=auth).json()["result"]
            assert result["structuredContent"]["success"] is True, result
            image_id = result["structuredContent"]["image_id"]
            answer = http.post(api, json=listed, headers=auth)
            assert answer.status_code == 200
            assert [i["image_id"] for i in answer.json()["result"]["structuredContent"]["images"]] == [image_id]

            assert http.get(f"{studio.base}/mcp").status_code == 404  # the studio serves only itself
            assert http.get(f"{studio.base}/studio/", headers={"Host": "evil.example"}).status_code == 421
    assert studio.proc.returncode == 0, "".join(studio.lines)  # Ctrl-C stops it cleanly
    assert "Traceback" not in "".join(studio.lines)
    assert studio.stdout == ""  # the URL goes to stderr: stdout stays clean
    assert (workspace / "generated_images").is_dir()


def test_each_run_has_its_own_token(workspace: Path) -> None:
    env = cli_env(workspace)
    with studio_command(["--no-browser"], env) as first:
        pass
    with studio_command(["--no-browser"], env) as second:
        pass
    assert first.token != second.token


def test_the_studio_command_refuses_a_non_loopback_bind(workspace: Path) -> None:
    out = subprocess.run(
        [CLI, "studio", "--no-browser", "--host", "0.0.0.0"],
        env=cli_env(workspace),
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert out.returncode == 2
    assert "loopback" in out.stderr
    assert out.stdout == ""
