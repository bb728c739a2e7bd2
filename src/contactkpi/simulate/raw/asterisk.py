"""Write canonical ``contacts``/``agent_states`` frames as an Asterisk ``queue_log``.

The inverse of ``contactkpi.sources.asterisk`` for round-trip tests and benchmarks: the lines
are what app_queue would have written for those contacts (vectorised: millions of rows are
fine). Asterisk stamps whole seconds (``time(NULL)``), so every instant is truncated to the
second and every duration is the difference of truncated instants, as Asterisk computes them.

What is written, per contact (inbound voice contacts that entered a queue):

========================  =================================================================
contact                   lines
========================  =================================================================
any                       ``ENTERQUEUE||customer_id|entry_position`` at ``arrived_at``
answered                  ``CONNECT|wait|<contact_id>-m|ring_s`` at ``answered_at``, then
                          ``COMPLETECALLER|wait|talk|entry_position`` at ``ended_at``, or
                          ``BLINDTRANSFER|exten|context|wait|talk|entry_position`` when
                          ``transfers`` > 0
abandoned                 ``ABANDON|queue_position|entry_position|wait``
timeout                   ``EXITWITHTIMEOUT|queue_position|entry_position|wait``
overflowed                ``EXITWITHKEY|0|queue_position|entry_position|wait``
open                      ENTERQUEUE (and CONNECT if answered_at): a call still in progress
blocked, others           nothing (Asterisk logs no ENTERQUEUE when a caller cannot join)
========================  =================================================================

and per agent state: ``ringing`` with a ``contact_id`` -> ``RINGNOANSWER|ms`` (``RINGCANCELED``
when ``reason`` is ``canceled``) at ``ended_at``, except the ring the agent answered (it ends
at the contact's ``answered_at``; CONNECT carries it); ``logged_in`` -> ``ADDMEMBER`` /
``REMOVEMEMBER``; ``paused`` -> ``PAUSE|reason`` / ``UNPAUSE``. Other states are not in a
queue_log (``on_contact`` is implied by CONNECT ... COMPLETE*).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_RANK = {"REMOVEMEMBER": 0, "UNPAUSE": 1, "ENTERQUEUE": 2, "ADDMEMBER": 2, "PAUSE": 3,
         "RINGNOANSWER": 4, "RINGCANCELED": 5, "CONNECT": 6}
_TERMINAL_RANK = 7
_EXIT_EVENT = {"abandoned": "ABANDON", "timeout": "EXITWITHTIMEOUT",
               "overflowed": "EXITWITHKEY"}


def _epoch(values: pd.Series) -> np.ndarray:
    """Whole UNIX seconds (floor) of tz-aware or naive-UTC instants; -1 where missing."""
    ts = pd.to_datetime(values, utc=True)
    out = np.full(len(ts), -1, dtype=np.int64)
    ok = ts.notna().to_numpy()
    if ok.any():
        us = ts[ok].astype("datetime64[us, UTC]").astype("int64").to_numpy()
        out[ok] = np.floor_divide(us, 1_000_000)
    return out


def _text(values: pd.Series | np.ndarray, default: str = "") -> pd.Series:
    s = pd.Series(values, dtype="object").reset_index(drop=True)
    return s.where(s.notna(), default).astype(str)


def _int_text(values: pd.Series, default: str = "") -> pd.Series:
    num = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce")
    out = pd.Series(default, index=num.index, dtype="object")
    ok = num.notna()
    out[ok] = num[ok].round().astype("int64").astype(str)
    return out


def _frame(epoch: np.ndarray, callid: pd.Series, queue: pd.Series, agent: pd.Series,
           event: str, data: pd.Series, rank: int) -> pd.DataFrame:
    return pd.DataFrame({
        "epoch": np.asarray(epoch, dtype=np.int64),
        "callid": callid.to_numpy(dtype=object),
        "queue": queue.to_numpy(dtype=object),
        "agent": agent.to_numpy(dtype=object),
        "event": event,
        "data": data.to_numpy(dtype=object),
        "rank": rank,
    })


def queue_log_events(contacts: pd.DataFrame,
                     agent_states: pd.DataFrame | None = None,
                     member_queue: str = "all") -> pd.DataFrame:
    """The queue_log events of the frames, in time order: ``epoch, callid, queue, agent,
    event, data`` (``member_queue`` names the queue of ADDMEMBER/PAUSE lines for agent
    states that have no queue)."""
    c = contacts
    if "channel" in c.columns:
        c = c[c["channel"].astype("object") == "voice"]
    if "direction" in c.columns:
        c = c[c["direction"].astype("object") == "inbound"]
    c = c[c["arrived_at"].notna()]
    outcome = _text(c["outcome"]).to_numpy()
    c = c[np.isin(outcome, ["answered", "abandoned", "timeout", "overflowed", "open"])]
    c = c.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    n = len(c)
    if n:
        cid = _text(c["contact_id"])
        queue = _text(c["queue"], "NONE")
        none = pd.Series(["NONE"] * n, dtype="object")
        arr = _epoch(c["arrived_at"])
        ans = _epoch(c["answered_at"])
        end = _epoch(c["ended_at"])
        opos = _int_text(c["entry_position"] if "entry_position" in c else
                         pd.Series([1] * n), "1")
        pos = _int_text(c["queue_position"] if "queue_position" in c else
                        pd.Series([None] * n), "1")
        parts.append(_frame(arr, cid, queue, none, "ENTERQUEUE",
                            "|" + _text(c["customer_id"]) + "|" + opos, _RANK["ENTERQUEUE"]))
        out = _text(c["outcome"]).to_numpy()
        agent = _text(c["agent_id"], "NONE")
        connected = (ans >= 0) & np.isin(out, ["answered", "open"])
        wait = pd.Series(ans - arr).astype(str)
        ring = _int_text(c["ring_s"] if "ring_s" in c else pd.Series([None] * n))
        k = np.flatnonzero(connected)
        parts.append(_frame(ans[k], cid[k], queue[k], agent[k], "CONNECT",
                            wait[k] + "|" + cid[k] + "-m|" + ring[k], _RANK["CONNECT"]))
        done = (out == "answered") & (end >= 0) & (ans >= 0)
        transfers = pd.to_numeric(c["transfers"], errors="coerce").fillna(0).to_numpy() \
            if "transfers" in c else np.zeros(n)
        talk = pd.Series(end - ans).astype(str)
        k = np.flatnonzero(done & (transfers <= 0))
        parts.append(_frame(end[k], cid[k], queue[k], agent[k], "COMPLETECALLER",
                            wait[k] + "|" + talk[k] + "|" + opos[k], _TERMINAL_RANK))
        k = np.flatnonzero(done & (transfers > 0))
        parts.append(_frame(end[k], cid[k], queue[k], agent[k], "BLINDTRANSFER",
                            "2000|transfers|" + wait[k] + "|" + talk[k] + "|" + opos[k],
                            _TERMINAL_RANK))
        waited = pd.Series(end - arr).astype(str)
        for name, event in _EXIT_EVENT.items():
            k = np.flatnonzero((out == name) & (end >= 0))
            key = "0|" if event == "EXITWITHKEY" else ""
            parts.append(_frame(end[k], cid[k], queue[k], none[k], event,
                                key + pos[k] + "|" + opos[k] + "|" + waited[k],
                                _TERMINAL_RANK))
    if agent_states is not None and len(agent_states):
        parts.extend(_state_events(agent_states, contacts, member_queue))
    if not parts:
        return pd.DataFrame(columns=["epoch", "callid", "queue", "agent", "event", "data"])
    ev = pd.concat(parts, ignore_index=True)
    ev = ev.sort_values(["epoch", "rank"], kind="stable").reset_index(drop=True)
    return ev.drop(columns="rank")


def _state_events(states: pd.DataFrame, contacts: pd.DataFrame,
                  member_queue: str) -> list[pd.DataFrame]:
    s = states.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    state = _text(s["state"]).to_numpy()
    agent = _text(s["agent_id"])
    queue = _text(s["queue"] if "queue" in s else pd.Series([None] * len(s)), member_queue)
    start = _epoch(s["started_at"])
    end = _epoch(s["ended_at"])
    reason = _text(s["reason"] if "reason" in s else pd.Series([None] * len(s)))
    none = pd.Series(["NONE"] * len(s), dtype="object")
    empty = pd.Series([""] * len(s), dtype="object")

    ring = (state == "ringing") & s["contact_id"].notna().to_numpy() & (end >= 0)
    if ring.any():
        answered = contacts[["contact_id", "agent_id", "answered_at"]].dropna()
        key = pd.MultiIndex.from_arrays([_text(answered["contact_id"]),
                                         _text(answered["agent_id"]),
                                         _epoch(answered["answered_at"])])
        mine = pd.MultiIndex.from_arrays([_text(s["contact_id"]), agent, end])
        ring &= ~mine.isin(key)
        ms = ((pd.to_datetime(s["ended_at"], utc=True) - pd.to_datetime(s["started_at"],
               utc=True)).dt.total_seconds() * 1000).round()
        ms_text = _int_text(ms, "0")
        canceled = reason.to_numpy() == "canceled"
        cid = _text(s["contact_id"])
        for mask, event in ((ring & ~canceled, "RINGNOANSWER"), (ring & canceled,
                                                                 "RINGCANCELED")):
            k = np.flatnonzero(mask)
            parts.append(_frame(end[k], cid[k], queue[k].where(queue[k] != member_queue,
                                                               "NONE"),
                                agent[k], event, ms_text[k], _RANK[event]))
    for st, on, off in (("logged_in", "ADDMEMBER", "REMOVEMEMBER"),
                        ("paused", "PAUSE", "UNPAUSE")):
        k = np.flatnonzero((state == st) & (start >= 0))
        data = reason if st == "paused" else empty
        parts.append(_frame(start[k], none[k], queue[k], agent[k], on, data[k], _RANK[on]))
        k = np.flatnonzero((state == st) & (end >= 0))
        parts.append(_frame(end[k], none[k], queue[k], agent[k], off, empty[k], _RANK[off]))
    return parts


def format_lines(events: pd.DataFrame) -> pd.Series:
    """``epoch|callid|queue|agent|event|data`` of each event (no newline)."""
    return (events["epoch"].astype(str) + "|" + events["callid"].astype(str) + "|"
            + events["queue"].astype(str) + "|" + events["agent"].astype(str) + "|"
            + events["event"].astype(str) + "|" + events["data"].astype(str))


def write_queue_log(contacts: pd.DataFrame, agent_states: pd.DataFrame | None = None,
                    path: str | Path | None = None, member_queue: str = "all") -> str:
    """The queue_log text of the frames (also written to ``path`` when given)."""
    lines = format_lines(queue_log_events(contacts, agent_states, member_queue))
    text = "".join(line + "\n" for line in lines.tolist())
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
