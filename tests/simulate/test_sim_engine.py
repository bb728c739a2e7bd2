"""The event loop on hand-worked cases, and its invariants as hypothesis properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.simulate.config import Dist
from contactkpi.simulate.engine import (
    ABANDONED,
    ANSWERED,
    LOGIN,
    LOGOUT,
    NEVER,
    OPEN,
    PAUSE,
    TIMEOUT,
    AgentSpec,
    ContactBook,
    EngineLog,
    QueueSpec,
    run,
)

S = 1_000_000  # microseconds per second


def _spec(**over: object) -> QueueSpec:
    base = dict(talk_s=Dist("constant", 30.0), hold_rate=0.0, hold_s=Dist(), acw_s=Dist(),
                ring_s=Dist(), patience_s=Dist("never"), max_wait_s=float("inf"))
    base.update(over)
    return QueueSpec(**base)  # type: ignore[arg-type]


def _book(arrivals: list[tuple[float, int, float, float]], n_queues: int = 1,
          give_up: list[int] | None = None, acw: list[float] | None = None,
          ring: list[float] | None = None, rna: list[bool] | None = None,
          specs: list[QueueSpec] | None = None, end_us: int | list[int] = 10**15,
          redial_u: list[float] | None = None) -> ContactBook:
    """Contacts as (arrival s, queue, talk s, patience s); sorted by arrival."""
    n = len(arrivals)
    book = ContactBook(specs or [_spec() for _ in range(n_queues)], 1,
                       [lambda t: t] * n_queues, end_us=end_us)
    book.add_fresh({
        "arr": [int(a * S) for a, _, _, _ in arrivals],
        "queue": [q for _, q, _, _ in arrivals],
        "deadline": [NEVER if p == float("inf") else int((a + p) * S)
                     for a, _, _, p in arrivals],
        "give_up": give_up or [ABANDONED] * n,
        "ring": [int(x * S) for x in (ring or [0.0] * n)],
        "talk": [int(t * S) for _, _, t, _ in arrivals],
        "hold": [0] * n,
        "acw": [int(x * S) for x in (acw or [0.0] * n)],
        "rna": rna or [False] * n,
        "xfer": [-1] * n,
        "res_u": [0.0] * n, "rep_u": [1.0] * n, "rep_delay": [0] * n,
        "redial_u": redial_u or [1.0] * n, "redial_delay": [100 * S] * n,
        "customer": list(range(n)), "reason": [0] * n,
    })
    return book


def _agent(skills: tuple[int, ...], login: float = 0.0, logout: float = 10**6,
           pauses: tuple[tuple[float, float], ...] = (), rna_pause_s: float = 60.0) -> AgentSpec:
    plan = [(int(login * S), LOGIN, "", 0)]
    plan += [(int(t * S), PAUSE, "break", int(d * S)) for t, d in pauses]
    plan.append((int(logout * S), LOGOUT, "", 0))
    return AgentSpec(skills=skills, plan=sorted(plan), rna_pause_s=rna_pause_s)


def test_one_agent_serves_in_order_and_an_impatient_caller_abandons() -> None:
    # c0 at 0 s talks 30 s; c1 at 10 s gives up after 15 s (at 25 s); c2 at 20 s queues
    # behind c1 (position 2) and is answered when c0 ends at 30 s.
    book = _book([(0, 0, 30, float("inf")), (10, 0, 30, 15), (20, 0, 30, float("inf"))])
    run(book, [_agent((0,))])
    assert book.outcome == [ANSWERED, ABANDONED, ANSWERED]
    assert book.ans == [0, -1, 30 * S]
    assert book.end == [30 * S, 25 * S, 60 * S]
    assert book.agent == [0, -1, 0]
    assert book.entry_pos == [1, 1, 2]


def test_free_agent_takes_the_longest_waiting_contact_across_its_skills() -> None:
    # Agent 0 (skills 0 and 1) is busy until 100 s. Queue 1 gets a contact at 5 s, queue 0
    # at 8 s: at 100 s the agent takes the queue-1 contact (older), then the queue-0 one.
    book = _book([(0, 0, 100, float("inf")), (5, 1, 10, float("inf")),
                  (8, 0, 10, float("inf"))], n_queues=2)
    run(book, [_agent((0, 1))])
    assert book.ans == [0, 100 * S, 110 * S]


def test_arrival_goes_to_the_agent_idle_longest() -> None:
    # Agents log in at 0 s and 5 s; a contact at 10 s goes to agent 0 (idle since 0 s).
    book = _book([(10, 0, 30, float("inf"))])
    run(book, [_agent((0,), login=0), _agent((0,), login=5)])
    assert book.agent == [0]


def test_timeout_when_the_queue_limit_comes_before_patience() -> None:
    book = _book([(0, 0, 50, float("inf")), (1, 0, 10, 20)], give_up=[ABANDONED, TIMEOUT])
    run(book, [_agent((0,))])
    assert book.outcome == [ANSWERED, TIMEOUT]
    assert book.end[1] == 21 * S


def test_wrap_up_keeps_the_agent_busy_and_a_break_waits_for_the_contact() -> None:
    # Contact 0 talks 30 s then 20 s wrap-up; the break planned at 10 s starts at 50 s and
    # lasts 60 s, so contact 1 (arrived at 40 s) is answered at 110 s.
    book = _book([(0, 0, 30, float("inf")), (40, 0, 10, float("inf"))], acw=[20.0, 0.0])
    log = run(book, [_agent((0,), pauses=((10, 60),))])
    assert book.busy_end[0] == 50 * S
    assert (log.pauses.start, log.pauses.end) == ([50 * S], [110 * S])
    assert book.ans[1] == 110 * S


def test_ring_no_answer_puts_the_contact_back_at_the_head() -> None:
    # Agent 0 lets contact 0 ring 15 s unanswered and pauses 60 s; agent 1 logs in at 20 s
    # and takes contact 0 before contact 1 (arrived later).
    book = _book([(0, 0, 30, float("inf")), (5, 0, 30, float("inf"))], rna=[True, False])
    log = run(book, [_agent((0,), login=0), _agent((0,), login=20)])
    assert (log.rna.contact, log.rna.agent, log.rna.start, log.rna.end) == ([0], [0], [0],
                                                                           [15 * S])
    assert book.agent[0] == 1 and book.ans[0] == 20 * S
    assert book.first_offer[0] == 0
    assert book.agent[1] == 1 and book.ans[1] == 50 * S  # agent 0 paused until 75 s


def test_contacts_nobody_can_take_stay_open() -> None:
    book = _book([(0, 0, 30, float("inf")), (1, 1, 30, float("inf"))], n_queues=2)
    run(book, [_agent((1,))])
    assert book.outcome == [OPEN, ANSWERED]



def test_positions_on_entering_and_leaving_the_queue() -> None:
    # One agent busy with c0 (0-30 s). c1 (10 s), c2 (12 s), c3 (14 s), c4 (16 s) queue at
    # positions 1-4. c2 leaves at 20 s behind c1: position 2; c1 leaves at 25 s: position 1;
    # c4 leaves at 28 s behind c3 only: position 2; c3 is answered at 30 s from the head.
    book = _book([(0, 0, 30, float("inf")), (10, 0, 30, 15), (12, 0, 30, 8),
                  (14, 0, 30, float("inf")), (16, 0, 30, 12)])
    run(book, [_agent((0,))])
    assert book.outcome == [ANSWERED, ABANDONED, ABANDONED, ANSWERED, ABANDONED]
    assert book.entry_pos == [1, 1, 2, 3, 4]
    assert book.queue_pos == [1, 1, 2, 1, 2]


def test_a_contact_back_from_ring_no_answer_is_ahead_of_those_waiting() -> None:
    # c0 rings agent 0 unanswered (0-15 s) and goes back to the head; c1 (5 s) then waits
    # behind it and gives up at 18 s in position 2; c0 is answered by agent 1 at 20 s. A
    # contact still waiting at the end has no leaving position.
    book = _book([(0, 0, 30, float("inf")), (5, 0, 30, 13), (6, 1, 30, float("inf"))],
                 n_queues=2, rna=[True, False, False])
    run(book, [_agent((0,), login=0), _agent((0,), login=20)])
    assert book.outcome == [ANSWERED, ABANDONED, OPEN]
    assert book.entry_pos == [1, 1, 1]
    assert book.queue_pos == [1, 2, 0]



def test_written_work_waits_while_calls_queue() -> None:
    # Agent 0 (a call queue of priority 1, an e-mail queue of priority 2) is busy until
    # 100 s. The e-mail (5 s) is older than the call (8 s), yet the call is taken first.
    specs = [_spec(), _spec(priority=2)]
    book = _book([(0, 0, 100, float("inf")), (5, 1, 10, float("inf")),
                  (8, 0, 10, float("inf"))], n_queues=2, specs=specs)
    run(book, [_agent((0, 1))])
    assert book.ans == [0, 110 * S, 100 * S]


def test_follow_ups_stop_at_the_end_of_their_queue_period() -> None:
    # Both callers give up after 5 s and would redial 100 s later: the first queue's period
    # ends before that (no redial), the second's does not.
    specs = [_spec(redial_rate=1.0), _spec(redial_rate=1.0)]
    rows = [(0, 0, 30, 5.0), (1, 1, 30, 5.0)]
    book = _book(rows, n_queues=2, specs=specs, end_us=[50 * S, 10**15], redial_u=[0.0, 0.0])
    run(book, [])
    assert book.outcome[:2] == [ABANDONED, ABANDONED]
    assert len(book) == 3 and book.queue[2] == 1 and book.arr[2] == 106 * S


# -- properties ---------------------------------------------------------------------------

def _waiting_segments(book: ContactBook, log: EngineLog) -> list[tuple[int, int, int]]:
    """(queue, start, end) of every stretch a contact spent waiting in its queue."""
    far = np.iinfo(np.int64).max
    rna = {c: (s, e) for c, s, e in zip(log.rna.contact, log.rna.start, log.rna.end,
                                        strict=True)}
    out = []
    for c in range(len(book)):
        o, a, q = book.outcome[c], book.arr[c], book.queue[c]
        leave = book.take[c] if o == ANSWERED else (book.end[c] if o != OPEN else far)
        if c in rna:
            s, e = rna[c]
            out.append((q, a, s))
            if leave > e:
                out.append((q, e, leave))
        else:
            out.append((q, a, leave))
    return out


def _check_invariants(book: ContactBook, agents: list[AgentSpec], log: EngineLog) -> None:
    arr = np.array(book.arr)
    out = np.array(book.outcome)
    take, end, busy = np.array(book.take), np.array(book.end), np.array(book.busy_end)
    agent = np.array(book.agent)
    q = np.array(book.queue)
    first = np.array(book.first_offer)
    ans = out == ANSWERED
    # no agent on two contacts at once
    for a in range(len(agents)):
        mine = np.flatnonzero(ans & (agent == a))
        mine = mine[np.argsort(take[mine])]
        assert (take[mine][1:] >= busy[mine][:-1]).all()
        assert all(q[c] in agents[a].skills for c in mine)
    # waits consistent: answered after arrival, abandons end at their deadline
    assert (np.array(book.ans)[ans] >= arr[ans]).all()
    gave_up = (out == ABANDONED) | (out == TIMEOUT)
    assert (end[gave_up] == np.array(book.deadline)[gave_up]).all()
    # FCFS per queue: a contact leaves the queue (first offer or give-up) no earlier than any
    # contact that arrived before it, when it is served
    leave = np.where(first >= 0, first, np.where(gave_up, end, np.iinfo(np.int64).max))
    for qq in set(q.tolist()):
        idx = np.flatnonzero(q == qq)
        idx = idx[np.lexsort((idx, arr[idx]))]
        prior = np.maximum.accumulate(np.r_[np.iinfo(np.int64).min, leave[idx][:-1]])
        served = first[idx] >= 0
        assert (prior[served] <= leave[idx][served]).all()
    # positions: answered from the head; a contact giving up leaves behind every contact
    # that arrived before it and was still waiting (checked where no leave time is tied)
    qpos, epos = np.array(book.queue_pos), np.array(book.entry_pos)
    assert (qpos[ans] == 1).all() and (qpos[out == OPEN] == 0).all() and (epos >= 1).all()
    if not log.rna.contact:
        for c in np.flatnonzero(gave_up):
            same = (q == q[c]) & (np.arange(len(q)) != c)
            if (leave[same] == leave[c]).any() or (arr[same] == arr[c]).any():
                continue
            ahead = same & (arr < arr[c]) & (leave > leave[c])
            assert qpos[c] == 1 + ahead.sum(), c
            waiting = same & (arr < arr[c]) & (leave > arr[c])
            if first[c] != arr[c]:
                assert epos[c] == 1 + waiting.sum(), c
    # work-conserving: no agent is available while a contact of its skills waits
    waits = _waiting_segments(book, log)
    for a, s, e in zip(log.available.agent, log.available.start, log.available.end,
                       strict=True):
        for qq, ws, we in waits:
            if qq in agents[a].skills:
                assert max(s, ws) >= min(e, we), (a, s, e, qq, ws, we)


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 2), st.integers(1, 90),
                                st.one_of(st.just(10**9), st.integers(0, 120))),
                      min_size=1, max_size=40),
    skills=st.lists(st.sets(st.integers(0, 2), min_size=1, max_size=3), min_size=1,
                    max_size=4),
    acw=st.integers(0, 20),
    rna_every=st.integers(0, 5),
)
def test_invariants_hold_on_random_small_centers(arrivals: list[tuple[int, int, int, int]],
                                                 skills: list[set[int]], acw: int,
                                                 rna_every: int) -> None:
    rows = sorted((float(a), qq, float(t), float("inf") if p >= 10**9 else float(p))
                  for a, qq, t, p in arrivals)
    n = len(rows)
    book = _book(rows, n_queues=3, acw=[float(acw)] * n,
                 rna=[rna_every > 0 and i % rna_every == 0 for i in range(n)])
    agents = [_agent(tuple(sorted(s)), login=5.0 * i, logout=900.0,
                     pauses=((100.0 + 50 * i, 30.0),), rna_pause_s=10.0)
              for i, s in enumerate(skills)]
    log = run(book, agents)
    _check_invariants(book, agents, log)
