"""Crash safety: the real server process killed with SIGKILL at a random moment of a generation.

Each iteration starts ``python -m openai_image_mcp.server`` over stdio on a fresh workspace, creates a session,
completes one or two turns, then starts another turn (and, in some iterations, a concurrent one-shot
``generate_image``) and SIGKILLs the process between 0 and the fake's latency + 150 ms after the call was sent: some
kills land while OpenAI (the fake) is still drawing, some while the server decodes and saves the files. A new process
on the same workspace must then show a consistent state: every image a successful result reported is on disk with
its metadata sidecar and is listed; no temporary file is left; no turn is pending; the session's images folder holds
exactly the images the database lists; the session continues and its numbering goes on; SQLite's integrity check
passes.

``CRASH_RUNS`` sets the number of iterations (default 3); ``CRASH_RUNS=20`` is the long run. With
``--log-cli-level=INFO`` each iteration logs where its kill landed.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from tests.conftest import TEST_KEY
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.subprocess

log = logging.getLogger(__name__)

CRASH_RUNS = int(os.environ.get("CRASH_RUNS", "3"))
IMAGE_SUFFIXES = {".png", ".jpeg", ".jpg", ".webp"}


def server_params(workspace: Path, fake: FakeOpenAI) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace),
        "OPENAI_IMAGE_MCP_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "openai_image_mcp.server"], env=env)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.structured_content or result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


def wait_until_gone(pid: int, timeout: float = 5.0) -> None:
    """The killed process has exited (a zombie not yet reaped counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still runs {timeout} s after SIGKILL")


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.002)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def sidecars(root: Path) -> list[Path]:
    return [p for p in files_under(root) if p.name.endswith("_metadata.json") and not p.name.startswith(".")]


def check_database(workspace: Path) -> None:
    with contextlib.closing(sqlite3.connect(workspace / "state.sqlite3")) as conn:
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
        pending = conn.execute("SELECT count(*) FROM turns WHERE status = 'pending'").fetchone()[0]
    assert integrity == "ok", integrity
    assert pending == 0, f"{pending} turn(s) still pending"


@dataclass
class Run:
    """One iteration: its random choices, and what the client saw before and at the kill."""

    seed: int
    latency: float = 0.0
    delay: float = 0.0
    concurrent: bool = False
    turns_before: int = 1
    session_id: str = ""
    reported: list[dict[str, Any]] = field(default_factory=list)  # every image a successful result named
    in_flight: dict[str, CallToolResult | BaseException] = field(default_factory=dict)
    landed: str = ""

    def keep(self, sc: dict[str, Any]) -> None:
        self.reported.extend(sc.get("images") or [])

    def answered(self, key: str) -> bool:
        outcome = self.in_flight.get(key)
        return isinstance(outcome, CallToolResult) and not outcome.is_error

    def describe(self) -> str:
        return (
            f"seed {self.seed}: latency {self.latency * 1000:.0f} ms, kill {self.delay * 1000:.0f} ms after the call"
            f"{' (with a concurrent one-shot)' if self.concurrent else ''}"
        )


async def _record(client: Client, name: str, args: dict[str, Any], run: Run, key: str) -> None:
    """A call the kill may interrupt: its result, or the exception the dropped connection raised."""
    try:
        result = await client.call_tool(name, args)
    except Exception as exc:
        run.in_flight[key] = exc
        return
    run.in_flight[key] = result
    if not result.is_error and result.structured_content:
        run.keep(dict(result.structured_content))


