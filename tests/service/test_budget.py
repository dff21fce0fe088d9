"""Budgets and the ledger at the service level (service/budget.py, service/usage.py): per-principal budgets,
concurrent calls against a budget, reservations a crash left, who sees which calls, failed-but-billed calls.

The service is driven directly (``ImageService(settings, clock=)`` + ``lifecycle.start()``) with two or three
principals; the expected figures come from the fake's own usage (:mod:`tests.support.fake_bill`).
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.models import ImageOptions, LedgerEntry
from openai_image_mcp.core.principal import SCOPE_ADMIN, Principal
from openai_image_mcp.core.requests import ProviderResult
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service import ImageService
from openai_image_mcp.service.budget import Budget, BudgetExceeded, CallSpec, Spending, period_start
from openai_image_mcp.service.pricing import PriceTable, estimate
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.sqlite import SqliteStateStore
from tests.support.fake_bill import bills
from tests.support.fake_openai import FakeOpenAI

ALICE = Principal("alice")
BOB = Principal("bob")
CAROL = Principal("carol")
ROOT = Principal("root", scopes=frozenset({SCOPE_ADMIN}))
LOW = ImageOptions(quality="low", size="1024x1024")
NOON = datetime(2027, 3, 10, 12, 0, tzinfo=UTC).timestamp()
FOREVER = 1e12


@dataclass
class Step:
    """A job stand-in: a flow reports its stages here (and asks for partial images, as a job does)."""

    kind: str = "generate_image"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    interrupted: bool = False

    async def report(self, progress: float, message: str) -> None:
        return None


@asynccontextmanager
async def running(settings: Settings, clock: ManualClock | None = None) -> AsyncIterator[ImageService]:
    service = ImageService(settings, clock=clock or ManualClock(NOON))
    await service.lifecycle.start()
    try:
        yield service
    finally:
        await service.lifecycle.stop()


async def draw(service: ImageService, who: Principal, prompt: str = "a fox") -> Any:
    return await service.generator.one_shot(who, prompt, LOW, Step(), model="gpt-image-2")


def worst(settings: Settings) -> float:
    """The worst-case estimate of one :func:`draw` (what its budget check reserves)."""
    cost = estimate(
        PriceTable.load(), image_model="gpt-image-2", mainline_model=None, quality="low", size="1024x1024",
        partial_images=settings.partial_images, prompt_chars=len("a fox"),
    )  # fmt: skip
    assert cost.usd is not None
    return cost.usd


async def all_calls(service: ImageService) -> list[LedgerEntry]:
    return await service.state.ledger.calls(owner=None, since=0, until=FOREVER)


def reservation_rows(settings: Settings) -> int:
    with sqlite3.connect(settings.database_path) as conn:
        return int(conn.execute("SELECT count(*) FROM ledger WHERE kind = 'reservation'").fetchone()[0])


# -- periods -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("moment", "period", "start", "resets"),
    [
        ("2027-03-10T12:00:00", "day", "2027-03-10T00:00:00", "2027-03-11T00:00:00"),
        ("2027-03-10T00:00:00", "day", "2027-03-10T00:00:00", "2027-03-11T00:00:00"),
        ("2027-12-31T23:59:59", "day", "2027-12-31T00:00:00", "2028-01-01T00:00:00"),
        ("2027-03-10T12:00:00", "month", "2027-03-01T00:00:00", "2027-04-01T00:00:00"),
        ("2027-12-31T23:59:59", "month", "2027-12-01T00:00:00", "2028-01-01T00:00:00"),
        ("2028-02-15T08:00:00", "month", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_periods_are_utc_days_and_months(moment: str, period: str, start: str, resets: str) -> None:
    def ts(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()

    assert period_start(ts(moment), period) == (ts(start), ts(resets))


# -- per-principal and server budgets ----------------------------------------------------------------------
async def test_a_principal_budget_counts_only_that_principals_calls(settings: Settings, fake: FakeOpenAI) -> None:
    limit = 1.5 * worst(settings)  # one call fits, a second does not
    settings = settings.model_copy(update={"budget_principal_daily_usd": limit})
    async with running(settings) as service:
        await draw(service, ALICE)
        sent = len(fake.requests)
        with pytest.raises(BudgetExceeded) as caught:
            await draw(service, ALICE)
        assert len(fake.requests) == sent  # refused before anything was sent
        assert "alice's daily budget" in caught.value.message
        (alice_bill,) = bills(fake)
        assert caught.value.details["spent_usd"] == round(alice_bill.usd or 0, 4)
        assert caught.value.details["limit_usd"] == limit
        assert caught.value.details["resets_at"] == "2027-03-11T00:00:00Z"
        await draw(service, BOB)  # alice's spending is not bob's
        spent = [(await service.usage.spend(p))["today_usd"] for p in (ALICE, BOB)]
        assert spent == [pytest.approx(b.usd, abs=1e-6) for b in bills(fake)]
        (budget,) = await service.usage.budgets(BOB)
        assert budget["scope"] == "principal" and budget["spent_usd"] == pytest.approx(bills(fake)[1].usd, abs=1e-6)


async def test_the_server_budget_counts_every_principal(settings: Settings, fake: FakeOpenAI) -> None:
    limit = 2.5 * worst(settings)  # two calls fit, whoever makes them; a third does not
    settings = settings.model_copy(update={"budget_daily_usd": limit, "budget_principal_daily_usd": 100.0})
    async with running(settings) as service:
        await draw(service, ALICE)
        await draw(service, BOB)
        with pytest.raises(BudgetExceeded) as caught:
            await draw(service, CAROL)
        assert "this server's daily budget" in caught.value.message
        assert caught.value.details["spent_usd"] == round(sum(b.usd or 0 for b in bills(fake)), 4)
    assert len(bills(fake)) == 2


async def test_a_monthly_principal_budget_outlives_the_day(settings: Settings, fake: FakeOpenAI) -> None:
    clock = ManualClock(datetime(2027, 4, 29, 18, 0, tzinfo=UTC).timestamp())
    settings = settings.model_copy(update={"budget_principal_monthly_usd": 1.5 * worst(settings)})
    async with running(settings, clock) as service:
        await draw(service, ALICE)
        clock.advance(86_400)  # 30 April: a new day, the same month
        with pytest.raises(BudgetExceeded) as caught:
            await draw(service, ALICE)
        assert "alice's monthly budget" in caught.value.message
        assert caught.value.details["resets_at"] == "2027-05-01T00:00:00Z"
        clock.advance(6 * 3600 + 1)  # 1 May 00:00:01
        await draw(service, ALICE)
    assert len(bills(fake)) == 2


# -- concurrency -------------------------------------------------------------------------------------------
async def test_twenty_concurrent_calls_book_at_most_what_the_budget_holds(settings: Settings, fake: FakeOpenAI) -> None:
    """A budget that holds 5 worst cases (not 6): of 20 calls started together while OpenAI has not answered,
    5 are sent and 15 refused, however the reservations interleave; none is left behind."""
    settings = settings.model_copy(update={"budget_daily_usd": 5.5 * worst(settings)})
    done: list[int] = []
    refusals: list[BudgetExceeded] = []
    all_refused = anyio.Event()

    async def one(i: int) -> None:
        try:
            await draw(service, ALICE, f"a fox number {i:02d}")
            done.append(i)
        except BudgetExceeded as exc:
            refusals.append(exc)
            if len(refusals) == 15:
                all_refused.set()

    async with running(settings) as service:
        fake.hold()
        try:
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(one, i)
                with anyio.fail_after(30):
                    await all_refused.wait()
                    assert await fake.wait_for_requests_async(5)
                assert len(fake.requests_to("/images/generations")) == 5  # the other 15 sent nothing
                fake.release()
        finally:
            fake.release()
        calls = await all_calls(service)
        assert len(done) == 5 and len(calls) == 5
        assert len(fake.requests_to("/images/generations")) == 5
        assert all(exc.error_type == "budget_exceeded" for exc in refusals)
        assert reservation_rows(settings) == 0
        spent = await service.state.ledger.spent(owner=None, since=0)
        assert spent == pytest.approx(sum(c.cost_usd or 0 for c in calls), abs=1e-9)
        assert spent == pytest.approx(sum(b.usd or 0 for b in bills(fake)), abs=1e-9)


# -- reservations a crash left -----------------------------------------------------------------------------
async def test_reservations_a_crash_left_are_dropped_at_start(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"budget_daily_usd": 1.0})
    clock = ManualClock(NOON)
    async with running(settings, clock):
        pass
    state = SqliteStateStore(settings.database_path)
    await state.open()
    held = LedgerEntry(id="held-by-a-dead-process", kind="reservation", owner="alice", created_at=NOON, cost_usd=0.9)
    assert await state.ledger.reserve(held, []) is None
    assert await state.ledger.spent(owner=None, since=0) == pytest.approx(0.9)
    await state.close()
    assert reservation_rows(settings) == 1
    async with running(settings, clock):  # as young as a call in flight: it may be another live process's
        assert reservation_rows(settings) == 1
    clock.advance(2 * settings.request_timeout + 1)  # older than any call can take: a stopped process left it
    async with running(settings, clock) as service:
        assert reservation_rows(settings) == 0
        assert await service.state.ledger.spent(owner=None, since=0) == 0
        await draw(service, ALICE)  # 0.9 held would have left too little for its worst case


# -- who sees what -----------------------------------------------------------------------------------------
async def test_a_principal_sees_only_its_own_calls_and_an_admin_sees_all(settings: Settings, fake: FakeOpenAI) -> None:
    async with running(settings) as service:
        await draw(service, ALICE)
        await draw(service, BOB, "a hen")
        await draw(service, BOB, "a cow")
        alice_paid, *bob_paid = (b.usd or 0 for b in bills(fake))

        async def report(who: Principal, group_by: str = "day") -> dict[str, Any]:
            return await service.usage_report(who, period="today", since=None, until=None, group_by=group_by)

        mine = await report(ALICE)
        assert (mine["calls"], mine["total_usd"]) == (1, pytest.approx(alice_paid, abs=1e-6))
        bobs = await report(BOB, "principal")
        assert [g["key"] for g in bobs["groups"]] == ["bob"]
        assert bobs["total_usd"] == pytest.approx(sum(bob_paid), abs=2e-6)
        everyone = await report(ROOT, "principal")
        assert {g["key"]: g["calls"] for g in everyone["groups"]} == {"alice": 1, "bob": 2}
        assert everyone["total_usd"] == pytest.approx(alice_paid + sum(bob_paid), abs=3e-6)
        assert (await service.usage.spend(ALICE))["today_usd"] == pytest.approx(alice_paid, abs=1e-6)
        assert (await service.usage.spend(ROOT))["today_usd"] == pytest.approx(everyone["total_usd"], abs=3e-6)


# -- failed but billed -------------------------------------------------------------------------------------
async def test_a_moderated_turn_is_booked_as_content_rejected_at_its_cost(settings: Settings, fake: FakeOpenAI) -> None:
    """The fake's "[moderation]" keyword: a failed image_generation_call inside a 200 that carries usage."""
    settings = settings.model_copy(update={"budget_daily_usd": 5.0})  # with reserve-then-settle in play
    async with running(settings) as service:
        session = await service.create_session(ALICE, "foxes", None, None, style_series=None)
        with pytest.raises(errors.ContentRejected):
            await service.generator.in_session(ALICE, session.id, "a [moderation] fox", LOW, Step())
        (bill,) = bills(fake)
        assert bill.usage["image_generation"]["output_tokens"] == 0 and (bill.usd or 0) > 0
        (call,) = await all_calls(service)
        assert call.outcome == "content_rejected"
        assert call.cost_usd == pytest.approx(bill.usd, abs=1e-9)
        assert (call.session_id, call.owner, call.tool) == (session.id, "alice", "generate_image")
        assert reservation_rows(settings) == 0
        report = await service.usage_report(ALICE, period="today", since=None, until=None, group_by="session")
        assert report["groups"] == [{"key": session.id, "calls": 1, "usd": pytest.approx(bill.usd, abs=1e-6),
                                     "unpriced_calls": 0}]  # fmt: skip


