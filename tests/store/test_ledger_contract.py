"""The LedgerRepo contract (store/ports.py), run against every state backend of tests/store/conftest.py:
reservations within and over limits (atomically), settling, sums, reports, listings, dropping reservations."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest

from openai_image_mcp.core.models import BudgetExceededInfo, BudgetLimit, LedgerEntry
from openai_image_mcp.store.ports import StateStore

DAY1 = datetime(2027, 3, 30, 0, 0, tzinfo=UTC).timestamp()
DAY2 = DAY1 + 86_400
DAY3 = DAY2 + 86_400
END = DAY3 + 86_400


def entry(
    eid: str,
    cost: float | None,
    *,
    kind: str = "call",
    owner: str = "alice",
    at: float = DAY2 + 3600,
    **kw: object,
) -> LedgerEntry:
    return LedgerEntry(id=eid, kind=kind, owner=owner, created_at=at, cost_usd=cost, **kw)  # type: ignore[arg-type]


def server_day(limit: float, since: float = DAY2) -> BudgetLimit:
    return BudgetLimit(None, "day", since, since + 86_400, limit)


def owner_day(owner: str, limit: float, since: float = DAY2) -> BudgetLimit:
    return BudgetLimit(owner, "day", since, since + 86_400, limit)


async def test_reserve_within_the_limits_inserts_the_reservation(state: StateStore) -> None:
    ledger = state.ledger
    limits = [server_day(1.0), owner_day("alice", 1.0)]
    assert await ledger.reserve(entry("r1", 0.4, kind="reservation"), limits) is None
    assert await ledger.spent(owner=None, since=DAY2) == pytest.approx(0.4)
    assert await ledger.reserve(entry("r2", 0.6, kind="reservation"), [server_day(1.0)]) is None  # exactly full
    assert await ledger.spent(owner="alice", since=DAY2) == pytest.approx(1.0)
    assert await ledger.calls(owner=None, since=0, until=END) == []  # reservations are not calls


async def test_reserve_over_a_limit_inserts_nothing_and_names_the_limit(state: StateStore) -> None:
    ledger = state.ledger
    await ledger.settle(None, [entry("c1", 0.7, owner="bob"), entry("c2", 0.2)])
    limits = [owner_day("alice", 5.0), server_day(1.0), owner_day("alice", 0.1)]
    over = await ledger.reserve(entry("r1", 0.2, kind="reservation"), limits)
    assert over == BudgetExceededInfo(limits[1], pytest.approx(0.9))  # the first limit it crosses
    assert await ledger.spent(owner=None, since=0) == pytest.approx(0.9)  # nothing was inserted
    # a limit of another owner, or a period that began after the spending, does not see it
    assert await ledger.reserve(entry("r2", 0.5, kind="reservation"), [owner_day("carol", 0.5)]) is None
    assert await ledger.reserve(entry("r3", 0.5, kind="reservation"), [server_day(0.5, since=DAY3)]) is None


async def test_an_unpriced_reservation_counts_as_zero(state: StateStore) -> None:
    ledger = state.ledger
    assert await ledger.reserve(entry("r1", None, kind="reservation"), [server_day(0.0)]) is None
    assert await ledger.spent(owner=None, since=0) == 0


async def test_concurrent_reservations_never_overshoot_together(state: StateStore) -> None:
    ledger = state.ledger
    limit = server_day(1.0)
    outcomes: list[BudgetExceededInfo | None] = []

    async def one(i: int) -> None:
        outcomes.append(await ledger.reserve(entry(f"r{i}", 0.2, kind="reservation"), [limit]))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(one, i)
    assert sum(o is None for o in outcomes) == 5
    assert await ledger.spent(owner=None, since=0) == pytest.approx(1.0)


async def test_settle_replaces_the_reservation_by_the_calls(state: StateStore) -> None:
    ledger = state.ledger
    assert await ledger.reserve(entry("r1", 0.9, kind="reservation"), [server_day(1.0)]) is None
    assert await ledger.reserve(entry("r2", 0.1, kind="reservation"), [server_day(1.0)]) is None
    await ledger.settle("r1", [entry("c1", 0.3), entry("c2", 0.05, at=DAY2 + 7200)])
    assert await ledger.spent(owner=None, since=0) == pytest.approx(0.1 + 0.3 + 0.05)
    assert [c.id for c in await ledger.calls(owner=None, since=0, until=END)] == ["c1", "c2"]
    await ledger.settle("r2", [])  # a call that cost nothing: the reservation just goes
    assert await ledger.spent(owner=None, since=0) == pytest.approx(0.35)
    await ledger.settle("c1", [])  # a call is never dropped as if it were a reservation
    await ledger.settle("no-such-reservation", [])
    assert await ledger.spent(owner=None, since=0) == pytest.approx(0.35)


async def test_spent_sums_calls_and_reservations_since_a_moment_for_an_owner(state: StateStore) -> None:
    ledger = state.ledger
    booked = [entry("old", 5.0, at=DAY1), entry("c1", 0.25), entry("c2", None), entry("b", 1.0, owner="bob")]
    await ledger.settle(None, booked)
    assert await ledger.reserve(entry("r1", 0.5, kind="reservation"), []) is None
    assert await ledger.spent(owner="alice", since=DAY2) == pytest.approx(0.75)
    assert await ledger.spent(owner="alice", since=DAY1) == pytest.approx(5.75)
    assert await ledger.spent(owner=None, since=DAY2) == pytest.approx(1.75)
    assert await ledger.spent(owner="carol", since=0) == 0
    assert await ledger.spent(owner=None, since=DAY3) == 0


async def test_calls_lists_calls_in_order_with_every_field(state: StateStore) -> None:
    ledger = state.ledger
    full = entry(
        "c2", 0.0123, at=DAY2 + 60, prices_checked="2026-11-30", tool="generate_image_in_session", session_id="s1",
        job_id="j1", mainline_model="gpt-5.4-mini", image_model="gpt-image-2",
        tokens={"image_output": 1056, "mainline_input": 159}, outcome="content_rejected",
    )  # fmt: skip
    await ledger.settle(None, [full, entry("c1", 0.5, at=DAY2), entry("c3", None, owner="bob", at=DAY2 + 120)])
    assert await ledger.reserve(entry("r1", 0.5, kind="reservation", at=DAY2 + 90), []) is None
    listed = await ledger.calls(owner=None, since=DAY2, until=DAY3)
    assert [c.id for c in listed] == ["c1", "c2", "c3"]
    assert listed[1] == full
    assert listed[2].cost_usd is None
    assert [c.id for c in await ledger.calls(owner="alice", since=DAY2, until=DAY3)] == ["c1", "c2"]
    assert [c.id for c in await ledger.calls(owner=None, since=DAY2 + 60, until=DAY2 + 120)] == ["c2"]  # [since, until)


async def test_report_groups_calls_in_a_window(state: StateStore) -> None:
    ledger = state.ledger
    await ledger.settle(
        None,
        [
            entry("a1", 0.10, at=DAY1 + 10, tool="generate_image", image_model="gpt-image-2"),
            entry("a2", 0.20, at=DAY2 + 10, tool="generate_image_in_session", session_id="s1",
                  image_model="gpt-image-2", mainline_model="gpt-5.4-mini"),
            entry("a3", None, at=DAY2 + 20, tool="generate_image_in_session", session_id="s1",
                  image_model="gpt-image-2.6-flare", mainline_model="gpt-5.4-mini"),
            entry("b1", 0.40, owner="bob", at=DAY2 + 30, tool="edit_image", image_model="gpt-image-2"),
            entry("late", 9.0, at=DAY3 + 10, tool="generate_image", image_model="gpt-image-2"),
        ],
    )  # fmt: skip
    assert await ledger.reserve(entry("r1", 3.0, kind="reservation", at=DAY2 + 40), []) is None

    async def report(group_by: str, owner: str | None = None) -> dict[str, tuple[int, float, int]]:
        rows = await ledger.report(owner=owner, since=DAY1, until=DAY3, group_by=group_by)
        assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)
        return {r["key"]: (r["calls"], pytest.approx(r["usd"]), r["unpriced_calls"]) for r in rows}

    assert await report("day") == {"2027-03-30": (1, 0.10, 0), "2027-03-31": (3, 0.60, 1)}
    assert await report("month") == {"2027-03": (4, 0.70, 1)}
    assert await report("session") == {"": (2, 0.50, 0), "s1": (2, 0.20, 1)}
    assert await report("model") == {
        "gpt-image-2 + ": (2, 0.50, 0),
        "gpt-image-2 + gpt-5.4-mini": (1, 0.20, 0),
        "gpt-image-2.6-flare + gpt-5.4-mini": (1, 0.0, 1),
    }
    assert await report("principal") == {"alice": (3, 0.30, 1), "bob": (1, 0.40, 0)}
    assert await report("tool") == {
        "edit_image": (1, 0.40, 0),
        "generate_image": (1, 0.10, 0),
        "generate_image_in_session": (2, 0.20, 1),
    }
    assert await report("tool", owner="bob") == {"edit_image": (1, 0.40, 0)}
    assert await ledger.report(owner="carol", since=0, until=END, group_by="day") == []


async def test_drop_reservations_leaves_the_calls(state: StateStore) -> None:
    ledger = state.ledger
    await ledger.settle(None, [entry("c1", 0.25)])
    for i in range(3):
        assert await ledger.reserve(entry(f"r{i}", 0.5, kind="reservation", owner=f"p{i}"), []) is None
    assert await ledger.drop_reservations() == 3
    assert await ledger.drop_reservations() == 0
    assert await ledger.spent(owner=None, since=0) == pytest.approx(0.25)
    assert [c.id for c in await ledger.calls(owner=None, since=0, until=END)] == ["c1"]
