"""Property-based fuzzing of every tool through the MCP protocol.

The tools are discovered at run time from ``tools/list``. One server and one in-memory ``mcp.Client``
stay alive for a whole hypothesis run: the client lives in a background event loop
(``anyio.from_thread.start_blocking_portal``) and each example calls a tool through the portal.

Three drivers:

* a deterministic sweep: every tool with a fixed list of hostile argument sets (nothing, ``None``, every
  property of the wrong type, path tricks in every string, unknown keys, huge strings, enormous numbers);
* random hostile arguments: any keys, any JSON values (nested lists and dicts, huge and odd unicode
  strings, numbers up to 10**30 and huge finite floats);
* near-valid arguments built from each tool's ``inputSchema`` and from what the server made so far
  (real session ids, image ids, resource URIs, file paths, job ids, prepared input files), with one
  property corrupted, a required one dropped, an unknown one added, or none changed; some calls are
  cancelled by the client part-way, some listen to progress.

Every call must return (never raise, never hang: 20 s each); an ``isError`` result carries the structured error
shape (``success: false``, a non-empty ``error_type``, an ``error`` string); any other result says ``success: true``,
and a finished generation's files are on disk inside the workspace; a result stays within the result budget. The
server must not crash: it must log no traceback (``log.exception``, also behind a masked "Internal error" result)
unless ``known_crash`` recognises it as an open bug. After a run the server still answers ``tools/list`` and
``get_server_stats``; after it stops, no temporary file is left, every image file has its database row and sidecar
(and every row its file), no turn or job is left pending, the database passes its integrity check, and the fake saw
no request that fails OpenAI's schema (the ``fake`` fixture checks that).

The bugs the fuzzer found (all fixed now) are pinned by regression tests next to the code they cover, each under a
"found by the fuzzer" heading: ``tests/providers/test_sse.py`` (event-stream lines), ``tests/tools/test_budget.py``
(results within the budget), ``tests/service/test_assets.py`` (product batch error types),
``tests/service/test_editing.py`` (a cancelled promotion) and ``tests/service/test_restart.py`` (the file journal).
See ``known_crash`` for how to tolerate an open one while the fuzzer keeps looking for others. ``FUZZ_SCALE=10``
runs ten times as many examples (pass ``-o timeout=600`` then).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import sqlite3
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult
from PIL import Image

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI, make_photo_like

CALL_TIMEOUT = 20.0
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
IMAGE_SUFFIXES = {".png", ".jpeg", ".jpg", ".webp", ".gif"}

#: The middleware's error type for an exception the SDK caught: a crash, never acceptable.
SDK_CRASH = "tool_error"
#: ``results.guarded`` and the job runner mask a crash as this message (and log its traceback).
CRASH_MESSAGE = "Internal error"

PATH_TRICKS = [
    "/etc/passwd",
    "../../../../etc/shadow",
    "file:///etc/hosts",
    "~root/.ssh/id_rsa",
    "\\\\server\\share\\x.png",
    "openai-image://image/../../x",
    "",
    "   ",
    "/" + "a" * 4095,
    "file://evil.example.com/x.png",
    "file:%2Fetc%2Fpasswd",
    "file:///etc/../etc/passwd",
    "http://169.254.169.254/latest/meta-data",
    "data:image/png;base64,iVBORw0KGgo=",
    "openai-image://session/x",
    "openai-image://image/" + "0" * 32,
    "openai-image://image/" + "f" * 32 + ".png",
    "0" * 32,
    "inputs/../../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "~",
    "~/",
    ".",
    "..",
    "/",
    "/dev/zero",
    "/dev/stdin",
    "/proc/self/environ",
    "C:\\Windows\\win.ini",
    "a\x00b.png",
    "\x00",
    "'/etc/passwd'",
    '"  "',
    "\u202egnp.exe",
    "🦊🔥",
    "שלום עולם",
    "null",
    "NaN",
]
ODD_TEXT = [
    "a fox",
    "[moderation] a fox",
    "[no-image] a fox",
    "[text-too] a fox",
    "a fox\x00with a NUL",
    "a fox\u2028on two lines",
    "🦊 " * 20,
]
DATES = ["2020-01-01", "2099-12-31T23:59:59Z", "0001-01-01", "9999-12-31T23:59:59-14:00", "yesterday", "2026-13-45"]
MODELS = [
    "gpt-5.4-mini",
    "gpt-image-2",
    "gpt-image-1.5",
    "gpt-image-1",
    "gpt-image-1-mini",
    "chatgpt-image-latest",
    "dall-e-3",
]
ODD_NAMES = ["..", "../../outside", "/", "CON", "🦊 fox", "a" * 100, " padded "]
#: Sizes the fake renders quickly; the 2K/4K sizes only slow the run down without new code paths.
SMALL_SIZES = ["auto", "1024x1024", "1536x1024", "1024x1536"]
PATH_PROPS = {"image_path", "mask_path", "mask_image_path", "reference_image_path"}
TEXT_PROPS = {
    "prompt",
    "description",
    "improvement_goals",
    "product_description",
    "session_description",
    "preserve_elements",
    "text",
}

# -- hostile values -------------------------------------------------------------------------------------------------

_huge_text = st.builds(
    lambda unit, n: (unit * (n // len(unit) + 1))[:n],
    st.sampled_from(["x", "🦊", "ا", "\u202e", "\x00", "../", " ", "é"]),
    st.integers(1_000, 100_000),
)
_hostile_strings = st.one_of(st.sampled_from(PATH_TRICKS), st.text(max_size=40), _huge_text)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([-1, 0, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 3600.0001]),
    _hostile_strings,
)
HOSTILE = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=40) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)


def _short(value: Any, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


# -- the world: one server, one client, what they made --------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    tool: str
    args: dict[str, Any] | None
    cancel_after: float | None = None  # the client gives up after this many seconds
    progress: bool = False  # the client asks for progress notifications


@dataclass
class World:
    portal: BlockingPortal
    client: Client
    workspace: Path
    tools: dict[str, dict[str, Any]]
    budget: int
    crashes: CrashLog
    masked_crashes: int = 0
    pools: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)

    def remember(self, pool: str, value: Any) -> None:
        if isinstance(value, str) and value and value not in self.pools[pool]:
            self.pools[pool].append(value)
            del self.pools[pool][:-40]  # keep the newest

    def harvest(self, data: Any) -> None:
        """Keep every id, URI and path a result names, for later near-valid arguments."""
        if isinstance(data, dict):
            for key, value in data.items():
                if key in ("session_id", "image_id", "job_id", "resource_uri", "file_path", "metadata_path"):
                    self.remember(key, value)
                self.harvest(value)
        elif isinstance(data, list):
            for item in data:
                self.harvest(item)

    async def _call(self, call: Call) -> CallToolResult | BaseException | None:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            return None

        callback = on_progress if call.progress else None
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                if call.cancel_after is None:
                    return await self.client.call_tool(call.tool, call.args, progress_callback=callback)
                with anyio.move_on_after(call.cancel_after):
                    return await self.client.call_tool(call.tool, call.args, progress_callback=callback)
                return None
        except Exception as exc:  # reported by check(), with the call that raised
            return exc

    async def _call_all(self, calls: list[Call]) -> list[CallToolResult | BaseException | None]:
        outcomes: list[CallToolResult | BaseException | None] = [None] * len(calls)

        async def one(i: int) -> None:
            outcomes[i] = await self._call(calls[i])

        async with anyio.create_task_group() as tg:
            for i in range(len(calls)):
                tg.start_soon(one, i)
        return outcomes

    def call_all(self, calls: list[Call]) -> list[CallToolResult | None]:
        """Make the calls at the same time and check the properties every result must have. None for a call
        the client cancelled."""
        for call in calls:
            self.calls[call.tool] += 1
        results: list[CallToolResult | None] = []
        for call, outcome in zip(calls, self.portal.call(self._call_all, calls), strict=True):
            where = f"{call.tool}({_short(call.args)})"
            if isinstance(outcome, TimeoutError):
                raise AssertionError(f"{where} did not answer within {CALL_TIMEOUT} s") from outcome
            if isinstance(outcome, BaseException):
                raise AssertionError(f"{where} raised instead of returning a result: {outcome!r}") from outcome
            results.append(outcome)
            if outcome is None:
                self.outcomes["cancelled by the client"] += 1
                continue
            check_result(call, outcome, self)
            sc = outcome.structured_content or {}
            self.outcomes[f"error {sc.get('error_type')}" if outcome.is_error else "success"] += 1
            if not outcome.is_error:
                self.harvest(sc)
        known = self.crashes.check()
        assert self.masked_crashes <= known.total(), f"{self.masked_crashes} masked crashes, {known} logged"
        return results

    def call(self, tool: str, args: dict[str, Any] | None) -> CallToolResult | None:
        return self.call_all([Call(tool, args)])[0]

    def ok(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = self.call(name, args)
        assert result is not None and not result.is_error, result
        return dict(result.structured_content or {})


def check_result(call: Call, result: CallToolResult, world: World) -> None:
    """The properties every tool result must have."""
    where = f"{call.tool}({_short(call.args)})"
    assert isinstance(result, CallToolResult), f"{where}: not a CallToolResult: {result!r}"
    size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert size <= world.budget, f"{where}: a {size}-byte result, over the {world.budget}-byte result budget"
    sc = result.structured_content
    assert isinstance(sc, dict), f"{where}: no structured content ({result.content})"
    if result.is_error:
        assert sc.get("success") is False, f"{where}: error without success=false: {sc}"
        error_type = sc.get("error_type")
        assert isinstance(error_type, str) and error_type.strip(), f"{where}: error without error_type: {sc}"
        assert isinstance(sc.get("error"), str), f"{where}: error without an error message: {sc}"
        assert error_type != SDK_CRASH, f"{where}: the SDK caught an exception of the tool: {sc}"
        if CRASH_MESSAGE in sc["error"]:  # a masked crash: its logged traceback must be a known bug
            world.masked_crashes += 1
        return
    assert sc.get("success") is True, f"{where}: a result that is neither an error nor success=true: {sc}"
    if sc.get("status") == "completed":
        for image in sc.get("images") or []:
            path = Path(image["file_path"])
            assert path.is_file(), f"{where}: the reported image {path} is not on disk"
            assert path.resolve().is_relative_to(world.workspace.resolve()), f"{where}: {path} is outside the workspace"
            json.loads(Path(image["metadata_path"]).read_text(encoding="utf-8"))


def _frames(exc: BaseException) -> set[str]:
    return {frame.name for frame in traceback.extract_tb(exc.__traceback__)}


def known_crash(exc: BaseException) -> str | None:
    """The open bug behind a crash the server logged, or None. Every crash found so far is fixed and pinned by a
    regression test next to the code it covers, so none is tolerated. While a new one is open, pin it there with an
    ``xfail(strict=True)`` test and recognise it here (by its exception and frames, as below), so the fuzzer keeps
    looking for others::

        if isinstance(exc, json.JSONDecodeError) and "sse_events" in _frames(exc):
            return "test_event_stream_lines_end_only_at_cr_or_lf"
    """
    return None


class CrashLog(logging.Handler):
    """Collects the tracebacks the server logs (``log.exception``): every crash, even a masked one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.records.append(record)

    def check(self) -> collections.Counter[str]:
        """Fail on a crash that is not a known bug; count the known ones."""
        known: collections.Counter[str] = collections.Counter()
        for record in list(self.records):
            exc = record.exc_info[1] if record.exc_info else None
            assert exc is not None
            bug = known_crash(exc)
            if bug is None:
                text = "".join(traceback.format_exception(exc))
                raise AssertionError(f"the server crashed: {record.getMessage()}\n{text}")
            known[bug] += 1
        return known


