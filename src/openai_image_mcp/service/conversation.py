"""What is sent to OpenAI for a session turn.

Chained mode (the default, ``store=true``): only the new user text goes out, with
``previous_response_id`` pointing at the session's last response; OpenAI holds the history,
images included, so turn 50 costs as few request bytes as turn 2.

Local replay (``OPENAI_IMAGE_MCP_STORE_RESPONSES=false``, for organisations that cannot store
responses): the last :data:`MAX_REPLAY_TURNS` completed turns are replayed as text (the user's
request and what came back), trimmed further to :data:`MAX_REPLAY_CHARS`, and the latest image is
attached to the new message so the model refines that very picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from openai_image_mcp.core.models import ImageOptions, SessionRecord, TurnRecord
from openai_image_mcp.core.requests import InputMessage, TurnRequest

MAX_REPLAY_TURNS = 50
MAX_REPLAY_CHARS = 60_000


def instructions_for(session: SessionRecord) -> str:
    """The session description travels as the turn's instructions (they are not inherited by chaining)."""
    name = f' "{session.name}"' if session.name else ""
    text = (
        f"You are the image generator of the image session{name}. Session brief: {session.description}\n"
        "Every turn, call the image generation tool once to draw what the user asks, refining the latest image "
        "of this session unless the user asks for something new. Keep what the user did not ask to change."
    )
    if session.style_series:
        text += (
            f'\nThis session is the style series "{session.style_series}": every image must share one consistent '
            "style (medium, palette, line work, lighting, rendering) with the earlier images of the series, even "
            "when the subject changes."
        )
    return text


def replay_messages(turns: Sequence[TurnRecord]) -> tuple[InputMessage, ...]:
    """Completed turns as alternating user/assistant text, newest kept when trimming."""
    done = [t for t in turns if t.status == "completed"][-MAX_REPLAY_TURNS:]
    messages: list[InputMessage] = []
    budget = MAX_REPLAY_CHARS
    for turn in reversed(done):
        reply = turn.model_text or "Image generated."
        cost = len(turn.prompt) + len(reply)
        if cost > budget:
            break
        budget -= cost
        messages[:0] = [InputMessage("user", turn.prompt), InputMessage("assistant", reply)]
    return tuple(messages)


def build_turn(
    session: SessionRecord,
    prompt: str,
    options: ImageOptions,
    *,
    store: bool,
    history: Sequence[TurnRecord] = (),
    latest_image: tuple[bytes, str] | None = None,
    force_replay: bool = False,
) -> TurnRequest:
    """The request for one turn: chained when possible, replayed otherwise."""
    base = TurnRequest(
        mainline_model=session.model,
        image_model=session.image_model,
        instructions=instructions_for(session),
        text=prompt,
        options=options,
        store=store,
    )
    if store and not force_replay:
        return replace(base, previous_response_id=session.last_response_id)
    return replace(base, replay=replay_messages(history), replay_image=latest_image)
