"""Erlang C for the simulator's staffing plan, vectorised over planning slots.

The simulator plans its own shifts, so it carries the little queueing maths it needs (the
``simulate`` layer does not depend on ``wfm``). With offered load ``A = arrivals x AHT``
Erlangs and ``N > A`` agents, the Erlang B recursion ``B(n) = A B(n-1) / (n + A B(n-1))``
gives the chance to wait ``C = N B / (N - A (1 - B))`` and the service level
``P(wait <= T) = 1 - C exp(-(N - A) T / AHT)``.
"""

from __future__ import annotations

import numpy as np


def wait_probability(agents: int, load: float) -> float:
    """Erlang C: the chance an arriving contact waits (1.0 when ``agents <= load``).

    Examples:
        >>> round(wait_probability(2, 1.0), 4)
        0.3333
    """
    if agents <= load:
        return 1.0
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return agents * b / (agents - load * (1.0 - b))


def agents_for_service_level(load: np.ndarray, aht_s: np.ndarray, service_level: float,
                             threshold_s: float) -> np.ndarray:
    """Fewest agents per slot whose Erlang C service level reaches ``service_level``.

    Args:
        load: offered Erlangs per slot (0 where nothing is expected: no agent needed).
        aht_s: average handle time per slot in seconds (any positive value where load is 0).
        service_level: share answered within ``threshold_s``, in (0, 1).
        threshold_s: answer time of the service level, seconds.

    Returns:
        Agents per slot (int64), at least 1 wherever ``load > 0``.

    Examples:
        >>> agents_for_service_level(np.array([0.0, 1.0, 10.0]), np.array([1.0, 180.0, 180.0]),
        ...                          0.8, 20.0).tolist()
        [0, 3, 14]
    """
    load = np.asarray(load, dtype=np.float64)
    aht = np.broadcast_to(np.asarray(aht_s, dtype=np.float64), load.shape)
    out = np.zeros(load.shape, dtype=np.int64)
    todo = load > 0
    if not todo.any():
        return out
    a = load[todo]
    h = np.where(aht[todo] > 0, aht[todo], 1.0)
    found = np.zeros(len(a), dtype=np.int64)
    b = np.ones(len(a))
    n = 0
    while (found == 0).any():
        n += 1
        b = a * b / (n + a * b)
        over = (found == 0) & (n > a)
        if over.any():
            c = n * b[over] / (n - a[over] * (1.0 - b[over]))
            sl = 1.0 - c * np.exp(-(n - a[over]) * threshold_s / h[over])
            idx = np.flatnonzero(over)
            found[idx[sl >= service_level]] = n
    out[todo] = found
    return out