def _prepare_inputs(workspace: Path, outside: Path) -> dict[str, Path]:
    """Input files of every kind under <workspace>/inputs (an allowed folder)."""
    folder = workspace / "inputs"
    folder.mkdir(parents=True)
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        files[name] = folder / name
        files[name].write_bytes(data)

    put("photo.png", make_photo_like(64, 48))
    put("photo.jpeg", make_photo_like(64, 48, fmt="jpeg"))
    put("photo.webp", make_photo_like(48, 64, fmt="webp"))
    put("anim.gif", make_photo_like(32, 32, fmt="gif"))
    put("alpha.png", make_photo_like(64, 64, transparent=True))
    put("drawing.svg", make_photo_like(64, 64, fmt="svg"))
    put("text.png", b"this is not an image\n")
    put("empty.png", b"")
    put("truncated.png", make_photo_like(64, 48)[:120])
    put("too-big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (7 * 1024 * 1024))  # over the fuzz settings' byte cap
    with Image.new("1", (3000, 3000)) as bomb:  # 9 megapixels: over the fuzz settings' pixel cap
        bomb.save(folder / "bomb.png")
        files["bomb.png"] = folder / "bomb.png"
    masks: list[tuple[str, str, int | tuple[int, ...], int | tuple[int, ...]]] = [
        ("mask_bw.png", "L", 0, 255),
        ("mask_alpha.png", "RGBA", (0, 0, 0, 255), (0, 0, 0, 0)),
        ("mask_white.png", "L", 255, 255),
        ("mask_black.png", "L", 0, 0),
    ]
    for name, mode, colour, half in masks:
        with Image.new(mode, (40, 30), colour) as mask:
            mask.paste(half, (0, 0, 20, 30))
            mask.save(folder / name)
        files[name] = folder / name
    (folder / "folder.png").mkdir()
    files["folder.png"] = folder / "folder.png"
    secret = outside / "secret.png"
    secret.write_bytes(make_photo_like(16, 16))
    for name, target in [("escape.png", secret), ("passwd.png", Path("/etc/passwd"))]:
        (folder / name).symlink_to(target)
        files[name] = folder / name
    (folder / "loop.png").symlink_to(folder / "loop.png")
    files["loop.png"] = folder / "loop.png"
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.png")
        files["fifo.png"] = folder / "fifo.png"
    files["outside.png"] = secret
    return files


@contextlib.contextmanager
def running_world(settings: Settings) -> Iterator[World]:
    """One server and one in-memory client for a whole run, in a background event loop."""
    crashes = CrashLog()
    logger = logging.getLogger("openai_image_mcp")
    logger.addHandler(crashes)
    try:
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(Client(create_server(settings))) as client,
        ):
            listed = portal.call(client.list_tools)
            tools = {t.name: dict(t.input_schema) for t in listed.tools}
            yield World(portal, client, settings.workspace, tools, settings.result_budget_bytes, crashes)
        crashes.check()  # generations still running when the server stopped
    finally:
        logger.removeHandler(crashes)


