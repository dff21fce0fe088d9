"""Running generating tools as jobs, and the job tools: get_generation_result, cancel_generation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import JobRecord
from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.service.jobs import Job
from openai_image_mcp.service.outcome import Generation
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.render import generation_result
from openai_image_mcp.tools.schemas import READ_ONLY, GenerationOutput, WaitArg

JobIdArg = Annotated[str, Field(min_length=1, max_length=64, description="The job_id a generating tool returned.")]


def _listener(ctx: Context | None) -> Callable[[float, str], Awaitable[None]] | None:
    if ctx is None:
        return None

    async def listen(progress: float, message: str) -> None:
        await ctx.report_progress(progress, 100, message)

    return listen


def pending_result(job: Job | JobRecord) -> CallToolResult:
    """The handle of a job still running (here, or on another replica: its record)."""
    return results.success(
        GenerationOutput(
            job_id=job.id,
            status="running",
            progress=round(job.progress, 1) if isinstance(job, Job) else None,
            message=job.message,
            session_id=job.session_id,
            next_step=f"The image is still being drawn. Call get_generation_result with job_id='{job.id}' "
            "to wait for it (the generation carries on meanwhile).",
        )
    )


async def finish(
    service: ImageService, job: Job, wait_seconds: float | None, ctx: Context | None, next_step: str
) -> CallToolResult:
    """Wait for ``job``; the finished result, its error, or a handle when time runs out."""
    seconds = service.settings.wait_seconds if wait_seconds is None else wait_seconds
    if not await service.wait(job, seconds, _listener(ctx)):
        return pending_result(job)
    if job.error is not None:
        raise job.error
    gen: Generation = job.result
    return generation_result(gen, next_step, job_id=job.id)


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(
        title="Get generation result",
        annotations=READ_ONLY,
    )
    async def get_generation_result(
        job_id: JobIdArg, ctx: Context, wait_seconds: WaitArg = None
    ) -> Annotated[CallToolResult, GenerationOutput]:
        """The result of a generation that returned a job_id: waits up to wait_seconds, then the image or its state."""

        async def body() -> CallToolResult:
            who = caller()
            job = service.find_job(who, job_id)
            if job is not None:
                return await finish(service, job, wait_seconds, ctx, "Refine it, or start a new generation.")
            record = await service.job_record(who, job_id)
            if record.status == "running" and service.coordinator.shared:  # another replica runs it
                seconds = service.settings.wait_seconds if wait_seconds is None else wait_seconds
                record = await service.await_elsewhere(who, job_id, seconds, _listener(ctx))
                if record.status == "running":
                    return pending_result(record)
            if record.status == "succeeded" and record.result:
                gen = await service.finished_result(record)
                return generation_result(gen, "Refine it, or start a new generation.", job_id=job_id)
            if record.status == "running":  # another process on this workspace runs it
                raise errors.ImageServerError(
                    f"Job '{job_id}' is running in another server process.", error_type="job_elsewhere"
                )
            raise errors.ImageServerError(
                f"Job '{job_id}' ended {record.status}: {record.error or 'no result was saved'}",
                error_type=record.error_type or record.status,
            )

        return await results.guarded("get_generation_result", body)

    @mcp.tool(
        title="Cancel generation",
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=True),
    )
    async def cancel_generation(job_id: JobIdArg) -> Annotated[CallToolResult, GenerationOutput]:
        """Stop a running generation; nothing is saved."""

        async def body() -> CallToolResult:
            job = await service.cancel(caller(), job_id)
            return results.success(GenerationOutput(job_id=job_id, status=job.status, session_id=job.session_id))

        return await results.guarded("cancel_generation", body)
