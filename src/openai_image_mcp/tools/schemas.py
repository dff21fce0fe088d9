"""Tool argument types and output schemas.

Closed sets are ``Literal`` enums so a bad value is refused by the schema, before any OpenAI call.
Every output model keeps ``success`` and the error fields, so an ``isError`` result has the same
shape as a success.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, ClassVar, Literal

from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from openai_image_mcp.core.models import Background, Moderation, OutputFormat, Quality, UseCase

# The tools' behaviour hints, shared by the tools that behave alike.
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
GENERATES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True)
CREATES_SESSION = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)

PromptArg = Annotated[str, Field(min_length=1, max_length=32_000, description="What to draw, or what to change.")]
QualityArg = Annotated[Quality, Field(description="low is fastest and cheapest.")]
SizeArg = Annotated[
    str,
    Field(
        max_length=12,
        pattern=r"^(auto|[1-9][0-9]{1,3}x[1-9][0-9]{1,3})$",
        description="auto, 1024x1024, 1536x1024, 1024x1536; gpt-image-2+ also any WxH (edges multiples of 16).",
    ),
]
BackgroundArg = Annotated[Background, Field(description="transparent needs png or webp.")]
FormatArg = Annotated[OutputFormat, Field()]
CompressionArg = Annotated[int | None, Field(ge=0, le=100, description="jpeg/webp only.")]
ModerationArg = Annotated[Moderation, Field()]
UseCaseArg = Annotated[UseCase, Field(description="Folder: single_shot, products, ui_assets, style_series.")]
DryRunArg = Annotated[bool, Field(description="Only estimate the cost; nothing is generated.")]
WaitArg = Annotated[
    float | None, Field(ge=0, le=3600, description="Seconds before a job_id is returned instead (default 45).")
]
ImageInputArg = Annotated[
    str, Field(min_length=1, max_length=4_096, description="image_id, resource URI, or a path in an allowed folder.")
]
FidelityArg = Annotated[Literal["low", "high"] | None, Field(description="Keep faces/logos (gpt-image-1.5 only).")]
SessionIdArg = Annotated[str, Field(min_length=1, max_length=200)]


def _inline(node: Any, handler: GetJsonSchemaHandler) -> Any:
    """``node`` with every ``$ref`` replaced by what it names (so it stands alone, outside its generator)."""
    if isinstance(node, list):
        return [_inline(v, handler) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(handler.resolve_ref_schema(node), handler)
    return {k: _inline(v, handler) for k, v in node.items()}


class ToolOutput(BaseModel):
    """The base of every tool's output model.

    Several tools share an output model (eight return :class:`GenerationOutput`), and the SDK derives each
    tool's output schema at registration: the schema of a model is made once per process and reused (it
    depends only on the class), which keeps the server's start-up close to a bare MCPServer's.
    """

    _schemas: ClassVar[dict[tuple[type[BaseModel], str], dict[str, Any]]] = {}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        key = (cls, handler.mode)
        cached = ToolOutput._schemas.get(key)
        if cached is None:
            cached = _inline(handler.resolve_ref_schema(handler(core_schema)), handler)
            ToolOutput._schemas[key] = cached
        return copy.deepcopy(cached)

    success: bool = True
    error: str | None = None
    error_type: str | None = None
    suggestion: str | None = None
    truncated: bool | None = Field(default=None, description="True when parts were shortened to fit the budget.")
    note: str | None = None


class ImageOut(BaseModel):
    image_id: str
    file_path: str | None = Field(
        default=None, description="Absolute path of the full-size image (local callers only; remote ones use links)."
    )
    metadata_path: str | None = None
    resource_uri: str = Field(description="Read the full image with resources/read.")
    width: int
    height: int
    mime_type: str
    file_size_bytes: int
    revised_prompt: str | None = None


class GenerationOutput(ToolOutput):
    job_id: str | None = Field(default=None, description="Handle for get_generation_result / cancel_generation.")
    status: str | None = Field(
        default=None, description="completed, running (call get_generation_result), failed, cancelled or interrupted."
    )
    progress: float | None = Field(default=None, description="Percent done, while running.")
    message: str | None = Field(default=None, description="The current stage, while running.")
    session_id: str | None = None
    turn: int | None = Field(default=None, description="Turn number in the session.")
    image_id: str | None = None
    file_path: str | None = None
    resource_uri: str | None = None
    images: list[ImageOut] = Field(default_factory=list)
    revised_prompt: str | None = Field(default=None, description="The prompt as OpenAI rewrote it before drawing.")
    model_text: str | None = Field(
        default=None, description="Text the model wrote beside the image (the analysis, for analyze_and_improve_image)."
    )
    model: str | None = None
    image_model: str | None = None
    use_case: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    usage: dict[str, Any] = Field(default_factory=dict)
    cost: dict[str, Any] | None = Field(
        default=None,
        description="What the OpenAI calls cost: usd (null when a model has no price), prices_checked, per call "
        "tokens. With dry_run: the worst-case estimate and the budgets, nothing generated.",
    )
    response_id: str | None = None
    preview: str | None = Field(default=None, description="What the inline preview image is.")
    warnings: list[str] = Field(default_factory=list, description="E.g. the image model shuts down soon.")
    next_step: str | None = None


class SessionOut(BaseModel):
    session_id: str
    session_name: str | None = None
    description: str
    model: str
    image_model: str
    status: str
    created_at: str
    last_activity: str
    expires_at: str | None = None
    turn_count: int
    image_count: int
    folder: str | None = None
    style_series: str | None = None


class SessionOutput(ToolOutput):
    session: SessionOut | None = None
    seed_image: ImageOut | None = Field(default=None, description="The image a promoted session starts from.")
    next_step: str | None = None


class TurnOut(BaseModel):
    turn: int
    cost_usd: float | None = None
    prompt: str
    status: str
    created_at: str
    image_ids: list[str] = Field(default_factory=list)
    model_text: str | None = None
    error_type: str | None = None
    error: str | None = None


class SessionStatusOutput(ToolOutput):
    total_cost_usd: float | None = Field(default=None, description="Every priced turn of the session together.")
    session: SessionOut | None = None
    turns: list[TurnOut] = Field(default_factory=list)
    images: list[ImageOut] = Field(default_factory=list)


class SessionListOutput(ToolOutput):
    sessions: list[SessionOut] = Field(default_factory=list)
    count: int = 0
    max_sessions: int | None = None


class UsageGuideOutput(ToolOutput):
    guide: str = ""


class ServerStatsOutput(ToolOutput):
    version: str | None = None
    pid: int | None = Field(default=None, description="The server's process id.")
    uptime_seconds: float | None = None
    sessions: dict[str, int] = Field(default_factory=dict)
    generations: dict[str, Any] = Field(default_factory=dict)
    openai_latency: dict[str, float | int] = Field(default_factory=dict)
    images_total: int | None = None
    memory_rss_mb: float | None = None
    spend: dict[str, Any] = Field(default_factory=dict, description="Spend today and this month, and the budgets.")
    workspace: str | None = None
    api_key_configured: bool | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
