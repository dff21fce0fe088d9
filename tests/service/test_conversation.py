from __future__ import annotations

import time

from openai_image_mcp.core.models import ImageOptions, SessionRecord, TurnRecord
from openai_image_mcp.service.conversation import MAX_REPLAY_TURNS, build_turn, replay_messages


def _session(last: str | None = "resp_1") -> SessionRecord:
    now = time.time()
    return SessionRecord(
        id="s1",
        name="Fox",
        description="watercolor foxes",
        model="gpt-x",
        image_model="gpt-image-2",
        status="active",
        created_at=now,
        last_activity=now,
        closed_at=None,
        last_response_id=last,
        folder="/tmp/s1",
        use_case="general",
    )


def _turn(seq: int, status: str = "completed") -> TurnRecord:
    return TurnRecord(
        id=f"t{seq}",
        session_id="s1",
        seq=seq,
        prompt=f"prompt {seq}",
        params={},
        status=status,  # type: ignore[arg-type]
        created_at=0.0,
        model_text=f"reply {seq}",
    )


def test_chained_turn_sends_only_the_new_text() -> None:
    req = build_turn(_session(), "make it blue", ImageOptions(), store=True, history=[_turn(1)])
    assert req.previous_response_id == "resp_1"
    assert req.replay == ()
    assert req.text == "make it blue"
    assert "watercolor foxes" in req.instructions


def test_replay_trims_to_the_last_50_completed_turns() -> None:
    turns = [_turn(i) for i in range(1, 81)] + [_turn(81, "failed")]
    msgs = replay_messages(turns)
    assert len(msgs) == 2 * MAX_REPLAY_TURNS
    assert msgs[0].text == "prompt 31"
    assert msgs[-1].text == "reply 80"


def test_replay_mode_attaches_the_latest_image_and_no_chain() -> None:
    req = build_turn(
        _session(), "more blue", ImageOptions(), store=False, history=[_turn(1)], latest_image=(b"png", "image/png")
    )
    assert req.previous_response_id is None
    assert req.store is False
    assert req.replay_image == (b"png", "image/png")
    assert [m.role for m in req.replay] == ["user", "assistant"]