@contextlib.contextmanager
def seeded_world(settings: Settings, tmp_path: Path) -> Iterator[World]:
    """A running world seeded with sessions (open and closed), images, a job handle and input files."""
    outside = tmp_path / "outside"
    outside.mkdir()
    inputs = _prepare_inputs(settings.workspace, outside)
    with running_world(settings) as world:
        for path in inputs.values():
            world.remember("input", str(path))
            world.remember("input", path.as_uri())
            world.remember("input", os.path.relpath(path, settings.workspace))
        sid = world.ok("create_image_session", {"description": "fuzzing: a fox in the snow"})["session"]["session_id"]
        world.ok("generate_image_in_session", {"session_id": sid, "prompt": "a fox", "quality": "low"})
        world.ok("generate_image", {"prompt": "a lighthouse", "quality": "low"})
        closed = world.ok("create_image_session", {"description": "closed at once"})["session"]["session_id"]
        world.ok("close_session", {"session_id": closed})
        world.ok("generate_image", {"prompt": "a job handle", "wait_seconds": 0})
        yield world
        # the server still answers after the run
        tools = world.portal.call(world.client.list_tools)
        assert {t.name for t in tools.tools} == set(world.tools)
        stats = world.ok("get_server_stats", {})
        assert stats["pid"] == os.getpid()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]


