"""What the generation flows hand around: the finished :class:`Generation`, and the
:class:`Progress` a flow reports its stages to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from openai_image_mcp.core import errors
from openai_image_mcp.service.saving import SavedImage


class Progress(Protocol):
    """Where a flow reports its stages (a job; :class:`Silent` when nobody listens)."""

    id: str

    @property
    def interrupted(self) -> bool:
        """Whether a cancellation now means the server is stopping (rather than a caller's cancel)."""
        ...

    async def report(self, progress: float, message: str) -> None: ...


class Silent:
    id = "silent"
    interrupted = False

    async def report(self, progress: float, message: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished generation, its files saved and rows committed."""

    images: list[SavedImage]
    model: str
    image_model: str
    use_case: str
    params: dict[str, Any]
    response_id: str | None = None
    model_text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    turn: int | None = None
    cost: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """What the job row keeps, to rebuild the same result later (previews are made again)."""
        return {
            "image_ids": [s.record.id for s in self.images],
            "model": self.model,
            "image_model": self.image_model,
            "use_case": self.use_case,
            "params": self.params,
            "response_id": self.response_id,
            "model_text": self.model_text,
            "usage": self.usage,
            "session_id": self.session_id,
            "turn": self.turn,
            "cost": self.cost,
        }


def check_prompt(prompt: str) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise errors.InvalidInput("prompt must not be empty: describe the image to draw or the change to make.")
    return prompt
