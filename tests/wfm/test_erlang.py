"""Erlang B / C / A: published examples, hand-worked cases, exact references, properties."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from contactkpi.wfm import erlang
from contactkpi.wfm.erlang import (
    erlang_a_abandon_rate,
    erlang_a_asa_s,
    erlang_a_occupancy,
    erlang_a_service_level,
    erlang_a_wait_probability,
    erlang_b,
    erlang_c,
    erlang_c_asa_s,
    erlang_c_service_level,
    fte_per_day,
    occupancy,
    queue_stats,
    required_agents,
    scheduled_agents,
    traffic_erlangs,
)

# --------------------------------------------------------------------------- references


def erlang_b_exact(n: int, a: Fraction) -> Fraction:
    """Erlang B from its definition, in exact rational arithmetic."""
    terms = [Fraction(1)]
    for k in range(1, n + 1):
        terms.append(terms[-1] * a / k)
    return terms[-1] / sum(terms)


def erlang_b_recursion(n: int, a: float) -> float:
    """The textbook stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def mmn_m_chain(n: int, lam: float, mu: float, theta: float, t: float, size: int = 300):
    """M/M/n+M by brute force: truncated birth-death chain and the tagged caller's chain.

    Returns (P(W>0), P(Ab), SL(t)); SL counts callers answered within t over all callers.
    Independent of the closed forms: stationary probabilities by products of rates, P(Ab) by
    theta E[Q] / lambda, and the answer time by a matrix exponential of the chain seen by a
    caller with j callers ahead (moves on at n mu + j theta, abandons at theta).
    """
    p = [1.0]
    for k in range(1, size):
        p.append(p[-1] * lam / (min(k, n) * mu + max(k - n, 0) * theta))
    p = np.array(p) / sum(p)
    queue = np.maximum(np.arange(size) - n, 0)
    jmax = size - n
    gen = np.zeros((jmax + 2, jmax + 2))  # states 0..jmax-1 = callers ahead; then served, gone
    for j in range(jmax):
        gen[j, j] = -(n * mu + j * theta + theta)
        if j == 0:
            gen[0, jmax] = n * mu
        else:
            gen[j, j - 1] = n * mu + j * theta
        gen[j, jmax + 1] = theta
    served_by_t = expm(gen * t)[:jmax, jmax]
    return p[n:].sum(), theta * (p * queue).sum() / lam, p[:n].sum() + p[n:] @ served_by_t


# --------------------------------------------------------------------------- published examples


def test_callcentrehelper_worked_example():
    # Call Centre Helper, "Erlang C formula - made simple with an easy worked example":
    # 100 calls in 30 min, AHT 180 s, 80% in 20 s, 30% shrinkage -> 14 agents, 20 scheduled,
    # SL 88.8%, occupancy 71.4%, probability of waiting 17.4%.
    a = traffic_erlangs(100, 180, 1800)
    assert float(a) == 10.0
    n = required_agents(a, 180, service_level=0.80, threshold_s=20)
    assert int(n) == 14
    assert int(scheduled_agents(n, 0.30)) == 20
    s = queue_stats(n, a, 180, 20)
    assert round(float(s.service_level), 3) == 0.888
    assert round(float(s.occupancy), 3) == 0.714
    assert round(float(s.wait_probability), 3) == 0.174
    # 14 is the fewest: 13 agents miss the target.
    assert float(erlang_c_service_level(13, a, 180, 20)) < 0.80


def test_step_by_step_example_inputs():
    # Inputs of the widely copied "The Erlang-C formula" step-by-step example (mitan.co.uk):
    # 360 calls per half hour, 4-minute calls, 55 agents, 15 s target. Its printed results
    # could not be read offline, so each step is checked against its own definition here:
    # 48 Erlangs, occupancy 48/55, P(wait) from an exact rational Erlang B.
    a = traffic_erlangs(360, 240, 1800)
    assert float(a) == 48.0
    assert round(float(occupancy(55, a)), 3) == 0.873
    pw = float(erlang_c(55, a))
    # Hand check of the formula's pieces against an exact rational evaluation.
    b = erlang_b_exact(55, Fraction(48))
    assert pw == pytest.approx(float(55 * b / (55 - 48 * (1 - b))), rel=1e-12)
    asa = float(erlang_c_asa_s(55, a, 240))
    assert asa == pytest.approx(pw * 240 / 7, rel=1e-12)
    sl = float(erlang_c_service_level(55, a, 240, 15))
    assert sl == pytest.approx(1 - pw * math.exp(-7 * 15 / 240), rel=1e-12)


