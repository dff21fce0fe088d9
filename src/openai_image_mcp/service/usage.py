"""Seeing the money: estimates for ``dry_run``, the usage report, and the spend figures of the stats."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageOptions, iso_utc
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.budget import Budget, period_start
from openai_image_mcp.service.generation import shown_again
from openai_image_mcp.service.pricing import estimate
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.store.ports import LedgerRepo

GroupBy = Literal["day", "session", "model", "principal", "tool"]
Period = Literal["today", "month"]


def _moment(value: str, name: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        stamp = moment.timestamp()
        if not 0 <= stamp < 253_402_300_800:  # 1970 to year 9999: what the ledger's times can be
            raise ValueError(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise errors.InvalidInput(f"{name} must be an ISO date or date-time from 1970 on, such as 2026-11-24.") from exc
    return stamp


class UsageBook:
    def __init__(
        self, *, settings: Settings, budget: Budget, ledger: LedgerRepo, sessions: SessionBook, clock: Clock
    ) -> None:
        self._settings = settings
        self._budget = budget
        self._ledger = ledger
        self._sessions = sessions
        self._clock = clock

    async def budgets(self, who: Principal) -> list[dict[str, Any]]:
        out = []
        for limit in self._budget.limits(who, self._clock.now()):
            if limit.owner is None and who.remote and not who.is_admin:  # everyone's spend is an admin's business
                out.append(
                    {
                        "scope": "server",
                        "period": limit.period,
                        "limit_usd": limit.limit_usd,
                        "resets_at": iso_utc(limit.resets_at, "seconds"),
                    }
                )
                continue
            spent = await self._ledger.spent(owner=limit.owner, since=limit.since)
            out.append(
                {
                    "scope": "server" if limit.owner is None else "principal",
                    "period": limit.period,
                    "limit_usd": limit.limit_usd,
                    "spent_usd": round(spent, 6),
                    "remaining_usd": round(max(0.0, limit.limit_usd - spent), 6),
                    "resets_at": iso_utc(limit.resets_at, "seconds"),
                }
            )
        return out

    async def estimate(
        self,
        who: Principal,
        options: ImageOptions,
        *,
        session_id: str | None = None,
        model: str | None = None,
        images_api: bool = False,
        n: int = 1,
        calls: int = 1,
        input_images: int = 0,
        prompt: str = "",
    ) -> dict[str, Any]:
        """The worst-case cost of a call as ``dry_run`` reports it, with the budgets it would be checked against."""
        s = self._settings
        if session_id:
            session = await self._sessions.active(who, session_id)
            image_model, mainline = session.image_model, session.model
            input_images += shown_again(session)
        elif model and "image" in model.lower():
            image_model, mainline = model, None
        else:
            image_model, mainline = s.image_model, None if images_api else (model or s.mainline_model)
        worst = estimate(
            self._budget.table, image_model=image_model, mainline_model=mainline, quality=options.quality,
            size=options.size, n=n, partial_images=s.partial_images, input_images=input_images,
            prompt_chars=len(prompt),
        )  # fmt: skip
        if calls > 1 and worst.usd is not None:  # separate calls, each paying for its own prompt
            worst = replace(worst, usd=worst.usd * calls)
        budgets = await self.budgets(who)
        fits = worst.usd is not None and all(b.get("remaining_usd", math.inf) >= worst.usd for b in budgets)
        refused = bool(budgets) and (not fits if worst.usd is not None else not s.allow_unpriced)
        return {
            "dry_run": True,
            "estimate_usd": None if worst.usd is None else round(worst.usd, 6),
            "currency": "USD",
            "prices_checked": worst.prices_checked,
            "image_model": image_model,
            "mainline_model": mainline,
            "unpriced_models": list(worst.unpriced),
            "worst_case": f"quality {options.quality}, size {options.size}, {n * calls} image(s), "
            f"{s.partial_images} partial image(s), {input_images} input image(s)",
            "budgets": budgets,
            "would_be_refused": refused,
        }

    async def report(
        self,
        who: Principal,
        *,
        period: Period | None,
        since: str | None,
        until: str | None,
        group_by: GroupBy,
    ) -> dict[str, Any]:
        now = self._clock.now()
        if since or until:
            start = _moment(since, "since") if since else 0.0
            end = _moment(until, "until") if until else now + 1
            label = f"{since or 'the beginning'} to {until or 'now'}"
        else:
            start, end = period_start(now, "day" if (period or "today") == "today" else "month")
            label = period or "today"
        rows = await self._ledger.report(owner=who.owner_filter, since=start, until=end, group_by=group_by)
        total = sum(r["usd"] for r in rows)
        return {
            "period": label,
            "since": iso_utc(start, "seconds"),
            "until": iso_utc(min(end, now), "seconds"),
            "group_by": group_by,
            "groups": [{**r, "usd": round(r["usd"], 6)} for r in rows],
            "total_usd": round(total, 6),
            "calls": sum(r["calls"] for r in rows),
            "unpriced_calls": sum(r["unpriced_calls"] for r in rows),
            "prices_checked": self._budget.table.checked,
            "budgets": await self.budgets(who),
        }

    async def spend(self, who: Principal) -> dict[str, Any]:
        now = self._clock.now()
        day, _ = period_start(now, "day")
        month, _ = period_start(now, "month")
        owner = who.owner_filter
        return {
            "today_usd": round(await self._ledger.spent(owner=owner, since=day), 6),
            "month_usd": round(await self._ledger.spent(owner=owner, since=month), 6),
            "prices_checked": self._budget.table.checked,
            "budgets": await self.budgets(who),
        }