def check_workspace_after_stop(workspace: Path) -> None:
    """What a stopped server leaves: no temporary files, every image with its row and sidecar, nothing pending."""
    images_root = workspace / "generated_images"
    files = _files_under(images_root)
    temporaries = [p for p in files if p.name.startswith(".tmp-")]
    assert temporaries == [], f"temporary files left behind: {temporaries}"
    with contextlib.closing(sqlite3.connect(workspace / "state.sqlite3")) as conn:
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
        rows = {Path(r[0]) for r in conn.execute("SELECT path FROM images")}
        pending_turns = conn.execute("SELECT id, status FROM turns WHERE status = 'pending'").fetchall()
        running_jobs = conn.execute("SELECT id, kind FROM jobs WHERE status = 'running'").fetchall()
        images_of_unfinished_turns = conn.execute(
            "SELECT i.path, t.status FROM images i JOIN turns t ON t.id = i.turn_id WHERE t.status != 'completed'"
        ).fetchall()
        lost_seeds = conn.execute(
            "SELECT id FROM sessions WHERE pending_image_id IS NOT NULL"
            " AND pending_image_id NOT IN (SELECT id FROM images)"
        ).fetchall()
    assert integrity == "ok"
    assert pending_turns == [], f"turns left pending: {pending_turns}"
    assert running_jobs == [], f"jobs left running: {running_jobs}"
    assert images_of_unfinished_turns == [], f"images of turns that did not complete: {images_of_unfinished_turns}"
    assert lost_seeds == [], f"promoted sessions whose seed image has no row: {lost_seeds}"
    image_files = {p for p in files if p.suffix in IMAGE_SUFFIXES}
    orphans = image_files - rows
    assert orphans == set(), f"image files without a database row: {sorted(orphans)}"
    assert rows - image_files == set(), f"database rows whose file is missing: {sorted(rows - image_files)}"
    for path in image_files:
        sidecar = path.with_name(f"{path.stem}_metadata.json")
        assert sidecar.is_file(), f"{path} has no metadata sidecar"
        json.loads(sidecar.read_text(encoding="utf-8"))
    sidecars = {p for p in files if p.name.endswith("_metadata.json")}
    lonely = {s for s in sidecars if not any(s == i.with_name(f"{i.stem}_metadata.json") for i in image_files)}
    assert lonely == set(), f"metadata sidecars without their image: {sorted(lonely)}"


