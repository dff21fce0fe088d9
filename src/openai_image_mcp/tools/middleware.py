"""Server middleware for every request: who is calling (and may they), a correlation id for the logs,
a structured error shape for the failures the SDK produces itself (arguments that do not match the input
schema), the result budget, and no server path in what a remote caller receives."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_REQUEST

from openai_image_mcp.core.errors import ImageServerError, InsufficientScope
from openai_image_mcp.core.logs import call_context
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.tools.budget import fit_to_budget
from openai_image_mcp.tools.caller import act_as, principal_of, reset, scope_for_method
from openai_image_mcp.tools.redact import PathScrubber
from openai_image_mcp.tools.results import failure

if TYPE_CHECKING:
    from openai_image_mcp.service.facade import ImageService

log = logging.getLogger(__name__)

STATEFUL_METHODS = frozenset({"tools/call", "resources/read", "resources/list"})
ARGUMENT_SUGGESTION = "Fix the arguments to match the tool's input schema (see tools/list) and call it again."


def _shape_sdk_error(result: dict[str, Any]) -> dict[str, Any]:
    """Add our structured error shape to an ``isError`` result (wire form) that lacks one."""
    content = [c for c in result.get("content") or [] if isinstance(c, dict)]
    text = " ".join(str(c.get("text", "")) for c in content if c.get("type") == "text")
    invalid = "validation error" in text
    data: dict[str, Any] = {
        "success": False,
        "error": text[:4_000],
        "error_type": "invalid_arguments" if invalid else "tool_error",
        "suggestion": ARGUMENT_SUGGESTION if invalid else "Check the server log (stderr) and retry.",
    }
    return {**result, "content": [*content, {"type": "text", "text": json.dumps(data)}], "structuredContent": data}


def _principal(ctx: ServerRequestContext[Any, Any]) -> Principal:
    """The caller: from the HTTP request's authenticated user, else the auth context, else local."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    token = getattr(user, "access_token", None)
    if token is None:
        from mcp.server.auth.middleware.auth_context import get_access_token

        token = get_access_token()
    return principal_of(token)


class ToolCallMiddleware:
    """Every request: the caller's principal and its scopes; tools/call and resource reads wait until the
    server's state is open; a log correlation id, a structured error shape and the result budget."""

    def __init__(self, service: ImageService) -> None:
        self.service = service
        self.budget = service.settings.result_budget_bytes
        self.scrub = PathScrubber(service.settings)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        who = _principal(ctx)
        token = act_as(who)
        try:
            return await self._handle(ctx, call_next, who)
        finally:
            reset(token)

    async def _handle(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, who: Principal) -> HandlerResult:
        params = ctx.params or {}
        needed = scope_for_method(ctx.method, str(params.get("name", "")))
        if needed is not None and not who.allows(needed):
            exc = InsufficientScope(f"This token lacks the {needed} scope that {ctx.method} needs.")
            if ctx.method != "tools/call":
                raise MCPError(code=INVALID_REQUEST, message=exc.message)
            return self._finish(failure(exc).model_dump(mode="json", by_alias=True, exclude_none=True), who)
        if ctx.method in STATEFUL_METHODS and ctx.request_id is not None:
            try:
                await self.service.wait_ready()
            except ImageServerError as exc:
                if ctx.method != "tools/call":
                    raise MCPError(code=INTERNAL_ERROR, message=self.scrub.text(exc.message, who)) from exc
                return self._finish(failure(exc).model_dump(mode="json", by_alias=True, exclude_none=True), who)
        result = await tool_call_middleware(ctx, call_next, who)
        if isinstance(result, dict) and ctx.method in ("tools/call", "resources/list"):
            result = self._finish(result, who) if ctx.method == "tools/call" else self.scrub.result(result, who)
        return result

    def _finish(self, result: dict[str, Any], who: Principal) -> dict[str, Any]:
        return fit_to_budget(self.scrub.result(result, who), self.budget)


async def tool_call_middleware(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext, who: Principal
) -> HandlerResult:
    if ctx.method != "tools/call" or ctx.request_id is None:
        return await call_next(ctx)
    params = ctx.params or {}
    tool = str(params.get("name", "?"))
    arguments = params.get("arguments") or {}
    corr = {"call_id": secrets.token_hex(6), "tool": tool, "principal": who.name}
    if isinstance(arguments, dict) and isinstance(arguments.get("session_id"), str):
        corr["session_id"] = arguments["session_id"][:64]
    token = call_context.set(corr)
    started = time.monotonic()
    try:
        result = await call_next(ctx)
        is_error = isinstance(result, dict) and bool(result.get("isError"))
        if is_error and isinstance(result, dict) and result.get("structuredContent") is None:
            result = _shape_sdk_error(result)
        outcome = "error" if is_error else "ok"
        log.info("tool call finished: %s in %.0f ms", outcome, (time.monotonic() - started) * 1000)
        return result
    finally:
        call_context.reset(token)
