"""Queueing formulas for staffing: Erlang B, Erlang C (M/M/N) and Erlang A (M/M/N+M).

Every function is pure and vectorised: arguments are scalars or numpy arrays that broadcast
against each other (for example an ``intervals x queues`` matrix of traffic against a scalar
handle time), and results have the broadcast shape.

Notation (all times in seconds):

- ``traffic`` *A* in Erlangs = contacts offered per interval x AHT / interval length.
- ``agents`` *N*: agents answering (whole numbers).
- ``aht_s``: average handle time (talk + hold + after-call work).
- ``threshold_s``: the service-level answer time, e.g. 20 for "80/20".
- ``patience_s``: the customers' average patience (Erlang A); ``inf`` means no abandonment
  and gives Erlang C exactly.

Numerics: no factorials. Erlang B is the Poisson ratio ``pmf(N; A) / cdf(N; A)`` computed with
``gammaln`` and the regularised incomplete gamma function (``cdf(N; A) = Q(N + 1, A)``), and
with the series ``1/B = sum_i N!/(N-i)!/A^i`` where that cdf underflows (``A`` far above
``N``). Erlang A uses ``log A(x, y)`` (see :func:`erlang_a_wait_probability`) in log space.
Both stay accurate for thousands of agents and thousands of Erlangs.

Examples:
    The published worked example (Call Centre Helper, "Erlang C formula, made simple with an
    easy worked example"): 100 calls in 30 minutes, AHT 180 s, target 80% answered in 20 s.

    >>> a = traffic_erlangs(100, 180, 1800)
    >>> float(a)
    10.0
    >>> int(required_agents(a, 180, service_level=0.8, threshold_s=20))
    14
    >>> round(float(erlang_c(14, a)), 3), round(float(erlang_c_service_level(14, a, 180, 20)), 3)
    (0.174, 0.888)
    >>> round(float(occupancy(14, a)), 3), int(scheduled_agents(14, 0.30))
    (0.714, 20)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "QueueStats",
    "erlang_a_abandon_rate",
    "erlang_a_asa_s",
    "erlang_a_occupancy",
    "erlang_a_service_level",
    "erlang_a_wait_probability",
    "erlang_b",
    "erlang_c",
    "erlang_c_asa_s",
    "erlang_c_service_level",
    "fte_per_day",
    "occupancy",
    "queue_stats",
    "required_agents",
    "scheduled_agents",
    "traffic_erlangs",
]

FloatArray = NDArray[np.float64]

#: Below this, a regularised incomplete gamma value is treated as underflowed and the
#: matching series is summed instead.
_TINY = 1e-250
#: Relative size of the last term at which a series is stopped.
_SERIES_EPS = 1e-17
#: Largest number of agents the search for required agents will consider.
MAX_AGENTS = 10_000_000


def traffic_erlangs(volume: ArrayLike, aht_s: ArrayLike, interval_s: ArrayLike) -> FloatArray:
    """Offered traffic in Erlangs: ``volume x aht_s / interval_s``.

    Args:
        volume: Contacts offered in the interval.
        aht_s: Average handle time in seconds.
        interval_s: Interval length in seconds.

    Returns:
        Traffic in Erlangs (the average number of agents busy if every contact is answered).

    Examples:
        >>> float(traffic_erlangs(120, 240, 1800))
        16.0
    """
    return np.asarray(volume, dtype=float) * np.asarray(aht_s, dtype=float) / np.asarray(
        interval_s, dtype=float
    )


# --------------------------------------------------------------------------- Erlang B


def _erlang_b_flat(n: FloatArray, a: FloatArray) -> FloatArray:
    """Erlang B on 1-d arrays of equal length (``n >= 0`` whole, ``a >= 0``)."""
    with np.errstate(all="ignore"):
        cdf = special.gammaincc(n + 1.0, a)  # Poisson cdf P(X <= n), X ~ Poisson(a)
        log_pmf = special.xlogy(n, a) - a - special.gammaln(n + 1.0)
        out = np.exp(log_pmf) / cdf
    bad = ~(cdf > _TINY) | ~np.isfinite(out)
    if bad.any():
        out[bad] = 1.0 / _inverse_erlang_b_series(n[bad], a[bad])
    out[n == 0] = 1.0
    return np.clip(out, 0.0, 1.0)


def _inverse_erlang_b_series(n: FloatArray, a: FloatArray) -> FloatArray:
    """``1 / B(n, a) = sum_{i=0..n} n!/(n-i)! / a^i``; used only where ``a`` is far above ``n``.

    The terms fall by ``(n - i) / a < 1`` each step, so few are needed where it is used.
    """
    total = np.ones_like(a)
    term = np.ones_like(a)
    active = np.arange(a.size)
    i = 0
    while active.size:
        i += 1
        term[active] *= np.maximum(n[active] - i + 1.0, 0.0) / a[active]
        total[active] += term[active]
        active = active[term[active] > _SERIES_EPS * total[active]]
    return total


def erlang_b(agents: ArrayLike, traffic: ArrayLike) -> FloatArray:
    """Erlang B: blocking probability of the loss system M/M/N/N.

    ``B(N, A) = (A^N / N!) / sum_{k=0..N} A^k / k!``, computed as the Poisson ratio
    ``pmf(N; A) / cdf(N; A)`` without factorials (Jagerman 1974, "Some properties of the
    Erlang loss function", Bell System Technical Journal 53(3)).

    Args:
        agents: Servers *N* (whole numbers >= 0).
        traffic: Offered traffic *A* in Erlangs (>= 0).

    Returns:
        ``B(N, A)`` in [0, 1]; 1 when ``N = 0``.

    Examples:
        >>> round(float(erlang_b(2, 1.0)), 6)  # (1/2) / (1 + 1 + 1/2)
        0.2
    """
    n, a = np.broadcast_arrays(np.asarray(agents, dtype=float), np.asarray(traffic, dtype=float))
    return _erlang_b_flat(n.ravel().copy(), a.ravel().copy()).reshape(n.shape)


# --------------------------------------------------------------------------- Erlang C


@dataclass(frozen=True)
class QueueStats:
    """What a queue does with a given number of agents (arrays of one shape).

    Attributes:
        wait_probability: P(W > 0), share of contacts that find every agent busy.
        service_level: Share of all offered contacts answered within ``threshold_s``
            (abandoned contacts count as missed).
        asa_s: Mean wait in seconds over all offered contacts; those answered at once count
            0 s and, in Erlang A, abandoned ones count the time they waited before hanging up.
        occupancy: Share of logged-in agent time spent handling contacts.
        abandon_rate: Share of offered contacts that abandon (0 for Erlang C).
    """

    wait_probability: FloatArray
    service_level: FloatArray
    asa_s: FloatArray
    occupancy: FloatArray
    abandon_rate: FloatArray


def _erlang_c_flat(n: FloatArray, a: FloatArray, aht: FloatArray, t: FloatArray) -> QueueStats:
    stable = n > a
    idle = a == 0  # no traffic: nobody waits, whatever the agents
    e = _erlang_b_flat(n, a)
    with np.errstate(all="ignore"):
        pw = np.where(idle, 0.0, np.where(stable, n * e / (n - a * (1.0 - e)), 1.0))
        sl = np.where(idle, 1.0, np.where(stable, 1.0 - pw * np.exp(-(n - a) * t / aht), 0.0))
        asa = np.where(idle, 0.0, np.where(stable, pw * aht / (n - a), np.inf))
        occ = np.where(n > 0, np.minimum(a / n, 1.0), np.where(idle, 0.0, np.nan))
    return QueueStats(
        wait_probability=np.clip(pw, 0.0, 1.0),
        service_level=np.clip(sl, 0.0, 1.0),
        asa_s=asa,
        occupancy=occ,
        abandon_rate=np.zeros_like(a),
    )


def _broadcast(*args: ArrayLike) -> list[FloatArray]:
    return [np.array(x, dtype=float) for x in np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in args))]


def erlang_c(agents: ArrayLike, traffic: ArrayLike) -> FloatArray:
    """Erlang C: probability that a contact waits, P(W > 0), in the M/M/N queue.

    ``C(N, A) = N B / (N - A (1 - B))`` with ``B = erlang_b(N, A)``, the standard identity
    between the delay and loss formulas (e.g. Koole, *Call Center Optimization*, 2013).
    ``N <= A`` is unstable (the queue grows without bound): the result is 1.

    Args:
        agents: Agents *N*.
        traffic: Offered traffic *A* in Erlangs.

    Returns:
        P(W > 0) in [0, 1].

    Examples:
        >>> round(float(erlang_c(2, 1.0)), 6)  # M/M/2 at A = 1: 1/3
        0.333333
        >>> float(erlang_c(3, 3.0))
        1.0
    """
    n, a = _broadcast(agents, traffic)
    one = np.ones(1)
    return _erlang_c_flat(n.ravel(), a.ravel(), one, one).wait_probability.reshape(n.shape)


def erlang_c_service_level(
    agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike, threshold_s: ArrayLike
) -> FloatArray:
    """Erlang C service level: share of contacts answered within ``threshold_s``.

    ``SL = 1 - C(N, A) exp(-(N - A) t / AHT)``; 0 when ``N <= A``.

    Examples:
        >>> round(float(erlang_c_service_level(14, 10.0, 180, 20)), 4)
        0.8884
    """
    n, a, aht, t = _broadcast(agents, traffic, aht_s, threshold_s)
    return _erlang_c_flat(n.ravel(), a.ravel(), aht.ravel(), t.ravel()).service_level.reshape(
        n.shape
    )


def erlang_c_asa_s(agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike) -> FloatArray:
    """Erlang C average speed of answer in seconds: ``C(N, A) AHT / (N - A)``.

    The mean over all contacts (those answered at once count 0 s); ``inf`` when ``N <= A``.

    Examples:
        >>> round(float(erlang_c_asa_s(14, 10.0, 180)), 2)
        7.84
    """
    n, a, aht = _broadcast(agents, traffic, aht_s)
    zero = np.zeros(n.size)
    return _erlang_c_flat(n.ravel(), a.ravel(), aht.ravel(), zero).asa_s.reshape(n.shape)


def occupancy(agents: ArrayLike, traffic: ArrayLike) -> FloatArray:
    """Erlang C occupancy ``A / N`` (capped at 1; ``nan`` for 0 agents with traffic).

    Examples:
        >>> round(float(occupancy(14, 10.0)), 4)
        0.7143
    """
    n, a = _broadcast(agents, traffic)
    with np.errstate(all="ignore"):
        return np.where(n > 0, np.minimum(a / n, 1.0), np.where(a == 0, 0.0, np.nan))


# --------------------------------------------------------------------------- Erlang A


def _log_kummer(x: FloatArray, y: FloatArray) -> FloatArray:
    """``log A(x, y)`` with ``A(x, y) = sum_{j>=0} y^j / ((x+1)(x+2)...(x+j))`` for x, y >= 0.

    ``A(x, y) = x e^y y^-x gamma(x, y)`` (lower incomplete gamma), the function of Garnett,
    Mandelbaum and Reiman (2002); it equals Kummer's ``1F1(1; x+1; y)``. Where ``y`` is well
    below ``x`` (or the incomplete gamma underflows) the series above is summed; it converges
    geometrically there.
    """
    with np.errstate(all="ignore"):
        p = special.gammainc(x, y)
        out = np.log(p) + y - special.xlogy(x, y) + special.gammaln(x + 1.0)
    series = (y <= 0.5 * (x + 1.0)) | ~(p > _TINY) | ~np.isfinite(out)
    if series.any():
        xs, ys = x[series], y[series]
        total = np.zeros_like(ys)
        term = np.ones_like(ys)
        active = np.arange(ys.size)
        j = 0
        while active.size:
            j += 1
            term[active] *= ys[active] / (xs[active] + j)
            total[active] += term[active]
            active = active[term[active] > _SERIES_EPS * (1.0 + total[active])]
        out[series] = np.log1p(total)
    return out


def _erlang_a_flat(
    n: FloatArray, a: FloatArray, aht: FloatArray, patience: FloatArray, t: FloatArray | None
) -> QueueStats:
    """Erlang A on 1-d arrays; ``patience`` finite and > 0. ``t=None`` skips the SL."""
    x = n * patience / aht  # n mu / theta
    y = a * patience / aht  # lambda / theta
    log_a = _log_kummer(x, y)
    e = _erlang_b_flat(n, a)
    with np.errstate(all="ignore"):
        pw = e / (e + (1.0 - e) * np.exp(-log_a))
        one_minus_inv_a = -np.expm1(-log_a)  # 1 - 1/A(x, y)
        inv_rho = x / y
        p_ab_given_wait = np.where(y > 0, 1.0 - inv_rho * one_minus_inv_a, 1.0 / (x + 1.0))
        p_ab_given_wait = np.clip(p_ab_given_wait, 0.0, 1.0)
        p_ab = np.where(a > 0, pw * p_ab_given_wait, 0.0)
        pw = np.where(a > 0, pw, 0.0)
        asa = p_ab * patience
        occ = np.where(n > 0, a * (1.0 - p_ab) / n, np.where(a == 0, 0.0, np.nan))
        if t is None:
            sl = np.full_like(a, np.nan)
        else:
            log_u = -t / patience  # u = exp(-theta t)
            tail_log_a = _log_kummer(x + 1.0, y * np.exp(log_u))
            tail = (x / (x + 1.0)) * np.exp(
                (x + 1.0) * log_u + y * -np.expm1(log_u) + tail_log_a - log_a
            )
            served_within = np.clip(inv_rho * one_minus_inv_a - tail, 0.0, 1.0)
            sl = np.where(a > 0, 1.0 - pw + pw * served_within, 1.0)
    return QueueStats(
        wait_probability=np.clip(pw, 0.0, 1.0),
        service_level=np.clip(sl, 0.0, 1.0),
        asa_s=asa,
        occupancy=occ,
        abandon_rate=p_ab,
    )


def _stats_flat(
    n: FloatArray,
    a: FloatArray,
    aht: FloatArray,
    patience: FloatArray,
    t: FloatArray | None,
) -> QueueStats:
    """Erlang A where patience is finite, Erlang C where it is infinite (1-d arrays)."""
    finite = np.isfinite(patience)
    t_c = np.zeros_like(a) if t is None else t
    if finite.all():
        return _erlang_a_flat(n, a, aht, patience, t)
    if not finite.any():
        stats = _erlang_c_flat(n, a, aht, t_c)
        if t is None:
            stats = QueueStats(stats.wait_probability, np.full_like(a, np.nan), stats.asa_s,
                               stats.occupancy, stats.abandon_rate)
        return stats
    c = _stats_flat(n[~finite], a[~finite], aht[~finite], patience[~finite],
                    None if t is None else t[~finite])
    m = _erlang_a_flat(n[finite], a[finite], aht[finite], patience[finite],
                       None if t is None else t[finite])
    fields = {}
    for name in ("wait_probability", "service_level", "asa_s", "occupancy", "abandon_rate"):
        out = np.empty_like(a)
        out[~finite] = getattr(c, name)
        out[finite] = getattr(m, name)
        fields[name] = out
    return QueueStats(**fields)


def queue_stats(
    agents: ArrayLike,
    traffic: ArrayLike,
    aht_s: ArrayLike,
    threshold_s: ArrayLike,
    patience_s: ArrayLike | None = None,
) -> QueueStats:
    """Everything a queue does with ``agents``: Erlang A where patience is finite, else C.

    Args:
        agents: Agents answering.
        traffic: Offered traffic in Erlangs.
        aht_s: Average handle time in seconds.
        threshold_s: Service-level answer time in seconds.
        patience_s: Average patience in seconds; ``None`` or ``inf`` means Erlang C.

    Returns:
        A :class:`QueueStats` of arrays with the broadcast shape.

    Examples:
        >>> s = queue_stats(14, 10.0, 180, 20)
        >>> round(float(s.service_level), 3), round(float(s.wait_probability), 3)
        (0.888, 0.174)
    """
    patience = np.inf if patience_s is None else patience_s
    n, a, aht, t, p = _broadcast(agents, traffic, aht_s, threshold_s, patience)
    stats = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), t.ravel())
    return QueueStats(*(np.reshape(v, n.shape) for v in (
        stats.wait_probability, stats.service_level, stats.asa_s, stats.occupancy,
        stats.abandon_rate)))


def erlang_a_wait_probability(
    agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike
) -> FloatArray:
    """Erlang A (M/M/N+M, Palm): probability that a contact waits, P(W > 0).

    Garnett, Mandelbaum and Reiman (2002), "Designing a call center with impatient
    customers", Manufacturing & Service Operations Management 4(3):208-227:

        P(W > 0) = A(x, y) B / (1 + (A(x, y) - 1) B),
        A(x, y) = x e^y / y^x * integral_0^y t^(x-1) e^-t dt,

    with ``x = N mu / theta``, ``y = lambda / theta``, ``mu = 1/AHT``, ``theta = 1/patience``
    and ``B = erlang_b(N, lambda/mu)``. Stable for any ``N`` (abandonment drains the queue).
    ``patience_s = inf`` gives Erlang C.

    Examples:
        >>> round(float(erlang_a_wait_probability(14, 10.0, 180, 1e9)), 6)
        0.174132
    """
    n, a, aht, p = _broadcast(agents, traffic, aht_s, patience_s)
    s = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), None)
    return s.wait_probability.reshape(n.shape)


def erlang_a_abandon_rate(
    agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike
) -> FloatArray:
    """Erlang A: share of offered contacts that abandon, P(Ab).

    ``P(Ab | W > 0) = 1 / (rho A(x, y)) + 1 - 1/rho`` with ``rho = lambda / (N mu)``, and
    ``P(Ab) = P(Ab | W > 0) P(W > 0)`` (Garnett, Mandelbaum and Reiman 2002;
    Mandelbaum and Zeltyn, "The Palm/Erlang-A queue, with applications to call centers",
    2007 teaching note). 0 for ``patience_s = inf``.

    Examples:
        With one agent and patience equal to AHT the number in system is Poisson(A), so
        ``P(Ab) = (A - 1 + e^-A) / A``; at ``A = 1`` that is ``e^-1``:

        >>> round(float(erlang_a_abandon_rate(1, 1.0, 60, 60)), 6)
        0.367879
        >>> float(erlang_a_abandon_rate(0, 1.0, 60, 60))  # nobody answers
        1.0
    """
    n, a, aht, p = _broadcast(agents, traffic, aht_s, patience_s)
    s = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), None)
    return s.abandon_rate.reshape(n.shape)


def erlang_a_asa_s(
    agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike
) -> FloatArray:
    """Erlang A mean wait in seconds over **all offered** contacts: ``E[W] = P(Ab) x patience``.

    The identity is Little's law for the abandoning customers, ``lambda P(Ab) = theta E[Q]``
    (Mandelbaum and Zeltyn 2007). Contacts answered at once count 0 s, abandoned
    contacts the time they waited before hanging up; this is the Erlang C ASA when patience
    is infinite. It is not the mean wait of answered contacts only.
    """
    n, a, aht, p = _broadcast(agents, traffic, aht_s, patience_s)
    s = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), None)
    return s.asa_s.reshape(n.shape)


def erlang_a_occupancy(
    agents: ArrayLike, traffic: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike
) -> FloatArray:
    """Erlang A occupancy: carried traffic per agent, ``A (1 - P(Ab)) / N``."""
    n, a, aht, p = _broadcast(agents, traffic, aht_s, patience_s)
    s = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), None)
    return s.occupancy.reshape(n.shape)


def erlang_a_service_level(
    agents: ArrayLike,
    traffic: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    threshold_s: ArrayLike,
) -> FloatArray:
    """Erlang A service level: share of **all offered** contacts answered within ``threshold_s``.

    Abandoned contacts count as missed, as in the catalog's default ``service_level`` variant.
    A contact that finds ``j`` others waiting is answered by ``t`` with probability
    ``x/(x+j+1) I_F(j+1, x+1)`` (``I`` the regularised incomplete beta, ``F = 1 - e^-theta t``;
    its offered wait is a sum of exponentials with rates ``N mu + i theta`` and it abandons at
    rate ``theta``). Summing over the stationary queue of Garnett, Mandelbaum and Reiman
    (2002) gives the closed form used here:

        P(answered by t | W > 0) = (1/rho)(1 - 1/A(x, y))
                                   - x/(x+1) u^(x+1) e^(y(1-u)) A(x+1, y u) / A(x, y),

    with ``u = e^-theta t``; ``SL = 1 - P(W>0) + P(W>0) P(answered by t | W>0)``. At ``t = 0``
    it is ``1 - P(W > 0)``; as patience grows it tends to the Erlang C service level.

    Examples:
        >>> round(float(erlang_a_service_level(14, 10.0, 180, 1e9, 20)), 4)
        0.8884
    """
    n, a, aht, p, t = _broadcast(agents, traffic, aht_s, patience_s, threshold_s)
    s = _stats_flat(n.ravel(), a.ravel(), aht.ravel(), p.ravel(), t.ravel())
    return s.service_level.reshape(n.shape)


# --------------------------------------------------------------------------- agents for a target


def required_agents(
    traffic: ArrayLike,
    aht_s: ArrayLike,
    *,
    service_level: ArrayLike | None = None,
    threshold_s: ArrayLike | None = None,
    asa_s: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
    patience_s: ArrayLike | None = None,
    max_abandon_rate: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Fewest agents that meet every target given (Erlang C, or Erlang A with patience).

    Every target is monotone in the number of agents. Erlang C elements walk N up from the
    first stable value with the Erlang B recursion (arithmetic only, all elements at once);
    Erlang A elements are bisected, all at once. Erlang C answers are always stable
    (``N > A``). Zero traffic needs 0 agents.

    Args:
        traffic: Offered traffic in Erlangs.
        aht_s: Average handle time in seconds.
        service_level: Target share answered within ``threshold_s``, in (0, 1).
        threshold_s: Answer time of the service level, seconds (required with it).
        asa_s: Largest acceptable average speed of answer in seconds (mean over all offered).
        max_occupancy: Largest acceptable occupancy, in (0, 1].
        patience_s: Average patience in seconds: Erlang A; ``None``/``inf``: Erlang C.
        max_abandon_rate: Largest acceptable share of abandons (Erlang A), in (0, 1).

    Returns:
        Agents required (int64 array of the broadcast shape).

    Raises:
        ValueError: No target given, a target out of range, or a target no staffing reaches.

    Examples:
        >>> required_agents([10.0, 0.0], 180, service_level=0.8, threshold_s=20).tolist()
        [14, 0]
        >>> int(required_agents(10.0, 180, service_level=0.8, threshold_s=20, max_occupancy=0.6))
        17
    """
    if service_level is None and asa_s is None and max_occupancy is None and (
        max_abandon_rate is None
    ):
        raise ValueError("give at least one target: service_level, asa_s, max_occupancy "
                         "or max_abandon_rate")
    if service_level is not None and threshold_s is None:
        raise ValueError("service_level needs threshold_s")
    nan = np.nan
    a, aht, sl_t, t, asa_t, occ_t, pat, ab_t = _broadcast(
        traffic, aht_s,
        nan if service_level is None else service_level,
        0.0 if threshold_s is None else threshold_s,
        nan if asa_s is None else asa_s,
        nan if max_occupancy is None else max_occupancy,
        np.inf if patience_s is None else patience_s,
        nan if max_abandon_rate is None else max_abandon_rate,
    )
    shape = a.shape
    a, aht, sl_t, t, asa_t, occ_t, pat, ab_t = (
        v.ravel() for v in (a, aht, sl_t, t, asa_t, occ_t, pat, ab_t))
    _check_inputs(a, aht, sl_t, t, asa_t, occ_t, pat, ab_t)
    want_sl = service_level is not None
    want_asa = asa_s is not None
    want_occ = max_occupancy is not None
    want_ab = max_abandon_rate is not None

    def meets(idx: NDArray[np.intp], n: FloatArray) -> NDArray[np.bool_]:
        ai, pi = a[idx], pat[idx]
        s = _stats_flat(n, ai, aht[idx], pi, t[idx] if want_sl else None)
        ok = (n > ai) | np.isfinite(pi)  # Erlang C must be stable
        ok &= n > 0
        if want_sl:
            ok &= s.service_level >= sl_t[idx]
        if want_asa:
            ok &= s.asa_s <= asa_t[idx]
        if want_occ:
            ok &= s.occupancy <= occ_t[idx] * (1 + 1e-12)
        if want_ab:
            ok &= s.abandon_rate <= ab_t[idx]
        return ok

    result = np.zeros(a.size, dtype=np.int64)
    busy = a > 0
    c_idx = np.flatnonzero(busy & ~np.isfinite(pat))
    a_idx = np.flatnonzero(busy & np.isfinite(pat))
    if c_idx.size:
        result[c_idx] = _erlang_c_walk(
            a[c_idx], aht[c_idx], sl_t[c_idx] if want_sl else None, t[c_idx],
            asa_t[c_idx] if want_asa else None, occ_t[c_idx] if want_occ else None)
    if a_idx.size:
        result[a_idx] = _bisect(a_idx, a[a_idx], meets, occ_t[a_idx] if want_occ else None)
    return result.reshape(shape)


def _erlang_c_walk(
    a: FloatArray, aht: FloatArray, sl_t: FloatArray | None, t: FloatArray,
    asa_t: FloatArray | None, occ_t: FloatArray | None,
) -> NDArray[np.int64]:
    """Fewest stable agents meeting the Erlang C targets, walking N up from ``floor(A) + 1``.

    Erlang B is evaluated once per element with the incomplete gamma function, then carried
    up with the stable recursion ``B(N+1) = A B(N) / (N + 1 + A B(N))`` (e.g. Koole 2013),
    which needs only arithmetic; the walk stops per element at the first N that meets.
    """
    n = np.floor(a) + 1.0
    if occ_t is not None:
        n = np.maximum(n, np.ceil(a / occ_t * (1 - 1e-12)))
    b = _erlang_b_flat(n, a)
    out = np.zeros(a.size, dtype=np.int64)
    active = np.arange(a.size)
    while active.size:
        na, aa, ba = n[active], a[active], b[active]
        with np.errstate(all="ignore"):
            c = na * ba / (na - aa * (1.0 - ba))
            ok = np.ones(active.size, dtype=bool)
            if sl_t is not None:
                ok &= 1.0 - c * np.exp(-(na - aa) * t[active] / aht[active]) >= sl_t[active]
            if asa_t is not None:
                ok &= c * aht[active] / (na - aa) <= asa_t[active]
        out[active[ok]] = na[ok].astype(np.int64)
        active = active[~ok]
        if active.size:
            n[active] += 1.0
            if (n[active] > MAX_AGENTS).any():
                raise ValueError("the target cannot be reached with any number of agents "
                                 f"(tried up to {MAX_AGENTS:,}); check that it is below 100%")
            ab = a[active] * b[active]
            b[active] = ab / (n[active] + ab)
    return out


def _bisect(
    idx: NDArray[np.intp], a: FloatArray,
    meets: Callable[[NDArray[np.intp], FloatArray], NDArray[np.bool_]],
    occ_t: FloatArray | None,
) -> NDArray[np.int64]:
    """Fewest agents in ``(0, ...]`` for which ``meets`` holds (monotone in N), by bisection."""
    lo = np.zeros(a.size)  # 0 agents never meet a target while there is traffic
    hi = np.ceil(a + 3.0 * np.sqrt(a) + 3.0)
    if occ_t is not None:
        hi = np.maximum(hi, np.ceil(a / occ_t))
    ok = meets(idx, hi)
    while not ok.all():
        bad = ~ok
        lo[bad] = hi[bad]
        hi[bad] = 3.0 * hi[bad] + 1.0
        if (hi[bad] > MAX_AGENTS).any():
            raise ValueError("the target cannot be reached with any number of agents "
                             f"(tried up to {MAX_AGENTS:,}); check that it is below 100%")
        ok[bad] = meets(idx[bad], hi[bad])
    active = np.flatnonzero(hi - lo > 1)
    while active.size:
        mid = np.floor((lo[active] + hi[active]) / 2.0)
        good = meets(idx[active], mid)
        hi[active[good]] = mid[good]
        lo[active[~good]] = mid[~good]
        active = active[hi[active] - lo[active] > 1]
    return hi.astype(np.int64)


def _check_inputs(
    a: FloatArray, aht: FloatArray, sl_t: FloatArray, t: FloatArray, asa_t: FloatArray,
    occ_t: FloatArray, pat: FloatArray, ab_t: FloatArray,
) -> None:
    def bad(values: FloatArray, ok: NDArray[np.bool_]) -> bool:
        return bool((~ok & ~np.isnan(values)).any())

    if (~np.isfinite(a) | (a < 0)).any():
        raise ValueError("traffic must be finite and >= 0")
    if (~np.isfinite(aht) | (aht <= 0)).any():
        raise ValueError("aht_s must be finite and > 0")
    if bad(sl_t, (sl_t > 0) & (sl_t < 1)):
        raise ValueError("service_level must be strictly between 0 and 1")
    if (~np.isfinite(t) | (t < 0)).any():
        raise ValueError("threshold_s must be finite and >= 0")
    if bad(asa_t, asa_t > 0):
        raise ValueError("asa_s must be > 0")
    if bad(occ_t, (occ_t > 0) & (occ_t <= 1)):
        raise ValueError("max_occupancy must be in (0, 1]")
    if (np.isnan(pat) | (pat <= 0)).any():
        raise ValueError("patience_s must be > 0 (inf for Erlang C)")
    if bad(ab_t, (ab_t > 0) & (ab_t < 1)):
        raise ValueError("max_abandon_rate must be strictly between 0 and 1")


# --------------------------------------------------------------------------- shrinkage


def scheduled_agents(required: ArrayLike, shrinkage: ArrayLike) -> NDArray[np.int64]:
    """Agents to schedule so that ``required`` are available: ``ceil(required / (1 - s))``.

    Shrinkage is the share of paid time agents are not available to answer (breaks,
    training, meetings, absence).

    Examples:
        >>> int(scheduled_agents(14, 0.30))
        20
        >>> scheduled_agents([0, 1, 15], 0.25).tolist()
        [0, 2, 20]
    """
    req = np.asarray(required, dtype=float)
    s = np.asarray(shrinkage, dtype=float)
    if ((s < 0) | (s >= 1) | np.isnan(s)).any():
        raise ValueError("shrinkage must be in [0, 1)")
    # The small tolerance keeps 14 / 0.7 = 20.000000000000004 at 20.
    return np.ceil(req / (1.0 - s) - 1e-9).astype(np.int64)


def fte_per_day(
    agents: ArrayLike, interval_s: ArrayLike, paid_hours_per_day: float = 8.0, axis: int = -1
) -> FloatArray:
    """Full-time equivalents for one day: agent-hours over the day / paid hours of one FTE.

    Args:
        agents: Agents (usually scheduled) per interval; the day's intervals run along ``axis``.
        interval_s: Interval length in seconds.
        paid_hours_per_day: Paid hours of one full-time agent per day.
        axis: Axis of the intervals.

    Examples:
        >>> float(fte_per_day([20] * 16, 1800))  # 20 agents for 8 hours
        20.0
    """
    if paid_hours_per_day <= 0:
        raise ValueError("paid_hours_per_day must be > 0")
    hours = np.asarray(agents, dtype=float) * np.asarray(interval_s, dtype=float) / 3600.0
    return np.sum(hours, axis=axis) / paid_hours_per_day
