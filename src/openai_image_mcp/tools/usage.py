"""get_usage_report: what was spent, grouped; and the dry-run answer of the generating tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.tools import results
from openai_image_mcp.tools.caller import caller
from openai_image_mcp.tools.schemas import READ_ONLY, GenerationOutput, ToolOutput


class UsageReportOutput(ToolOutput):
    period: str | None = None
    since: str | None = None
    until: str | None = None
    group_by: str | None = None
    groups: list[dict[str, Any]] = Field(default_factory=list)
    total_usd: float | None = None
    calls: int | None = None
    unpriced_calls: int | None = None
    prices_checked: str | None = None
    budgets: list[dict[str, Any]] = Field(default_factory=list)


def dry_run_result(estimate: dict[str, Any]) -> CallToolResult:
    usd = estimate.get("estimate_usd")
    what = "unknown (a model has no price)" if usd is None else f"at most ${usd:.4f}"
    refused = " It would be refused by the budget." if estimate.get("would_be_refused") else ""
    return results.success(
        GenerationOutput(
            status="dry_run",
            cost=estimate,
            message=f"This call would cost {what}.{refused}",
            next_step="Call again without dry_run to generate.",
        )
    )


def register(mcp: MCPServer, service: ImageService) -> None:
    @mcp.tool(title="Usage report", annotations=READ_ONLY)
    async def get_usage_report(
        period: Annotated[
            str | None,
            Field(
                max_length=90,
                pattern=r"^(today|month|[^/]+/[^/]+)$",
                description="today, month (UTC), or FROM/TO: two ISO dates, TO exclusive (e.g. 2026-11-01/2026-12-01).",
            ),
        ] = "today",
        since: Annotated[
            str | None, Field(max_length=40, description="From: ISO date/time (UTC unless zoned), inclusive.")
        ] = None,
        until: Annotated[str | None, Field(max_length=40, description="To: ISO date/time, exclusive.")] = None,
        group_by: Annotated[
            Literal["day", "session", "model", "principal", "tool"], Field(description="How to group the calls.")
        ] = "day",
    ) -> Annotated[CallToolResult, UsageReportOutput]:
        """What OpenAI calls cost, from the ledger: today, this month or since/until, grouped, with the budgets."""

        async def body() -> CallToolResult:
            chosen: str | None = period
            start, end = since, until
            if period and "/" in period:  # FROM/TO
                start, end = (part.strip() or None for part in period.split("/", 1))
                chosen = None
            report = await service.usage_report(
                caller(), period=chosen if chosen in ("today", "month") else None, since=start, until=end,
                group_by=group_by,
            )  # fmt: skip
            return results.success(UsageReportOutput.model_validate(report))

        return await results.guarded("get_usage_report", body)