# --------------------------------------------------------------------------- hand-worked cases


def test_small_cases_by_hand():
    # M/M/2 at A = 1: B = (1/2) / (1 + 1 + 1/2) = 0.2; C = 2 * 0.2 / (2 - 0.8) = 1/3.
    assert float(erlang_b(2, 1.0)) == pytest.approx(0.2, abs=1e-15)
    assert float(erlang_c(2, 1.0)) == pytest.approx(1 / 3, abs=1e-15)
    # M/M/1: P(wait) = A; SL = 1 - A e^-((1 - A) t / AHT); ASA = A AHT / (1 - A).
    assert float(erlang_c(1, 0.5)) == pytest.approx(0.5, abs=1e-15)
    assert float(erlang_c_service_level(1, 0.5, 60, 30)) == pytest.approx(
        1 - 0.5 * math.exp(-0.25), abs=1e-15)
    assert float(erlang_c_asa_s(1, 0.5, 60)) == pytest.approx(60.0, abs=1e-12)


def test_unstable_and_empty_queues():
    assert float(erlang_c(10, 10.0)) == 1.0
    assert float(erlang_c_service_level(9, 10.0, 180, 20)) == 0.0
    assert math.isinf(float(erlang_c_asa_s(10, 12.0, 180)))
    s = queue_stats(0, 0.0, 180, 20)
    assert (float(s.wait_probability), float(s.service_level), float(s.asa_s)) == (0.0, 1.0, 0.0)
    assert int(required_agents(0.0, 180, service_level=0.8, threshold_s=20)) == 0


def test_erlang_b_matches_exact_rationals():
    for n, a in [(1, 0.5), (5, 3.25), (20, 17.0), (60, 48.5), (120, 150.0)]:
        exact = float(erlang_b_exact(n, Fraction(a)))
        assert float(erlang_b(n, a)) == pytest.approx(exact, rel=1e-12)


def test_large_centres_are_stable():
    # Thousands of agents and Erlangs: no overflow, and the same as the stable recursion.
    for n, a in [(2000, 1950.0), (5000, 4900.0), (8000, 8500.0), (300, 4000.0)]:
        assert float(erlang_b(n, a)) == pytest.approx(erlang_b_recursion(n, a), rel=1e-9)
    sl = erlang_c_service_level([2000, 5000], [1950.0, 4900.0], 300, 20)
    assert np.isfinite(sl).all() and ((sl > 0.99) & (sl < 1)).all()
    need = required_agents([1950.0, 4900.0], 300, service_level=0.8, threshold_s=20)
    below = erlang_c_service_level(need - 1, [1950.0, 4900.0], 300, 20)
    at = erlang_c_service_level(need, [1950.0, 4900.0], 300, 20)
    assert (at >= 0.8).all() and (below < 0.8).all()


def test_required_agents_with_asa_and_occupancy():
    # ASA target alone: 14 agents give 7.84 s, 13 give 16.0 s -> 14 for a 10 s target.
    assert float(erlang_c_asa_s(13, 10.0, 180)) > 10 > float(erlang_c_asa_s(14, 10.0, 180))
    assert int(required_agents(10.0, 180, asa_s=10)) == 14
    # Max occupancy 60%: ceil(10 / 0.6) = 17 beats the SL's 14.
    assert int(required_agents(10.0, 180, service_level=0.8, threshold_s=20,
                               max_occupancy=0.6)) == 17
    # Exactly at the occupancy limit counts as met: 10 / 0.8 = 12.5 -> 13; 8 / 0.8 = 10.
    assert int(required_agents(8.0, 180, max_occupancy=0.8)) == 10


def test_bad_targets_raise():
    with pytest.raises(ValueError, match="at least one target"):
        required_agents(10.0, 180)
    with pytest.raises(ValueError, match="threshold_s"):
        required_agents(10.0, 180, service_level=0.8)
    with pytest.raises(ValueError, match="strictly between"):
        required_agents(10.0, 180, service_level=1.0, threshold_s=20)
    with pytest.raises(ValueError, match="shrinkage"):
        scheduled_agents(10, 1.0)


