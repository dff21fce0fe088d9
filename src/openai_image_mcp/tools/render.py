"""Domain records -> output models and MCP results (kept apart from the tool signatures)."""

from __future__ import annotations

from pathlib import Path

from mcp.types import CallToolResult, ResourceLink

from openai_image_mcp.core.models import ImageRecord, SessionRecord, TurnRecord, iso_utc
from openai_image_mcp.core.refs import sidecar_ref
from openai_image_mcp.service.outcome import Generation
from openai_image_mcp.tools import results
from openai_image_mcp.tools.schemas import GenerationOutput, ImageOut, SessionOut, TurnOut


def iso(ts: float | None) -> str | None:
    return None if ts is None else iso_utc(ts, "seconds")


def image_uri(rec: ImageRecord) -> str:
    return results.image_resource_uri(rec.id, rec.mime_type)


def image_out(rec: ImageRecord) -> ImageOut:
    return ImageOut(
        image_id=rec.id,
        file_path=rec.path,
        metadata_path=sidecar_ref(rec.path),
        resource_uri=image_uri(rec),
        width=rec.width,
        height=rec.height,
        mime_type=rec.mime_type,
        file_size_bytes=rec.file_size,
        revised_prompt=results.cap(rec.revised_prompt),
    )


def session_out(rec: SessionRecord, timeout: float) -> SessionOut:
    return SessionOut(
        session_id=rec.id,
        session_name=rec.name,
        description=rec.description,
        model=rec.model,
        image_model=rec.image_model,
        status=rec.status,
        created_at=iso(rec.created_at) or "",
        last_activity=iso(rec.last_activity) or "",
        expires_at=iso(rec.last_activity + timeout) if rec.status == "active" else None,
        turn_count=rec.turn_count,
        image_count=rec.image_count,
        folder=rec.folder,
        style_series=rec.style_series,
    )


def turn_cost(turn: TurnRecord) -> float | None:
    cost = turn.usage.get("cost") if isinstance(turn.usage, dict) else None
    usd = cost.get("usd") if isinstance(cost, dict) else None
    return float(usd) if isinstance(usd, int | float) else None


def session_cost(turns: list[TurnRecord]) -> float | None:
    """Every billed turn together; None when a completed turn's cost is unknown (an unpriced model)."""
    total = 0.0
    for turn in turns:
        usd = turn_cost(turn)
        if usd is None and turn.status == "completed" and turn.usage.get("cost"):
            return None
        total += usd or 0.0
    return round(total, 6)


def turn_out(turn: TurnRecord) -> TurnOut:
    return TurnOut(
        turn=turn.seq,
        cost_usd=turn_cost(turn),
        prompt=results.cap(turn.prompt) or "",
        status=turn.status,
        created_at=iso(turn.created_at) or "",
        image_ids=list(turn.image_ids),
        model_text=results.cap(turn.model_text) or None,
        error_type=turn.error_type,
        error=turn.error,
    )


def generation_result(gen: Generation, next_step: str, job_id: str | None = None) -> CallToolResult:
    outs = [image_out(s.record) for s in gen.images]
    first = outs[0]
    structured = GenerationOutput(
        job_id=job_id,
        status="completed",
        session_id=gen.session_id,
        turn=gen.turn,
        image_id=first.image_id,
        file_path=first.file_path,
        resource_uri=first.resource_uri,
        images=outs,
        revised_prompt=first.revised_prompt,
        model_text=results.cap(gen.model_text) or None,
        model=gen.model,
        image_model=gen.image_model,
        use_case=gen.use_case,
        parameters=gen.params,
        usage={k: v for k, v in gen.usage.items() if k != "cost"},
        cost=gen.cost,
        warnings=list(gen.warnings),
        response_id=gen.response_id,
        preview=(
            f"{len(gen.images)} downscaled WebP preview(s), {gen.images[0].preview_width}x"
            f"{gen.images[0].preview_height}; the full image is at file_path and resource_uri."
        ),
        next_step=next_step,
    )
    links = resource_links(outs)
    previews = [(s.preview, s.preview_mime) for s in gen.images]
    return results.success(structured, previews=previews, links=links)


def resource_links(outs: list[ImageOut]) -> list[ResourceLink]:
    """Links to the full images, readable with resources/read."""
    return [
        ResourceLink(
            type="resource_link",
            name=Path(o.file_path or o.resource_uri).name,
            uri=o.resource_uri,
            mime_type=o.mime_type,
            size=o.file_size_bytes,
            description=f"Full image, {o.width}x{o.height}",
        )
        for o in outs
    ]
