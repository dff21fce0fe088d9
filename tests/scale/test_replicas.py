"""Three replicas behind a round-robin balancer, on one Redis and one bucket: one is SIGKILLed half-way through 30
sessions x 4 turns, and nothing is lost or left behind (issue 11). The scenario and its checks are in
``tests/support/cluster.py`` (``benchmarks/replicas_soak.py`` runs it many times)."""

from __future__ import annotations

import pytest

from tests.support.cluster import Caller, Cluster, kill_one_replica


@pytest.mark.timeout(120)  # a safety net: the run takes 25-45 s
async def test_a_replica_dies_half_way(cluster: Cluster, caller: Caller) -> None:
    outcome = await kill_one_replica(cluster, caller, sessions=30, turns=4, concurrency=10, victim=1)
    assert outcome.problems == [], outcome.summary() + "\n" + "\n".join(outcome.problems) + "\n" + cluster.logs()
    assert outcome.killed == "r1"
    assert outcome.interrupted >= 1  # the kill came while r1 was drawing
    assert outcome.turns == 30 * 4 + 30