def test_shrinkage_and_fte():
    assert scheduled_agents([14, 21, 0], 0.30).tolist() == [20, 30, 0]
    assert scheduled_agents(10, 0.0).tolist() == 10
    # 20 agents for 16 half hours = 160 agent-hours = 20 FTE of 8 h; 21.33 FTE of 7.5 h.
    assert float(fte_per_day([20] * 16, 1800)) == 20.0
    assert float(fte_per_day([20] * 16, 1800, paid_hours_per_day=7.5)) == pytest.approx(64 / 3)
    per_queue = fte_per_day(np.array([[10] * 48, [2] * 48]), 900)
    assert per_queue.tolist() == [15.0, 3.0]


# --------------------------------------------------------------------------- Erlang A


@pytest.mark.parametrize(
    ("n", "calls_per_min", "aht_s", "patience_s", "t"),
    [(5, 4, 60, 120, 20), (10, 9, 60, 30, 30), (3, 4, 60, 200, 10), (8, 1, 60, 10, 5),
     (20, 25, 48, 90, 20), (4, 6, 60, 60, 0)],
)
def test_erlang_a_matches_the_markov_chain(n, calls_per_min, aht_s, patience_s, t):
    lam, mu, theta = calls_per_min / 60, 1 / aht_s, 1 / patience_s
    pw, pab, sl = mmn_m_chain(n, lam, mu, theta, t)
    a = lam / mu
    s = queue_stats(n, a, aht_s, t, patience_s)
    assert float(s.wait_probability) == pytest.approx(pw, abs=1e-10)
    assert float(s.abandon_rate) == pytest.approx(pab, abs=1e-10)
    assert float(s.service_level) == pytest.approx(sl, abs=1e-10)
    assert float(s.asa_s) == pytest.approx(pab * patience_s, rel=1e-12)


def test_erlang_a_by_hand_one_agent_patience_equal_to_aht():
    # n = 1, theta = mu: the number in system is Poisson(A): P(W>0) = 1 - e^-A,
    # E[Q] = A - (1 - e^-A), P(Ab) = theta E[Q] / lambda = (A - 1 + e^-A) / A.
    a = 1.5
    assert float(erlang_a_wait_probability(1, a, 60, 60)) == pytest.approx(1 - math.exp(-a))
    assert float(erlang_a_abandon_rate(1, a, 60, 60)) == pytest.approx(
        (a - 1 + math.exp(-a)) / a)
    assert float(erlang_a_occupancy(1, a, 60, 60)) == pytest.approx(1 - math.exp(-a))


def test_erlang_a_overload_is_stable():
    # Fewer agents than Erlangs: Erlang C has no answer, Erlang A does.
    s = queue_stats([50, 1000], [80.0, 1500.0], 300, 20, 60)
    assert np.isfinite(s.asa_s).all()
    assert ((s.abandon_rate > 0.3) & (s.abandon_rate < 1)).all()
    # Carried traffic cannot exceed the agents: occupancy <= 1 and abandons >= 1 - N/A.
    assert (s.occupancy <= 1 + 1e-12).all()
    assert (s.abandon_rate >= 1 - np.array([50 / 80, 1000 / 1500]) - 1e-12).all()


def test_erlang_a_tends_to_erlang_c():
    c_sl = float(erlang_c_service_level(14, 10.0, 180, 20))
    c_pw = float(erlang_c(14, 10.0))
    c_asa = float(erlang_c_asa_s(14, 10.0, 180))
    gaps = []
    for patience in (1e3, 1e5, 1e7):
        gaps.append(abs(float(erlang_a_service_level(14, 10.0, 180, patience, 20)) - c_sl))
        assert float(erlang_a_wait_probability(14, 10.0, 180, patience)) < c_pw
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-5  # the gap shrinks like AHT / patience
    assert float(erlang_a_asa_s(14, 10.0, 180, 1e7)) == pytest.approx(c_asa, rel=1e-4)
    # inf is Erlang C exactly.
    assert float(erlang_a_service_level(14, 10.0, 180, np.inf, 20)) == c_sl
    assert float(erlang_a_abandon_rate(14, 10.0, 180, np.inf)) == 0.0


