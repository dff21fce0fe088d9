"""Session tools: create, status, list, close."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.render import image_out, session_cost, session_out, turn_out
from openai_image_mcp.tools.schemas import (
    CREATES_SESSION,
    READ_ONLY,
    SessionIdArg,
    SessionListOutput,
    SessionOutput,
    SessionStatusOutput,
)


def register(mcp: MCPServer, service: ImageService) -> None:
    timeout = service.settings.session_timeout

    @mcp.tool(
        title="Create image session",
        annotations=CREATES_SESSION,
    )
    async def create_image_session(
        description: Annotated[
            str,
            Field(
                min_length=1, max_length=4_000, description="What the session is for; sent as instructions every turn."
            ),
        ],
        model: Annotated[
            str | None,
            Field(max_length=100, description="Responses model driving the session."),
        ] = None,
        session_name: Annotated[str | None, Field(max_length=200, description="A short name to find it again.")] = None,
        style_series: Annotated[
            str | None,
            Field(
                max_length=100,
                description="Name of a style series: one consistent style, files in style_series/<name>/.",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, SessionOutput]:
        """Start a conversational session that remembers every turn (also across restarts). Next:
        generate_image_in_session."""

        async def body() -> CallToolResult:
            rec = await service.create_session(caller(), description, model, session_name, style_series=style_series)
            return results.success(
                SessionOutput(
                    session=session_out(rec, timeout),
                    next_step=f"Call generate_image_in_session with session_id='{rec.id}' and a prompt.",
                )
            )

        return await results.guarded("create_image_session", body)

    @mcp.tool(title="Session status", annotations=READ_ONLY)
    async def get_session_status(session_id: SessionIdArg) -> Annotated[CallToolResult, SessionStatusOutput]:
        """A session's details, turns, images and cost; also for closed sessions."""

        async def body() -> CallToolResult:
            rec, turns, images = await service.session_status(caller(), session_id)
            return results.success(
                SessionStatusOutput(
                    total_cost_usd=session_cost(turns),
                    session=session_out(rec, timeout),
                    turns=[turn_out(t) for t in turns],
                    images=[image_out(i) for i in images],
                )
            )

        return await results.guarded("get_session_status", body)

    @mcp.tool(title="List active sessions", annotations=READ_ONLY)
    async def list_active_sessions() -> Annotated[CallToolResult, SessionListOutput]:
        """Open sessions, most recently used first."""

        async def body() -> CallToolResult:
            recs = await service.list_sessions(caller(), "active")
            return results.success(
                SessionListOutput(
                    sessions=[session_out(r, timeout) for r in recs],
                    count=len(recs),
                    max_sessions=service.settings.max_sessions,
                )
            )

        return await results.guarded("list_active_sessions", body)

    @mcp.tool(
        title="Close session",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    )
    async def close_session(session_id: SessionIdArg) -> Annotated[CallToolResult, SessionOutput]:
        """Close a session; its files and history stay."""

        async def body() -> CallToolResult:
            rec = await service.close_session(caller(), session_id)
            return results.success(
                SessionOutput(
                    session=session_out(rec, timeout),
                    next_step="Its images and history stay; get_session_status lists them.",
                )
            )

        return await results.guarded("close_session", body)