@pytest.fixture
def fuzz_env(settings: Settings, fake: FakeOpenAI) -> Settings:
    """Small caps, so the byte and pixel limits are reachable with small files, and a short default wait."""
    fake.latency = 0.0
    return settings.model_copy(
        update={
            "max_input_bytes": 6 * 1024 * 1024,  # our own 1536x1024 PNGs still load
            "max_input_pixels": 4_000_000,
            "wait_seconds": 5.0,
            "max_sessions": 12,
            "partial_images": 1,
            "request_timeout": 10,
            "public_url": "http://127.0.0.1:9/mcp",  # the link tools make links (nothing is served there)
        }
    )


FUZZ = fuzz_settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# -- near-valid arguments from the input schema ---------------------------------------------------------------------


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid-looking value for a JSON schema (small: strings and lists are kept short)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(branch) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        low = schema.get("minLength", 0)
        return st.text(min_size=low, max_size=max(low, min(schema.get("maxLength", 40), 40)))
    if kind == "integer":
        return st.integers(schema.get("minimum", -5), schema.get("maximum", 1_000))
    if kind == "number":
        low = schema.get("minimum", 0)
        return st.floats(low, min(schema.get("maximum", 10), low + 1))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        low = schema.get("minItems", 0)
        high = max(low, min(schema.get("maxItems", 4), 4))
        return st.lists(from_schema(schema.get("items", {})), min_size=low, max_size=high)
    return HOSTILE


def from_pool(pick: Callable[[], list[str]]) -> st.SearchStrategy[str]:
    """One of the values the run has made so far. The pools grow during a run, so the draw is a plain integer
    picked modulo the pool's size when it is drawn: the shape of the draws never depends on the pools."""
    return st.integers(0, 2**16).map(lambda i: (pick() or [""])[i % max(1, len(pick()))])


GOOD_INPUTS = ("photo.png", "photo.jpeg", "photo.webp", "anim.gif", "alpha.png")
MASKS = ("mask_bw.png", "mask_alpha.png", "mask_white.png", "mask_black.png")