def test_erlang_a_required_agents():
    # Erlang A minimum: the last agent removed misses the target.
    a = traffic_erlangs(120, 240, 1800)
    n = int(required_agents(a, 240, service_level=0.8, threshold_s=20, patience_s=90))
    assert float(erlang_a_service_level(n, a, 240, 90, 20)) >= 0.8
    assert float(erlang_a_service_level(n - 1, a, 240, 90, 20)) < 0.8
    m = int(required_agents(a, 240, max_abandon_rate=0.02, patience_s=90))
    assert float(erlang_a_abandon_rate(m, a, 240, 90)) <= 0.02
    assert float(erlang_a_abandon_rate(m - 1, a, 240, 90)) > 0.02
    # Mixed rows: patience inf is Erlang C.
    both = required_agents([10.0, 10.0], 180, service_level=0.8, threshold_s=20,
                           patience_s=[np.inf, 1e9])
    assert both.tolist() == [14, 14]


def test_vectorised_shapes():
    traffic = np.linspace(0, 60, 96 * 4).reshape(96, 4)
    need = required_agents(traffic, np.array([180, 240, 300, 600]), service_level=0.8,
                           threshold_s=20)
    assert need.shape == (96, 4) and need.dtype == np.int64
    s = queue_stats(need, traffic, np.array([180, 240, 300, 600]), 20)
    assert s.service_level.shape == (96, 4)
    assert (s.service_level >= 0.8).all()


# --------------------------------------------------------------------------- properties

traffic_st = st.floats(0.05, 400.0)
aht_st = st.floats(20.0, 1200.0)
threshold_st = st.floats(0.0, 120.0)
patience_st = st.floats(5.0, 3600.0)


@settings(max_examples=60, deadline=None)
@given(traffic_st, aht_st, threshold_st, st.one_of(st.none(), patience_st))
def test_service_level_non_decreasing_in_agents(a, aht, t, patience):
    n = np.arange(max(0, int(a) - 5), int(a + 4 * math.sqrt(a) + 8))
    s = queue_stats(n, a, aht, t, patience)
    assert (np.diff(s.service_level) >= -1e-9).all()
    assert ((s.wait_probability >= 0) & (s.wait_probability <= 1)).all()
    assert ((s.service_level >= 0) & (s.service_level <= 1)).all()
    if patience is not None:
        assert (np.diff(s.abandon_rate) <= 1e-9).all()  # abandonment falls with agents
        assert (np.diff(s.occupancy[n > 0]) <= 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(traffic_st, aht_st, st.one_of(st.none(), patience_st), st.integers(0, 10))
def test_service_level_non_decreasing_in_threshold(a, aht, patience, extra):
    n = int(a) + extra
    t = np.linspace(0, 300, 31)
    sl = queue_stats(n, a, aht, t, patience).service_level
    assert (np.diff(sl) >= -1e-9).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 200.0), aht_st, st.floats(0.0, 60.0), st.integers(1, 8))
@example(183.09322033898303, 20.0, 60.0, 1)  # the example that showed the early growth
def test_erlang_a_approaches_erlang_c_as_patience_grows(a, aht, t, extra):
    """Once patience is far above every wait, the gap shrinks like AHT / patience. Not
    before: near saturation (a = 183, n = 184, AHT 20 s, t = 60 s) the gap *grows* from
    patience 10 x AHT to 300 x AHT, as fewer callers abandon and the queue lengthens, so the
    rate is asserted from 10^4 x AHT on (slack 1e-6: the SLs are computed to about that)."""
    n = math.ceil(a) + extra  # at least one agent above the load
    c = float(erlang_c_service_level(n, a, aht, t))
    gaps = [abs(float(erlang_a_service_level(n, a, aht, aht * k, t)) - c)
            for k in (1e4, 1e5, 1e6)]
    assert gaps[2] <= gaps[1] + 1e-6 <= gaps[0] + 2e-6
    assert gaps[2] <= 0.05 * gaps[0] + 1e-6
    assert gaps[2] <= 1e-3


@settings(max_examples=60, deadline=None)
@given(traffic_st, aht_st, threshold_st, st.floats(0.5, 0.97), st.one_of(st.none(),
                                                                         patience_st))