async def crash_one(params: StdioServerParameters, fake: FakeOpenAI, run: Run) -> None:
    """Start the server, make some turns, SIGKILL it while a turn (and maybe a one-shot) is in flight."""
    rng = random.Random(run.seed)
    run.latency = fake.latency = rng.uniform(0.1, 0.3)
    run.delay = rng.uniform(0, run.latency + 0.15)
    run.concurrent = rng.random() < 0.5
    run.turns_before = rng.choice([1, 2])
    pid, killed = 0, False
    try:
        with anyio.fail_after(30):
            async with Client(params) as client:
                pid = structured(await client.call_tool("get_server_stats", {}))["pid"]
                created = structured(await client.call_tool("create_image_session", {"description": "crash test"}))
                run.session_id = created["session"]["session_id"]
                for n in range(run.turns_before):
                    args = {"session_id": run.session_id, "prompt": f"a fox, take {n + 1}", "quality": "low"}
                    run.keep(structured(await client.call_tool("generate_image_in_session", args)))
                async with anyio.create_task_group() as tg:
                    args = {"session_id": run.session_id, "prompt": "the fox jumps", "quality": "low"}
                    tg.start_soon(_record, client, "generate_image_in_session", args, run, "turn")
                    if run.concurrent:
                        tg.start_soon(_record, client, "generate_image", {"prompt": "a lighthouse"}, run, "one-shot")
                    await anyio.sleep(run.delay)
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    # the calls in flight end, with an error, once the pipe closes: none hangs
                    await wait_for(lambda: len(run.in_flight) == 1 + run.concurrent)
    except Exception:  # the dropped connection also surfaces while the client closes: expected after the kill
        if not killed:
            raise
    assert killed
    wait_until_gone(pid)


async def check_after_restart(params: StdioServerParameters, workspace: Path, run: Run) -> None:
    images_root = workspace / "generated_images"
    async with Client(params) as client:
        # the temporary files the crash left are swept (in the background, right after the start-up)
        def temporaries() -> list[Path]:
            return [p for p in files_under(images_root) if p.name.startswith(".tmp-")]

        with contextlib.suppress(TimeoutError):
            await wait_for(lambda: not temporaries(), timeout=5)
        assert temporaries() == [], "temporary files still there 5 s after the start"

        status = structured(await client.call_tool("get_session_status", {"session_id": run.session_id}))
        turns = status["turns"]
        assert {t["status"] for t in turns} <= {"completed", "interrupted"}, turns
        listed = structured(await client.call_tool("list_images", {"limit": 100}))
        listed_ids = {i["image_id"] for i in listed["images"]}
        session_ids = {i["image_id"] for i in status["images"]}

        # every image a successful result reported survived, with its sidecar, and is listed
        for image in run.reported:
            path = Path(image["file_path"])
            assert path.is_file(), f"reported image {path} is gone"
            json.loads(Path(image["metadata_path"]).read_text(encoding="utf-8"))
            assert image["image_id"] in listed_ids, f"reported image {image['image_id']} is not listed"
            if path.parent.parent.parent == images_root / "sessions":
                assert image["image_id"] in session_ids, f"reported image {image['image_id']} not in the session"
        completed = [t for t in turns if t["status"] == "completed"]
        assert len(completed) >= run.turns_before
        assert sum(len(t["image_ids"]) for t in completed) == len(status["images"])

        # the session's folder holds exactly the images the database lists, and their sidecars; so does every
        # other folder (nothing leaked by a half-saved generation)
        rows = {Path(i["file_path"]) for i in listed["images"]}
        sidecars = {Path(i["metadata_path"]) for i in listed["images"]}
        on_disk = set(files_under(images_root)) - {p for p in files_under(images_root) if p.name.endswith(".json")}
        on_disk |= {p for p in files_under(images_root) if p.name.endswith("_metadata.json")}
        orphans = on_disk - rows - sidecars
        missing = (rows | sidecars) - on_disk
        assert missing == set(), f"rows whose file is missing: {sorted(missing)}"
        assert orphans == set(), f"files without a row: {sorted(orphans)}"
        run.landed = where_the_kill_landed(run, turns)

        # the session goes on, and its numbering with it
        args = {"session_id": run.session_id, "prompt": "the fox lands", "quality": "low"}
        nxt = structured(await client.call_tool("generate_image_in_session", args))
        assert Path(nxt["file_path"]).name == f"image_{len(status['images']) + 1:03d}.png"
        assert nxt["turn"] == len(turns) + 1
    check_database(workspace)


def where_the_kill_landed(run: Run, turns: list[dict[str, Any]]) -> str:
    if run.answered("turn"):
        return "after the answer"
    if len(turns) == run.turns_before:
        return "before the turn began"
    if turns[-1]["status"] == "completed":
        return "after the commit, before the answer"
    return "before the commit (OpenAI drawing, or the files being saved)"