def image_refs(world: World, *, masks: bool = False) -> st.SearchStrategy[str]:
    """Mostly images that load (ours by id, URI or path; good input files), else anything odd."""

    def good() -> list[str]:
        made = [v for key in ("image_id", "resource_uri", "file_path") for v in world.pools[key]]
        names = MASKS if masks else GOOD_INPUTS
        return made + [v for v in world.pools["input"] if Path(v).name in names]

    def odd() -> list[str]:
        upper = [ref.upper() for ref in world.pools["image_id"][-2:]]  # hex case does not matter
        quoted = [f"'{ref}'" for ref in world.pools["file_path"][-2:]]
        return [*world.pools["metadata_path"], *upper, *quoted, *world.pools["input"]]

    return st.one_of(from_pool(good), from_pool(good), from_pool(odd), st.sampled_from(PATH_TRICKS))


def semantic(world: World, name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that reach deep code paths: real ids and paths from the run, meaningful texts and dates."""
    if name in PATH_PROPS:
        refs = image_refs(world, masks=name.startswith("mask"))
        return refs | st.none() if "anyOf" in schema else refs
    if name in ("reference_image_paths", "image_ids"):
        low = schema.get("minItems", 0)
        few = st.lists(image_refs(world), min_size=low, max_size=4)
        return st.one_of(few, few, few, st.lists(image_refs(world), min_size=15, max_size=18))
    if name == "session_id":
        return from_pool(lambda: world.pools["session_id"]) | from_schema(schema)
    if name == "job_id":
        return from_pool(lambda: world.pools["job_id"]) | from_schema(schema)
    if name in TEXT_PROPS:
        return st.sampled_from(ODD_TEXT) | st.text(min_size=1, max_size=60)
    if name == "wait_seconds":
        return st.none() | st.floats(0, 0.3) | st.just(0)
    if name == "model":
        return st.none() | st.sampled_from(MODELS) | st.text(max_size=20)
    if name in ("since", "until"):
        return st.none() | st.sampled_from(DATES) | st.text(max_size=40)
    if name == "size":
        return st.sampled_from(SMALL_SIZES)
    if name == "use_case" and "enum" not in schema:
        return st.none() | st.sampled_from(["general", "product", "ui_asset", "style_series", "edit", "promoted"])
    if name in ("session_name", "style_series"):
        return st.none() | st.sampled_from(ODD_NAMES) | st.text(max_size=30)
    return from_schema(schema)


@st.composite
def near_valid(draw: st.DrawFn, world: World, tool: str) -> dict[str, Any]:
    schema = world.tools[tool]
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    args: dict[str, Any] = {}
    for name, prop in props.items():
        if name in required or draw(st.booleans()):
            args[name] = draw(semantic(world, name, prop))
    how = draw(st.sampled_from(["none", "none", "none", "none", "value", "string", "number", "drop", "extra"]))
    if how == "value" and props:
        args[draw(st.sampled_from(sorted(props)))] = draw(HOSTILE)
    elif how == "string" and props:
        args[draw(st.sampled_from(sorted(props)))] = draw(_hostile_strings)
    elif how == "number" and props:
        args[draw(st.sampled_from(sorted(props)))] = draw(st.sampled_from([-1, -(10**30), 10**30, 1e308, 3601, 0]))
    elif how == "drop" and required:
        del args[draw(st.sampled_from(sorted(required)))]
    elif how == "extra":
        args[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in props))] = draw(HOSTILE)
    return args


@st.composite
def hostile_args(draw: st.DrawFn, world: World, tool: str) -> dict[str, Any] | None:
    props = sorted(world.tools[tool].get("properties", {}))
    keys = st.sampled_from(props) | st.text(max_size=12) if props else st.text(max_size=12)
    return draw(st.none() | st.dictionaries(keys, HOSTILE, max_size=8))


ONE: st.SearchStrategy[int] = st.just(1)
NEVER: st.SearchStrategy[float | None] = st.none()
NO: st.SearchStrategy[bool] = st.just(False)


def run_fuzz(
    world: World,
    examples: int,
    args_for: Callable[[World, str], st.SearchStrategy[Any]],
    *,
    at_once: st.SearchStrategy[int] = ONE,
    cancel_after: st.SearchStrategy[float | None] = NEVER,
    progress: st.SearchStrategy[bool] = NO,
) -> None:
    """``examples`` hypothesis examples; each makes ``at_once`` concurrent calls of random tools, which the client
    may give up on after ``cancel_after`` seconds, and for which it may ask for ``progress`` notifications."""

    @fuzz_settings(FUZZ, max_examples=max(1, int(examples * SCALE)))
    @given(st.data())
    def example(data: st.DataObject) -> None:
        calls = []
        for _ in range(data.draw(at_once, label="calls at once")):
            tool = data.draw(st.sampled_from(sorted(world.tools)), label="tool")
            args = data.draw(args_for(world, tool), label="arguments")
            cancel, listen = data.draw(cancel_after, label="cancel"), data.draw(progress, label="progress")
            calls.append(Call(tool, args, cancel, listen))
        world.call_all(calls)

    example()


# -- the tests ------------------------------------------------------------------------------------------------------


def _wrong_types(schema: dict[str, Any]) -> list[dict[str, Any]]:
    props = schema.get("properties", {})
    sets: list[dict[str, Any]] = []
    for bad in [None, 12345, -1.5, True, [], ["a", {"b": None}], {"nested": {"deeper": [1, 2, 3]}}, "x" * 100_000]:
        sets.append(dict.fromkeys(props, bad))
    for trick in PATH_TRICKS:
        sets.append({name: trick for name, prop in props.items() if "string" in json.dumps(prop)})
    sets.append({name: 10**30 for name in props})
    sets.append({name: -(10**30) for name in props})
    sets.append({name: 1e308 for name in props})
    sets.append({"unknown_key": "x", "__proto__": {"admin": True}, "constructor": None})
    sets.append({name: ["x"] * 1000 for name in props})
    return sets


def test_every_tool_refuses_hostile_argument_sets(fuzz_env: Settings, fake: FakeOpenAI, tmp_path: Path) -> None:
    with seeded_world(fuzz_env, tmp_path) as world:
        assert len(world.tools) >= 17, sorted(world.tools)
        for name, schema in sorted(world.tools.items()):
            world.call(name, None)
            world.call(name, {})
            for args in _wrong_types(schema):
                world.call(name, args)
        assert set(world.calls) == set(world.tools)
    check_workspace_after_stop(fuzz_env.workspace)
    assert fake.internal_errors == []


def test_fuzz_random_hostile_arguments(fuzz_env: Settings, fake: FakeOpenAI, tmp_path: Path) -> None:
    with seeded_world(fuzz_env, tmp_path) as world:
        run_fuzz(world, 250, hostile_args)
    check_workspace_after_stop(fuzz_env.workspace)
    assert fake.internal_errors == []


def baseline_args(world: World, tool: str) -> dict[str, Any]:
    """Valid arguments for a tool: its required properties only, with values from the seeded world."""
    known = {
        "session_id": world.pools["session_id"][0],
        "job_id": world.pools["job_id"][0],
        "image_path": world.pools["file_path"][0],
        "image_ids": [world.pools["image_id"][0]],
        "image_id": world.pools["image_id"][0],
    }
    schema = world.tools[tool]
    args: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        if name in known:
            args[name] = known[name]
        elif "enum" in prop:
            args[name] = prop["enum"][0]
        else:
            assert prop.get("type") == "string", f"no baseline value for {tool}.{name}: {prop}"
            args[name] = "a red fox in the snow"
    return args


def test_fuzz_near_valid_arguments(fuzz_env: Settings, fake: FakeOpenAI, tmp_path: Path) -> None:
    with seeded_world(fuzz_env, tmp_path) as world:
        # every tool first once with valid arguments (closing and cancelling last): each works
        for tool in sorted(world.tools, key=lambda name: (name.startswith(("close", "cancel")), name)):
            result = world.call(tool, baseline_args(world, tool))
            assert result is not None
            if tool != "cancel_generation":  # the seeded job has finished: "not running any more"
                assert not result.is_error, (tool, result.structured_content)
        run_fuzz(
            world,
            300,
            near_valid,
            at_once=st.sampled_from([1, 1, 1, 2, 3]),
            cancel_after=st.sampled_from([None, None, None, None, None, None, None, 0.0, 0.03, 0.1]),
            progress=st.booleans(),
        )
        # the fuzzer got past schema validation into the tools, not only into refusals
        assert world.outcomes["success"] > 50, world.outcomes
    check_workspace_after_stop(fuzz_env.workspace)
    assert fake.internal_errors == []
