"""The doctor's checks of this machine: the workspace, its disk, the state and blob stores, the allowed input folders
and the HTTP settings. They only read, except the workspace check, which writes and deletes one probe file (and
removes the folders it had to make to do so).

The stores are checked per backend: :data:`STATE_BACKENDS` and :data:`BLOB_BACKENDS` map a backend kind (from the
scheme of ``OPENAI_IMAGE_MCP_STATE_URL`` / ``OPENAI_IMAGE_MCP_BLOB_URL``, :func:`state_backend` / :func:`blob_backend`)
to its check. SQLite and the folder are checked in place (the database read-only, the folder with a probe file); a
shared store (Redis, S3) is reached the way the server reaches it, in :mod:`~openai_image_mcp.setup.shared_stores`.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import anyio

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup import shared_stores
from openai_image_mcp.setup.context import Check, DoctorContext
from openai_image_mcp.setup.report import Finding, combine, fail, ok, warn
from openai_image_mcp.store import backends

SyncCheck = Callable[[DoctorContext], list[Finding]]


def in_thread(fn: SyncCheck) -> Check:
    """A check that touches the disk, run in a worker thread."""

    @functools.wraps(fn)
    async def run(ctx: DoctorContext) -> list[Finding]:
        return await anyio.to_thread.run_sync(fn, ctx)

    return run


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p``, returning the folders it made (outermost first) so they can be removed again."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    made: list[Path] = []
    for folder in reversed(missing):
        folder.mkdir()
        made.append(folder)
    return made


def _probe(folder: Path) -> None:
    """Write, read back and delete a small file in ``folder`` (raises ``OSError``)."""
    probe = folder / f".doctor-probe-{secrets.token_hex(4)}"
    data = b"openai-image-mcp doctor\n"
    try:
        probe.write_bytes(data)
        if probe.read_bytes() != data:
            raise OSError(f"{probe} did not read back what was written")
    finally:
        probe.unlink(missing_ok=True)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def workspace(ctx: DoctorContext) -> list[Finding]:
    ws = ctx.settings.workspace
    other = "Set OPENAI_IMAGE_MCP_WORKSPACE to a folder you can write (it is made if missing), e.g. ~/Pictures/images"
    if ws.exists() and not ws.is_dir():
        return [fail("workspace", f"{ws} is a file, not a folder.", f"{other}, or move the file away.")]
    made: list[Path] = []
    try:
        if not ws.exists():
            blocker = _existing_ancestor(ws)
            if not blocker.is_dir():
                return [
                    fail(
                        "workspace",
                        f"{ws} cannot be created: {blocker} is a file, so no folder can be made under it.",
                        f"{other}.",
                    )
                ]
            try:
                made = _make_dirs(ws)
            except OSError as exc:
                return [fail("workspace", f"{ws} does not exist and cannot be created: {_reason(exc)}.", f"{other}.")]
        try:
            _probe(ws)
        except OSError as exc:
            return [
                fail(
                    "workspace",
                    f"{ws} is not writable: {_reason(exc)}.",
                    f"Give yourself write access (chmod u+rwx '{ws}'). Or: {other}.",
                )
            ]
    finally:
        for folder in reversed(made):
            folder.rmdir()
    if made:
        return [ok("workspace", f"{ws} does not exist yet and can be created (the server makes it at start)")]
    return [ok("workspace", f"{ws} exists and is writable")]


def disk_space(ctx: DoctorContext) -> list[Finding]:
    where = _existing_ancestor(ctx.settings.workspace)
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return [warn("disk_space", f"cannot measure the free space at {where}: {_reason(exc)}", "Check the disk.")]
    shown = f"{free / 1e9:.1f} GB free at {where}"
    if free < ctx.low_disk_bytes:
        return [
            warn(
                "disk_space",
                f"only {shown}",
                "Free some space on that disk, or move OPENAI_IMAGE_MCP_WORKSPACE to a disk with room: an image "
                "takes 1-5 MB.",
            )
        ]
    return [ok("disk_space", shown)]


# ---- the stores, by backend -------------------------------------------------------------------------------------


def state_backend(settings: Settings) -> str:
    """The state store's backend kind: ``sqlite`` (the default) or ``redis``; else the unknown scheme."""
    scheme = urlsplit(backends.state_url(settings)).scheme.lower()
    return "redis" if scheme in ("redis", "rediss") else scheme


