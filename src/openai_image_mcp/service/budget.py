"""Money: every OpenAI call is priced and booked in the ledger, and checked against the budgets before
it is made.

Budgets: ``OPENAI_IMAGE_MCP_BUDGET_DAILY_USD`` / ``_MONTHLY_USD`` for the whole server and
``OPENAI_IMAGE_MCP_BUDGET_PRINCIPAL_DAILY_USD`` / ``_MONTHLY_USD`` for each principal (days and months
in UTC). Before a call its worst-case cost is reserved in the ledger, in the same transaction that
checks the budgets, so concurrent calls cannot overshoot together; after the call the reservation is
replaced by the real cost. A call whose model has no price is refused while a budget is set, unless
``OPENAI_IMAGE_MCP_ALLOW_UNPRICED=true``.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import BudgetLimit, LedgerEntry, iso_utc
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.requests import ProviderResult
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.pricing import Cost, PriceTable, cost_of
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.ports import LedgerRepo


class BudgetExceeded(errors.ImageServerError):
    error_type = "budget_exceeded"
    suggestion = (
        "Nothing was sent to OpenAI. Wait until resets_at, use a cheaper request (quality='low', a smaller size, "
        "fewer images), or ask the operator to raise the budget."
    )

    def __init__(self, message: str, *, spent: float, limit: float, resets_at: float, estimate: float | None) -> None:
        super().__init__(message)
        self.details = {
            "spent_usd": round(spent, 4),
            "limit_usd": limit,
            "resets_at": iso_utc(resets_at, "seconds"),
            "estimate_usd": None if estimate is None else round(estimate, 4),
        }


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Who makes a call, for what, with which models, and its worst-case cost."""

    who: Principal
    tool: str
    image_model: str
    mainline_model: str | None
    estimate: Cost
    session_id: str | None = None
    job_id: str | None = None


@dataclass
class Spending:
    """What the calls of one generation cost (added up as they are booked)."""

    costs: list[Cost] = field(default_factory=list)

    def add(self, cost: Cost) -> None:
        self.costs.append(cost)

    def summary(self) -> dict[str, Any] | None:
        if not self.costs:
            return None
        known = [c.usd for c in self.costs]
        total = None if any(u is None for u in known) else sum(u or 0.0 for u in known)
        return {
            "usd": None if total is None else round(total, 6),
            "currency": "USD",
            "prices_checked": self.costs[-1].prices_checked,
            "calls": [c.as_dict() for c in self.costs],
        }


def period_start(now: float, period: str) -> tuple[float, float]:
    """The start of the UTC day or month holding ``now``, and when the next one begins."""
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), (start + timedelta(days=1)).timestamp()
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = monthrange(start.year, start.month)[1]
    return start.timestamp(), (start + timedelta(days=days)).timestamp()


