"""``openai-image-mcp doctor [--json]``: is this installation ready? Each check says ok, warn or fail, and what to do.

The checks run in the order of :data:`CHECKS` (the OpenAI ones first: the model checks use what ``GET /models``
answered). A check is an async function from the shared :class:`~openai_image_mcp.setup.context.DoctorContext` to
its findings; a new one (a Redis or S3 store, say) is one more function in the list, or one more backend in
:mod:`~openai_image_mcp.setup.local_checks`. The exit status is 0 when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TextIO

import anyio

from openai_image_mcp import __version__
from openai_image_mcp.core.settings import ENV_PREFIX, Settings
from openai_image_mcp.setup import local_checks, openai_checks
from openai_image_mcp.setup.context import OPENAI_TIMEOUT, Check, DoctorContext
from openai_image_mcp.setup.report import Finding, fail, passed, to_json, to_text

if TYPE_CHECKING:
    from pydantic import ValidationError

CHECKS: list[Check] = [
    openai_checks.check_api_key,
    openai_checks.check_image_model,
    openai_checks.check_lifecycle,
    local_checks.check_workspace,
    local_checks.check_disk_space,
    local_checks.check_state_store,
    local_checks.check_blob_store,
    local_checks.check_input_folders,
    local_checks.check_http_settings,
]

EXIT_OK = 0
EXIT_FAILED = 1


async def run_checks(
    settings: Settings,
    *,
    today: date | None = None,
    openai_timeout: float = OPENAI_TIMEOUT,
    checks: Sequence[Check] = CHECKS,
) -> list[Finding]:
    """Every check's findings, in order. ``today`` (UTC) decides whether a shutdown date has passed;
    ``openai_timeout`` bounds each OpenAI call."""
    ctx = DoctorContext(settings, today or datetime.now(UTC).date(), openai_timeout)
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += await check(ctx)
        except Exception as exc:  # a check's own bug must not hide the other checks
            name = check.__name__.removeprefix("check_")
            findings.append(
                fail(name, f"the check itself failed: {type(exc).__name__}: {exc}", "Please report this as a bug.")
            )
    return findings


def _header(settings: Settings) -> str:
    return (
        f"openai-image-mcp {__version__} doctor: Python {platform.python_version()} ({sys.executable}), "
        f"workspace {settings.workspace}"
    )


def write(findings: Sequence[Finding], *, as_json: bool, header: str, out: TextIO) -> int:
    if as_json:
        out.write(to_json(findings) + "\n")
    else:
        out.write(to_text(findings, header=header, encoding=getattr(out, "encoding", None)))
    out.flush()
    return EXIT_OK if passed(findings) else EXIT_FAILED


def main(settings: Settings, *, as_json: bool, out: TextIO | None = None) -> int:
    """Run the checks and print the report; returns the exit status."""
    findings = anyio.run(lambda: run_checks(settings))
    return write(findings, as_json=as_json, header=_header(settings), out=out or sys.stdout)


def env_name(field: str) -> str:
    """The environment variable of a settings field (``max_sessions`` -> ``MCP_MAX_SESSIONS``)."""
    info = Settings.model_fields.get(field)
    if info is None:  # the error names the variable itself (an alias such as MCP_MAX_SESSIONS)
        return field if field.isupper() else f"{ENV_PREFIX}{field.upper()}"
    choices = getattr(info.validation_alias, "choices", None)
    return str(choices[0]) if choices else f"{ENV_PREFIX}{field.upper()}"


def invalid_settings(exc: ValidationError, *, as_json: bool, out: TextIO | None = None) -> int:
    """The report when the settings do not even load: one failed ``settings`` check per bad variable (the values
    are not repeated: one of them could be a secret)."""
    findings = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = env_name(field) if field else "the environment"
        findings.append(
            fail("settings", f"{name}: {error['msg']}", f"Fix {name} (README, Configuration), or unset it.")
        )
    header = f"openai-image-mcp {__version__} doctor: the settings do not load"
    return write(findings, as_json=as_json, header=header, out=out or sys.stdout)