def test_required_agents_is_the_fewest(a, aht, t, target, patience):
    n = int(required_agents(a, aht, service_level=target, threshold_s=t, patience_s=patience))
    assert float(queue_stats(n, a, aht, t, patience).service_level) >= target
    if n > 1:
        below = queue_stats(n - 1, a, aht, t, patience).service_level
        assert float(below) < target


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.floats(0.01, 0.99))
def test_erlang_b_closed_form_equals_recursion(n, load):
    a = n * load * 1.5
    assert float(erlang_b(n, a)) == pytest.approx(erlang_b_recursion(n, a), rel=1e-10)


# --------------------------------------------------------------------------- pyworkforce


def _pyworkforce_cases(count: int = 200):
    rng = np.random.default_rng(20261123)
    for _ in range(count):
        interval_min = int(rng.choice([15, 30, 60]))
        yield dict(
            volume=float(rng.uniform(1, 1500)),
            aht_s=float(rng.uniform(60, 900)),
            interval_s=interval_min * 60,
            threshold_s=float(rng.uniform(5, 60)),
            service_level=float(rng.uniform(0.5, 0.95)),
            max_occupancy=float(rng.choice([1.0, rng.uniform(0.7, 0.95)])),
            shrinkage=float(rng.uniform(0, 0.5)),
        )


def test_matches_pyworkforce():
    pwf = pytest.importorskip("pyworkforce.queuing")
    for case in _pyworkforce_cases():
        ref = pwf.ErlangC(transactions=case["volume"], aht=case["aht_s"] / 60,
                          asa=case["threshold_s"] / 60, interval=case["interval_s"] / 60,
                          shrinkage=case["shrinkage"])
        want = ref.required_positions(service_level=case["service_level"],
                                      max_occupancy=case["max_occupancy"])
        a = traffic_erlangs(case["volume"], case["aht_s"], case["interval_s"])
        n = required_agents(a, case["aht_s"], service_level=case["service_level"],
                            threshold_s=case["threshold_s"],
                            max_occupancy=case["max_occupancy"])
        assert int(n) == want["raw_positions"], case
        s = queue_stats(n, a, case["aht_s"], case["threshold_s"])
        assert float(s.service_level) == pytest.approx(want["service_level"], abs=1e-9)
        assert float(s.wait_probability) == pytest.approx(want["waiting_probability"],
                                                          abs=1e-9)
        assert float(s.occupancy) == pytest.approx(want["occupancy"], abs=1e-9)
        # pyworkforce rounds scheduled agents with a bare ceil (see the test below).
        expected_scheduled = math.ceil(round(want["raw_positions"] / (1 - case["shrinkage"]), 9))
        assert int(scheduled_agents(n, case["shrinkage"])) == expected_scheduled
        for agents in (int(n) - 1, int(n) + 2):
            assert float(erlang_c_service_level(agents, a, case["aht_s"], case["threshold_s"])
                         ) == pytest.approx(max(0.0, ref.service_level(agents)), abs=1e-9)


def test_where_pyworkforce_is_wrong():
    pwf = pytest.importorskip("pyworkforce.queuing")
    # 1. Scheduled agents: 21 / (1 - 0.3) = 30.000000000000004 in floating point, and a bare
    #    ceil gives 31; 30 scheduled agents at 30% shrinkage leave exactly 21.
    ref = pwf.ErlangC(transactions=1, aht=1, asa=1, interval=30, shrinkage=0.3)
    assert math.ceil(21 / (1 - 0.3)) == 31
    assert int(scheduled_agents(21, 0.3)) == 30
    del ref
    # 2. Its search starts at round(A + 1), skipping N = ceil(A) when A's fraction is > 0.5:
    #    A = 9.6 and a low target that 10 agents already meet.
    a, aht, t = 9.6, 180, 20
    sl10 = float(erlang_c_service_level(10, a, aht, t))
    assert 0 < sl10 < 0.2
    ref = pwf.ErlangC(transactions=9.6 * 30 / 3, aht=3, asa=t / 60, interval=30)
    assert ref.required_positions(service_level=sl10 / 2)["raw_positions"] == 11
    assert int(required_agents(a, aht, service_level=sl10 / 2, threshold_s=t)) == 10


def test_module_exports_exist():
    for name in erlang.__all__:
        assert hasattr(erlang, name)