class Budget:
    def __init__(
        self,
        *,
        settings: Settings,
        ledger: LedgerRepo,
        stats: ServerStats,
        clock: Clock,
        table: PriceTable | None = None,
    ) -> None:
        self.table = table or PriceTable.load(settings.prices_file)
        self._settings = settings
        self._ledger = ledger
        self._stats = stats
        self._clock = clock

    def limits(self, who: Principal, now: float) -> list[BudgetLimit]:
        s = self._settings
        out: list[BudgetLimit] = []
        for owner, daily, monthly in (
            (None, s.budget_daily_usd, s.budget_monthly_usd),
            (who.name, s.budget_principal_daily_usd, s.budget_principal_monthly_usd),
        ):
            for period, amount in (("day", daily), ("month", monthly)):
                if amount is not None:
                    since, resets = period_start(now, period)
                    out.append(BudgetLimit(owner, period, since, resets, amount))  # type: ignore[arg-type]
        return out

    async def check(self, spec: CallSpec) -> None:
        """Refuse a call that would cross a budget (without reserving anything)."""
        now = self._clock.now()
        limits = self.limits(spec.who, now)
        if not limits:
            return
        self._refuse_unpriced(spec, limits)
        for limit in limits:
            spent = await self._ledger.spent(owner=limit.owner, since=limit.since)
            if spent + (spec.estimate.usd or 0.0) > limit.limit_usd:
                raise self._exceeded(limit, spent, spec.estimate.usd, spec.who)

    def _refuse_unpriced(self, spec: CallSpec, limits: list[BudgetLimit]) -> None:
        if spec.estimate.usd is None and limits and not self._settings.allow_unpriced:
            models = ", ".join(spec.estimate.unpriced)
            raise BudgetExceeded(
                f"{models} has no price in the price table, so its cost cannot be checked against the budget. Add "
                "it with OPENAI_IMAGE_MCP_PRICES_FILE, or set OPENAI_IMAGE_MCP_ALLOW_UNPRICED=true.",
                spent=0.0, limit=limits[0].limit_usd, resets_at=limits[0].resets_at, estimate=None,
            )  # fmt: skip

    @staticmethod
    def _exceeded(limit: BudgetLimit, spent: float, estimate: float | None, who: Principal) -> BudgetExceeded:
        whose = "this server's" if limit.owner is None else f"{limit.owner}'s"
        span = "daily" if limit.period == "day" else "monthly"
        # what everyone together spent is not a remote user's business (only an admin's)
        hidden = limit.owner is None and who.remote and not who.is_admin
        spent_text = "" if hidden else f" and ${spent:.4f} is spent or reserved"
        error = BudgetExceeded(
            f"This call could cost up to ${estimate or 0:.4f}; {whose} {span} "
            f"budget is ${limit.limit_usd:.2f}{spent_text}. It resets at {iso_utc(limit.resets_at, 'seconds')}.",
            spent=spent, limit=limit.limit_usd, resets_at=limit.resets_at, estimate=estimate,
        )  # fmt: skip
        if hidden:
            error.details.pop("spent_usd", None)
        return error

    async def call(
        self, spec: CallSpec, fn: Callable[[], Awaitable[ProviderResult]], spending: Spending
    ) -> ProviderResult:
        """Reserve ``spec``'s worst case, make the call, book what it really cost (also when it failed but
        was billed)."""
        now = self._clock.now()
        limits = self.limits(spec.who, now)
        reservation: str | None = None
        if limits:
            self._refuse_unpriced(spec, limits)
            reservation = uuid.uuid4().hex
            held = LedgerEntry(
                id=reservation, kind="reservation", owner=spec.who.name, created_at=now, cost_usd=spec.estimate.usd,
                prices_checked=self.table.checked, tool=spec.tool, session_id=spec.session_id, job_id=spec.job_id,
                image_model=spec.image_model, mainline_model=spec.mainline_model,
            )  # fmt: skip
            over = await self._ledger.reserve(held, limits)
            if over is not None:
                raise self._exceeded(over.limit, over.spent_usd, spec.estimate.usd, spec.who)
        booked: list[LedgerEntry] = []
        try:
            result = await fn()
            booked.append(self._entry(spec, result.usage, "ok", spending))
            return result
        except errors.ProviderError as exc:
            if exc.usage:
                booked.append(self._entry(spec, exc.usage, exc.error_type, spending))
            elif isinstance(exc, errors.ProviderTimeout):  # OpenAI may have drawn (and billed) it all the same
                booked.append(self._estimated(spec, "timeout", spending))
            raise
        except anyio.get_cancelled_exc_class():  # the request was under way: assume the worst, as reserved
            booked.append(self._estimated(spec, "cancelled", spending))
            raise
        finally:
            if reservation is not None or booked:
                with anyio.CancelScope(shield=True):
                    await self._ledger.settle(reservation, booked)

    def _estimated(self, spec: CallSpec, outcome: str, spending: Spending) -> LedgerEntry:
        """A call that was under way when it was cancelled or timed out: booked at its worst-case estimate
        (OpenAI does not tell what it bills for it), so stopping a generation cannot get around a budget."""
        spending.add(spec.estimate)
        return LedgerEntry(
            id=uuid.uuid4().hex, kind="call", owner=spec.who.name, created_at=self._clock.now(),
            cost_usd=spec.estimate.usd, prices_checked=spec.estimate.prices_checked, tool=spec.tool,
            session_id=spec.session_id, job_id=spec.job_id, mainline_model=spec.mainline_model,
            image_model=spec.image_model, tokens={}, outcome=f"{outcome} (estimated)",
        )  # fmt: skip

    def _entry(self, spec: CallSpec, usage: dict[str, Any], outcome: str, spending: Spending) -> LedgerEntry:
        cost = cost_of(self.table, usage, mainline_model=spec.mainline_model, image_model=spec.image_model)
        spending.add(cost)
        if cost.usd:
            self._stats.record_spend(spec.image_model, cost.usd)
        return LedgerEntry(
            id=uuid.uuid4().hex, kind="call", owner=spec.who.name, created_at=self._clock.now(), cost_usd=cost.usd,
            prices_checked=cost.prices_checked, tool=spec.tool, session_id=spec.session_id, job_id=spec.job_id,
            mainline_model=spec.mainline_model, image_model=spec.image_model, tokens=cost.tokens, outcome=outcome,
        )  # fmt: skip