# -- Budget.call itself ------------------------------------------------------------------------------------
async def test_budget_call_books_a_billed_failure_and_drops_the_reservation_of_an_unbilled_one(
    settings: Settings,
) -> None:
    clock = ManualClock(NOON)
    state = SqliteStateStore(settings.workspace / "ledger.sqlite3")
    settings.workspace.mkdir(parents=True, exist_ok=True)
    await state.open()
    budget = Budget(
        settings=settings.model_copy(update={"budget_daily_usd": 1.0}), ledger=state.ledger, stats=ServerStats(),
        clock=clock,
    )  # fmt: skip
    worst_case = estimate(budget.table, image_model="gpt-image-2", mainline_model=None, quality="low", size="1024x1024")
    spec = CallSpec(ALICE, "generate_image", "gpt-image-2", None, worst_case)
    usage = {"image_generation": {"input_tokens": 10, "input_tokens_details": {"text_tokens": 10}, "output_tokens": 0}}
    try:
        spending = Spending()

        async def billed_failure() -> ProviderResult:
            assert await state.ledger.spent(owner=None, since=0) == pytest.approx(worst_case.usd)  # reserved
            exc = errors.ContentRejected("blocked")
            exc.usage = usage
            raise exc

        with pytest.raises(errors.ContentRejected):
            await budget.call(spec, billed_failure, spending)

        async def unbilled_failure() -> ProviderResult:
            raise errors.ProviderUnavailable("down")

        with pytest.raises(errors.ProviderUnavailable):
            await budget.call(spec, unbilled_failure, spending)
        (call,) = await state.ledger.calls(owner=None, since=0, until=FOREVER)
        assert call.outcome == "content_rejected" and call.cost_usd == pytest.approx(10 * 5.0 / 1e6)
        assert call.tokens["image_text_input"] == 10
        assert await state.ledger.spent(owner=None, since=0) == pytest.approx(10 * 5.0 / 1e6)  # no reservation left
        summary = spending.summary()
        assert summary is not None and summary["usd"] == pytest.approx(5e-5) and len(summary["calls"]) == 1
    finally:
        await state.close()


def test_worst_case_estimates_are_finite_and_positive(settings: Settings) -> None:
    assert math.isfinite(worst(settings)) and worst(settings) > 0
