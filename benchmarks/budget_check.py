"""What the budget check adds to one OpenAI call: ``Budget.call`` with budgets set (the check and the
reservation in one write transaction, then the settle that replaces it) against ``Budget.call`` without any
(the settle that books the call only), on a real SQLite ledger already holding a month of calls.

The OpenAI call itself is an instant stand-in, so what is timed is the ledger work around it. With budgets, all
four are set (server and principal, daily and monthly: four sums in the reserving transaction). The two
variants alternate, ``RUNS`` times each, after a warm-up.

The sums grow with the calls of the current month (the monthly budgets add up every row since the 1st), so
the figure is measured at several sizes of the ledger's history (``--rows``, the calls of the 30 days before
"now", four principals).

Run: .venv/bin/python -m benchmarks.budget_check [--rows 0,3000,10000,30000,100000]
Target: the median added time under 2 ms (exit 1 if any size is over).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.models import LedgerEntry
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.requests import ProviderImage, ProviderResult
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.budget import Budget, CallSpec, Spending, period_start
from openai_image_mcp.service.pricing import estimate
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.sqlite import SqliteStateStore

RUNS = 500
WARM_UP = 20
NOW = datetime(2027, 3, 28, 15, 0, tzinfo=UTC).timestamp()
USAGE = {
    "mainline": {"input_tokens": 180, "output_tokens": 24},
    "image_generation": {
        "input_tokens": 8,
        "input_tokens_details": {"text_tokens": 8, "image_tokens": 0},
        "output_tokens": 1256,
    },
}
RESULT = ProviderResult(images=(ProviderImage(data=b"png", output_format="png"),), usage=USAGE)
OWNERS = ["alice", "bob", "carol", "dave"]


async def instant_call() -> ProviderResult:
    return RESULT


async def history(state: SqliteStateStore, rows: int) -> None:
    """``rows`` calls spread over the 30 days before NOW (four principals), booked in batches."""
    step = 30 * 86_400 / max(1, rows)
    batch: list[LedgerEntry] = []
    for i in range(rows):
        batch.append(
            LedgerEntry(
                id=uuid.uuid4().hex,
                kind="call",
                owner=OWNERS[i % 4],
                created_at=NOW - 30 * 86_400 + i * step,
                cost_usd=0.04,
                tool="generate_image",
                image_model="gpt-image-2",
                mainline_model="gpt-5.4-mini",
                tokens={"image_output": 1256},
            )
        )
        if len(batch) == 1000:
            await state.ledger.settle(None, batch)
            batch = []
    await state.ledger.settle(None, batch)


def summary(label: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    return (
        f"{label}: median {statistics.median(ordered):.3f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.3f} ms, "
        f"min {ordered[0]:.3f} ms (n={len(ordered)})"
    )


async def measure(rows: int) -> float:
    """The median time the budget check adds with ``rows`` earlier calls in the ledger (printed too)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(workspace=Path(tmp), openai_api_key="sk-bench-0123456789")
        state = SqliteStateStore(base.database_path)
        await state.open()
        try:
            await history(state, rows)
            clock, stats = ManualClock(NOW), ServerStats()
            budgeted = base.model_copy(
                update={
                    "budget_daily_usd": 1e9, "budget_monthly_usd": 1e9,
                    "budget_principal_daily_usd": 1e9, "budget_principal_monthly_usd": 1e9,
                }
            )  # fmt: skip
            with_budget = Budget(settings=budgeted, ledger=state.ledger, stats=stats, clock=clock)
            without = Budget(settings=base, ledger=state.ledger, stats=stats, clock=clock)
            worst = estimate(
                with_budget.table, image_model="gpt-image-2", mainline_model="gpt-5.4-mini", quality="auto",
                size="auto", partial_images=2,
            )  # fmt: skip
            spec = CallSpec(Principal("alice"), "generate_image", "gpt-image-2", "gpt-5.4-mini", worst)
            timed: dict[str, list[float]] = {"with": [], "without": []}
            for i in range(WARM_UP + RUNS):
                order = [("with", with_budget), ("without", without)]
                for label, budget in order if i % 2 == 0 else order[::-1]:
                    start = time.perf_counter()
                    await budget.call(spec, instant_call, Spending())
                    elapsed = (time.perf_counter() - start) * 1000
                    if i >= WARM_UP:
                        timed[label].append(elapsed)
            month_start, _ = period_start(NOW, "month")
            month_rows = await state.ledger.calls(owner=None, since=month_start, until=NOW + 1)
        finally:
            await state.close()
    added = statistics.median(timed["with"]) - statistics.median(timed["without"])
    print(
        f"ledger: {rows} earlier calls over 30 days ({len(month_rows)} in this month, summed by the monthly "
        "budgets), 4 budgets set"
    )
    print(summary("Budget.call with budgets (reserve + settle)", timed["with"]))
    print(summary("Budget.call without budgets (settle only)  ", timed["without"]))
    print(f"added by the budget check (difference of the medians): {added:.3f} ms (target < 2 ms)")
    return added


async def main(sizes: list[int]) -> int:
    added = {}
    for rows in sizes:
        added[rows] = await measure(rows)
        print()
    print("earlier calls in the ledger -> median added by the budget check")
    for rows, ms in added.items():
        print(f"  {rows:>7} -> {ms:.3f} ms{'' if ms < 2.0 else '  OVER the 2 ms target'}")
    return 0 if all(ms < 2.0 for ms in added.values()) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--rows", default="0,3000,10000,30000,100000",
        help="comma-separated sizes of the ledger's history to measure at (default 0,3000,10000,30000,100000)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.exit(anyio.run(main, [int(r) for r in args.rows.split(",")]))