@pytest.mark.timeout(max(60, 10 * CRASH_RUNS))
async def test_sigkill_at_a_random_moment_leaves_a_consistent_workspace(tmp_path: Path, fake: FakeOpenAI) -> None:
    landed: collections.Counter[str] = collections.Counter()
    for i in range(CRASH_RUNS):
        workspace = tmp_path / f"run-{i}" / "workspace"
        params = server_params(workspace, fake)
        run = Run(seed=i)
        started = time.monotonic()
        await crash_one(params, fake, run)
        fake.latency = 0.0
        try:
            await check_after_restart(params, workspace, run)
        except AssertionError as exc:
            raise AssertionError(f"iteration {i} ({run.describe()}): {exc}") from exc
        landed[run.landed] += 1
        log.info("iteration %d (%s): %s, %.1f s", i, run.describe(), run.landed, time.monotonic() - started)
    log.info("where the %d kills landed: %s", CRASH_RUNS, dict(landed))


def journal_entries(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        return int(conn.execute("SELECT count(*) FROM pending_files").fetchone()[0])


def journalled_or_committed(database: Path) -> bool:
    """The files are named in the journal, or (the server won the race) already committed with their rows."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        journalled = conn.execute("SELECT count(*) FROM pending_files").fetchone()[0]
        committed = conn.execute("SELECT count(*) FROM images").fetchone()[0]
    return bool(journalled or committed)


@contextlib.contextmanager
def write_lock(database: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock: the server's next commit waits (its busy timeout is 30 s)."""
    conn = sqlite3.connect(database, timeout=5, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@pytest.mark.parametrize("tool", ["generate_image_in_session", "generate_image"])
async def test_kill_between_the_rename_and_the_commit_leaves_no_orphan(
    tmp_path: Path, fake: FakeOpenAI, tool: str
) -> None:
    """The server names the files in its journal (a committed row in pending_files), renames them into place,
    then commits their rows. The test waits for the journal entry, then holds the database's write lock, so the
    server stops at the commit with the files in place; then it is killed. (If the server wins the race and
    commits first, the files have their rows: the check below holds either way.)"""
    workspace = tmp_path / "workspace"
    params = server_params(workspace, fake)
    fake.latency = 0.5
    images_root = workspace / "generated_images"
    pid, killed = 0, False
    try:
        with anyio.fail_after(30):
            async with Client(params) as client, anyio.create_task_group() as tg:
                pid = structured(await client.call_tool("get_server_stats", {}))["pid"]
                if tool == "generate_image_in_session":
                    created = structured(await client.call_tool("create_image_session", {"description": "x"}))
                    args = {"session_id": created["session"]["session_id"], "prompt": "a fox", "quality": "low"}
                else:
                    args = {"prompt": "a fox", "quality": "low"}
                run = Run(seed=0)
                tg.start_soon(_record, client, tool, args, run, "call")
                await wait_for(lambda: len(fake.requests) == 1)  # the turn (or job) row is written; OpenAI draws
                await wait_for(lambda: journalled_or_committed(workspace / "state.sqlite3"))
                with write_lock(workspace / "state.sqlite3"):
                    # the image, then its sidecar, are renamed into place; the commit waits for the lock
                    await wait_for(lambda: bool(sidecars(images_root)))
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                await wait_for(lambda: "call" in run.in_flight)
    except Exception:
        if not killed:
            raise
    wait_until_gone(pid)
    fake.latency = 0.0
    async with Client(params) as client:  # the start-up had its chance to clean up
        listed = structured(await client.call_tool("list_images", {"limit": 100}))
    check_database(workspace)
    rows = {Path(i["file_path"]) for i in listed["images"]}
    images = {p for p in files_under(images_root) if p.suffix in IMAGE_SUFFIXES}
    assert images == rows, f"files without a row: {sorted(images - rows)}; rows without a file: {sorted(rows - images)}"
    expected_sidecars = {p.with_name(f"{p.stem}_metadata.json") for p in rows}
    assert set(sidecars(images_root)) == expected_sidecars
    assert journal_entries(workspace / "state.sqlite3") == 0