def blob_backend(settings: Settings) -> str:
    """The blob store's backend kind: ``folder`` (``file://``, the default) or ``s3``; else the unknown scheme."""
    scheme = urlsplit(backends.blob_url(settings)).scheme.lower()
    return "folder" if scheme == "file" else scheme


def _url_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.netloc + parts.path)).expanduser()


def sqlite_state(ctx: DoctorContext) -> list[Finding]:
    from openai_image_mcp.store.sqlite.migrations import MIGRATIONS

    path = _url_path(backends.state_url(ctx.settings))
    if not path.exists():
        return [ok("state_store", f"SQLite at {path}: not made yet (the server makes it at its first start)")]
    move_aside = (
        f"Quit the client (so the server stops), move {path.name} out of {path.parent} (keep it: "
        f"`sqlite3 {path.name} .recover` may save its rows) and start again: a new, empty database is made. The "
        "images stay in generated_images/, each with its metadata file."
    )
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
            version = 0
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone():
                version = int(conn.execute("SELECT coalesce(max(number), 0) FROM _migrations").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "unable to open" in str(exc) or "locked" in str(exc):
            return [
                warn(
                    "state_store",
                    f"cannot open {path} to check it: {exc}",
                    "Check the file's permissions; run doctor again when the server is idle.",
                )
            ]
        return [fail("state_store", f"{path} is damaged: {exc}.", move_aside)]
    except sqlite3.DatabaseError as exc:
        return [fail("state_store", f"{path} is damaged: {exc}.", move_aside)]
    if problems != ["ok"]:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        return [fail("state_store", f"{path} failed SQLite's integrity check: {shown}.", move_aside)]
    latest = MIGRATIONS[-1][0]
    if version > latest:
        return [
            warn(
                "state_store",
                f"SQLite at {path}: schema version {version}, newer than this server's {latest}",
                "A newer openai-image-mcp made this database: upgrade this installation to use it.",
            )
        ]
    pending = f", {latest - version} migration(s) to apply at the next start" if version < latest else ""
    return [ok("state_store", f"SQLite at {path}: integrity ok, schema version {version}{pending}")]


def folder_blobs(ctx: DoctorContext) -> list[Finding]:
    root = _url_path(backends.blob_url(ctx.settings))
    if not root.exists():
        return [ok("blob_store", f"workspace folder {root}: not made yet (made with the first image)")]
    if not root.is_dir():
        return [
            fail("blob_store", f"{root} is a file, not a folder.", "Move the file away; the images folder goes there.")
        ]
    try:
        _probe(root)
    except OSError as exc:
        return [
            fail(
                "blob_store",
                f"{root} is not writable: {_reason(exc)}.",
                f"Give yourself write access to it and the folders in it (chmod -R u+rwX '{root}').",
            )
        ]
    return [ok("blob_store", f"workspace folder {root}: writable")]


#: backend kind -> its check (a new backend adds its own)
STATE_BACKENDS: dict[str, Check] = {"sqlite": in_thread(sqlite_state), "redis": shared_stores.redis_state}
BLOB_BACKENDS: dict[str, Check] = {"folder": in_thread(folder_blobs), "s3": shared_stores.s3_blobs}


def _unknown_backend(name: str, kind: str, variable: str, schemes: str) -> list[Finding]:
    return [fail(name, f"{variable} has the scheme {kind!r}, which no store has.", f"Set {variable} to {schemes}.")]


async def check_state_store(ctx: DoctorContext) -> list[Finding]:
    kind = state_backend(ctx.settings)
    check = STATE_BACKENDS.get(kind)
    if check is None:
        schemes = "sqlite:///<path>, or redis://host:port/db (rediss:// for TLS)"
        return _unknown_backend("state_store", kind, "OPENAI_IMAGE_MCP_STATE_URL", schemes)
    return await check(ctx)


async def check_blob_store(ctx: DoctorContext) -> list[Finding]:
    kind = blob_backend(ctx.settings)
    check = BLOB_BACKENDS.get(kind)
    if check is None:
        return _unknown_backend(
            "blob_store", kind, "OPENAI_IMAGE_MCP_BLOB_URL", "file://<folder> or s3://bucket/prefix"
        )
    return await check(ctx)


# ---- input folders and HTTP ---------------------------------------------------------------------------------------


def input_folders(ctx: DoctorContext) -> list[Finding]:
    folders = ctx.settings.input_roots[1:]
    if not folders:
        return [ok("input_folders", "none besides the workspace (OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS is empty)")]
    setting = "OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS"
    parts: list[Finding] = []
    for folder in folders:
        if not folder.exists():
            parts.append(
                fail(
                    "input_folders",
                    f"{folder} does not exist",
                    f"Create {folder}, or correct {setting} (folders separated by ':' or ';').",
                )
            )
        elif not folder.is_dir():
            parts.append(fail("input_folders", f"{folder} is a file, not a folder", f"List folders in {setting}."))
        else:
            try:
                with os.scandir(folder) as entries:
                    next(entries, None)
            except OSError as exc:
                parts.append(
                    fail(
                        "input_folders",
                        f"{folder} is not readable: {_reason(exc)}",
                        f"Give yourself read access (chmod u+rx '{folder}'), or remove it from {setting}.",
                    )
                )
            else:
                parts.append(ok("input_folders", f"{folder} is readable"))
    return [combine("input_folders", parts)]


def _http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _tokens_file(path: Path) -> Finding:
    from openai_image_mcp.web import tokenfile

    add = "Create a token with: openai-image-mcp token add NAME"
    try:
        entries = tokenfile.read(path)
    except tokenfile.TokenFileError as exc:
        return fail("http_settings", f"the tokens file does not parse: {exc}", "Fix that line (or remove it).")
    except OSError as exc:
        return fail("http_settings", f"cannot read the tokens file {path}: {_reason(exc)}", "Check its permissions.")
    if not path.exists():
        return warn("http_settings", f"the tokens file {path} does not exist yet: no token is accepted", add)
    if not entries:
        return warn("http_settings", f"the tokens file {path} has no tokens: no token is accepted", add)
    names = sorted({e.principal for e in entries})
    return ok("http_settings", f"tokens file {path}: {len(entries)} token(s) for {', '.join(names)}")


def http_settings(ctx: DoctorContext) -> list[Finding]:
    s = ctx.settings
    if not (s.tokens_file or s.oauth_issuer or s.public_url or s.oauth_jwks_url):
        return []
    parts: list[Finding] = []
    if s.tokens_file is not None:
        parts.append(_tokens_file(s.tokens_file))
    example = "e.g. https://images.example.com/mcp"
    if s.public_url:
        if not _http_url(s.public_url):
            parts.append(
                fail(
                    "http_settings",
                    f"OPENAI_IMAGE_MCP_PUBLIC_URL {s.public_url!r} is not an http(s) URL",
                    f"Set it to the URL clients reach the MCP endpoint at ({example}).",
                )
            )
        elif not s.public_url.rstrip("/").endswith("/mcp"):
            parts.append(
                warn(
                    "http_settings",
                    f"OPENAI_IMAGE_MCP_PUBLIC_URL {s.public_url} does not end in /mcp, the endpoint's path",
                    f"Set it to the MCP endpoint's URL ({example}).",
                )
            )
        else:
            parts.append(ok("http_settings", f"public URL {s.public_url}"))
    if s.oauth_issuer:
        if not _http_url(s.oauth_issuer):
            parts.append(
                fail(
                    "http_settings",
                    f"OPENAI_IMAGE_MCP_OAUTH_ISSUER {s.oauth_issuer!r} is not an http(s) URL",
                    "Set it to your identity provider's issuer URL (the JWTs' iss claim).",
                )
            )
        elif not s.public_url:
            parts.append(
                warn(
                    "http_settings",
                    f"OAuth is on (issuer {s.oauth_issuer}) but OPENAI_IMAGE_MCP_PUBLIC_URL is not set: tokens must "
                    "name the public URL as their audience, and the default (http://<host>:<port>/mcp) is rarely "
                    "what an identity provider issues",
                    f"Set OPENAI_IMAGE_MCP_PUBLIC_URL to the URL clients use ({example}), the audience of the tokens.",
                )
            )
        else:
            parts.append(ok("http_settings", f"OAuth issuer {s.oauth_issuer}"))
    elif s.oauth_jwks_url:
        parts.append(
            warn(
                "http_settings",
                "OPENAI_IMAGE_MCP_OAUTH_JWKS_URL is set without OPENAI_IMAGE_MCP_OAUTH_ISSUER: it has no effect",
                "Set the issuer too, or unset the JWKS URL.",
            )
        )
    return [combine("http_settings", parts)]


check_workspace = in_thread(workspace)
check_disk_space = in_thread(disk_space)
check_input_folders = in_thread(input_folders)
check_http_settings = in_thread(http_settings)
