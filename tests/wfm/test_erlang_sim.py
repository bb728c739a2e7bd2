"""Erlang A against long simulator runs of the M/M/N+M queue it models.

One queue, Poisson arrivals at a constant rate, exponential handle time (AHT 180 s, no
wrap-up or ringing), exponential patience, N agents always logged in, no redials: the
simulator is then exactly Erlang A's queue. Each run has about 200,000 calls.

Tolerances: service level (answered within 20 s / offered) within 1.5 points, abandon rate
within 0.5 points, mean wait of all offered within 8%. Over 5 seeds per case (bench/wfm,
2026-11-25) the run-to-run standard deviation at this length was at most 0.5 points for the
service level, 0.14 points for the abandon rate and 3% for the wait, and the worst mean
difference 0.3 points of service level.
"""

from __future__ import annotations

import math

import pytest

from contactkpi.simulate import simulate
from contactkpi.simulate.config import (
    Dist,
    QaSim,
    QueueSim,
    SimConfig,
    StaffingSim,
    SurveySim,
    TenantSim,
)
from contactkpi.wfm.erlang import queue_stats, required_agents

AHT_S = 180.0
CALLS = 200_000


def center(traffic: float, agents: int, patience_s: float) -> SimConfig:
    rate_per_day = traffic / AHT_S * 86_400
    queue = QueueSim(
        name="q", channel="voice", daily_volume=rate_per_day,
        talk_s=Dist("exponential", AHT_S), hold_rate=0.0, acw_s=Dist("constant", 0.0),
        ring_s=Dist("constant", 0.0), patience_s=Dist("exponential", patience_s),
        max_wait_s=math.inf, repeat_rate=0.0, redial_rate=0.0, resolution_rate=1.0)
    tenant = TenantSim(
        name="textbook", timezone="UTC", opening_hours={"mon-sun": "00:00-24:00"},
        profile="flat", outside_hours_rate=0.0, surge_rate=0.0, queues=(queue,),
        staffing=StaffingSim(mode="fixed", agents=agents, rna_rate=0.0),
        surveys=SurveySim(rate=0.0),
        qa=QaSim(per_agent_week=0.0, mystery_per_week=0.0, calibration_per_week=0.0))
    return SimConfig(days=max(2, round(CALLS / rate_per_day)), tenants=(tenant,))


def check(traffic: float, agents: int, patience_s: float, seed: int = 100) -> None:
    c = simulate(center(traffic, agents, patience_s), seed=seed)["contacts"]
    assert len(c) > 0.9 * CALLS
    theory = queue_stats(agents, traffic, AHT_S, 20.0, patience_s)
    sl = ((c["outcome"] == "answered") & (c["wait_s"] <= 20.0)).mean()
    assert sl == pytest.approx(float(theory.service_level), abs=0.015)
    assert (c["outcome"] == "abandoned").mean() == pytest.approx(
        float(theory.abandon_rate), abs=0.005)
    assert c["wait_s"].mean() == pytest.approx(float(theory.asa_s), rel=0.08)


def test_erlang_a_matches_a_long_run_near_target():
    # 10 Erlangs on 12 agents, patience 300 s: SL 77.2%, 4.3% abandon (about 4 s to run).
    check(10.0, 12, 300.0)


@pytest.mark.slow
@pytest.mark.parametrize(("traffic", "agents", "patience_s"), [
    (5.0, 6, 60.0),      # small queue, impatient callers
    (5.0, 5, 180.0),     # N = A: only abandons keep it stable
    (20.0, 22, 120.0),
    (50.0, 52, 180.0),
    (50.0, 46, 60.0),    # overloaded (N < A), impatient: 12% abandon
])
def test_erlang_a_matches_long_runs(traffic, agents, patience_s):
    check(traffic, agents, patience_s)


def test_required_agents_reach_the_target_in_the_simulator():
    # Erlang A says 12 agents meet 75/20 at 10 Erlangs with 300 s patience; the simulated
    # queue with those 12 agents does, and with one agent fewer it does not.
    need = int(required_agents(10.0, AHT_S, service_level=0.75, threshold_s=20,
                               patience_s=300.0))
    assert need == 12
    short = simulate(center(10.0, need - 1, 300.0), seed=101)["contacts"]
    sl_short = ((short["outcome"] == "answered") & (short["wait_s"] <= 20.0)).mean()
    assert sl_short < 0.75 - 0.015
