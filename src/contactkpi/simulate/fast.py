"""A fast vectorised generator of large ``contacts`` tables (benchmarks: 10M-50M+ rows).

No queue dynamics: every column is drawn with numpy, chunk by chunk, so memory stays at one
chunk whatever the total. The distributions are those of a real center: arrivals by a 30-minute
intraday profile (morning and afternoon peaks) and a weekly profile in each tenant's time zone;
waits mostly short with a long tail; callers abandon when their (exponential) patience is
shorter than the wait they would have had; lognormal talk, hold and wrap-up per queue; a share
of outbound dial attempts with dispositions and revenue; repeat customers.

Chunks are Arrow tables with the canonical column names and types (strings, ``int64``,
``float64``, ``timestamp[us, UTC]``; low-cardinality strings dictionary-encoded), rows grouped
by day, with unique ``contact_id`` values. :func:`write_fast_contacts` streams them into one
Parquet file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from contactkpi.errors import ConfigError
from contactkpi.model import TABLES, Kind
from contactkpi.simulate.calendar import local_midnight_utc
from contactkpi.simulate.frames import id_bytes

_ARROW = {
    Kind.STRING: pa.string(), Kind.CODE: pa.string(), Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(), Kind.DURATION: pa.float64(), Kind.MONEY: pa.float64(),
    Kind.BOOL: pa.bool_(), Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"), Kind.DATE: pa.date32(),
}
#: Low-cardinality string columns, dictionary-encoded in the Arrow chunks (and in Parquet).
DICTIONARY_COLUMNS = frozenset({"tenant", "channel", "direction", "queue", "campaign", "script",
                                "reason", "segment", "outcome", "disposition", "status"})
_DICT = pa.dictionary(pa.int32(), pa.string())
#: The canonical ``contacts`` schema as Arrow types.
CONTACTS_SCHEMA = pa.schema([
    pa.field(c.name, _DICT if c.name in DICTIONARY_COLUMNS else _ARROW[c.kind])
    for c in TABLES["contacts"].columns])

_SLOTS = 48  # half hours per local day
_WEEKLY = np.array([1.15, 1.05, 1.0, 1.0, 0.92, 0.5, 0.25])
_OUTBOUND_OUTCOMES = ("answered", "no_answer", "busy", "voicemail", "failed")
_OUTBOUND_P = np.array([0.3, 0.44, 0.08, 0.15, 0.03])
_DISPOSITIONS = ("sale", "appointment", "callback", "no_interest", "do_not_call")
_DISPOSITION_P = np.array([0.13, 0.08, 0.12, 0.57, 0.10])


@dataclass(frozen=True)
class FastTenant:
    """A tenant of the fast generator."""

    name: str
    code: str  # three letters, prefix of contact ids
    timezone: str
    open_slots: tuple[int, int]  # first and end half-hour slot open (local)
    weight: float


@dataclass(frozen=True)
class FastQueue:
    """A queue of the fast generator (all times in seconds)."""

    tenant: int
    name: str
    channel: str
    weight: float
    talk_s: float
    acw_s: float
    answer_fast: float  # share answered within a few seconds
    wait_s: float  # mean wait of the others
    patience_s: float
    reasons: tuple[str, ...]


DEFAULT_TENANTS = (
    FastTenant("brightpower", "bri", "Europe/London", (16, 40), 0.45),
    FastTenant("kestrel_bank", "kes", "America/New_York", (16, 42), 0.35),
    FastTenant("orbit_telecom", "orb", "Europe/Berlin", (14, 44), 0.20),
)
DEFAULT_QUEUES = (
    FastQueue(0, "billing", "voice", 0.5, 240, 40, 0.55, 45, 180, ("bill_query", "payment")),
    FastQueue(0, "moving_home", "voice", 0.2, 360, 70, 0.5, 60, 240, ("move_in", "move_out")),
    FastQueue(0, "helpdesk", "email", 0.12, 420, 60, 0.05, 14_400, 1e12, ("complaint",)),
    FastQueue(0, "chat", "chat", 0.18, 480, 30, 0.6, 30, 150, ("account_change",)),
    FastQueue(1, "cards", "voice", 0.7, 300, 35, 0.6, 35, 150, ("lost_card", "dispute")),
    FastQueue(1, "loans", "voice", 0.3, 420, 60, 0.5, 50, 200, ("application", "repayment")),
    FastQueue(2, "support", "voice", 0.6, 330, 45, 0.45, 70, 200, ("outage", "device")),
    FastQueue(2, "sales", "voice", 0.4, 280, 50, 0.65, 25, 120, ("new_line", "upgrade")),
)


def _intraday() -> np.ndarray:
    """Relative volume per half-hour slot (local time): peaks at 10:30 and 14:30."""
    m = np.arange(_SLOTS) * 30 + 15.0
    return 0.35 + np.exp(-0.5 * ((m - 630) / 80) ** 2) + 0.7 * np.exp(-0.5 * ((m - 870) / 90) ** 2)


def _codes(names: list[str], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A dictionary-encoded string column from a small set of names."""
    return pa.DictionaryArray.from_arrays(
        pa.array(index.astype(np.int32), mask=None if valid is None else ~valid),
        pa.array(names, type=pa.string()))


def _choice(rng: np.random.Generator, p: np.ndarray, k: int) -> np.ndarray:
    """``k`` draws of an index with probabilities ``p`` (faster than ``rng.choice``)."""
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(k), side="right"), len(p) - 1)


def _below(rng: np.random.Generator, n: int | np.ndarray, k: int) -> np.ndarray:
    """``k`` uniform integers in ``[0, n)``."""
    return (rng.random(k) * n).astype(np.int64)


class _Plan:
    """Rows per day and the UTC start of every local half-hour slot of every tenant."""

    def __init__(self, n: int, start: date, days: int, tenants: tuple[FastTenant, ...],
                 rng: np.random.Generator) -> None:
        weights = np.array([_WEEKLY[(start + timedelta(days=d)).weekday()] for d in range(days)])
        self.per_day = rng.multinomial(n, weights / weights.sum())
        self.slot_us = np.zeros((len(tenants), days, _SLOTS), dtype=np.int64)
        self.slot_p = np.zeros((len(tenants), _SLOTS))
        shape = _intraday()
        for ti, t in enumerate(tenants):
            for d in range(days):
                midnight = local_midnight_utc(start + timedelta(days=d), t.timezone)
                local = pd.date_range(midnight.tz_convert(t.timezone), periods=_SLOTS,
                                      freq="30min")
                self.slot_us[ti, d] = local.tz_convert("UTC").asi8 // 1000
            a, b = t.open_slots
            p = np.zeros(_SLOTS)
            p[a:b] = shape[a:b]
            p[max(a - 1, 0)] += 0.002  # a few calls just before opening
            p[min(b, _SLOTS - 1)] += 0.002  # and just after closing
            self.slot_p[ti] = p / p.sum()


def fast_contact_batches(n_contacts: int, *, seed: int = 1, start: date = date(2026, 1, 5),
                         days: int = 28, chunk_rows: int = 1_000_000,
                         outbound_share: float = 0.08,
                         tenants: tuple[FastTenant, ...] = DEFAULT_TENANTS,
                         queues: tuple[FastQueue, ...] = DEFAULT_QUEUES) -> Iterator[pa.Table]:
    """Yield ``contacts`` chunks (Arrow tables of at most ``chunk_rows`` rows) totalling
    ``n_contacts`` rows over ``days`` days from ``start``; the same seed gives the same rows.
    """
    if n_contacts < 0 or chunk_rows < 1 or days < 1:
        raise ConfigError("n_contacts >= 0, chunk_rows >= 1 and days >= 1 are required",
                          where="fast_contacts", hint="pass positive sizes")
    rng = np.random.default_rng([seed, 77])
    plan = _Plan(n_contacts, start, days, tenants, rng)
    t_weight = np.array([t.weight for t in tenants])
    t_weight = t_weight / t_weight.sum()
    q_tenant = np.array([q.tenant for q in queues])
    q_weight = np.array([q.weight for q in queues]) * t_weight[q_tenant]
    q_p = q_weight / q_weight.sum()
    reasons = sorted({r for q in queues for r in q.reasons} | {"campaign"})
    q_reasons = [np.array([reasons.index(r) for r in q.reasons]) for q in queues]
    prefixes = [f"{t.code}-" for t in tenants]
    cust_prefix = ["C"]
    agent_prefix = [t.code for t in tenants]
    day_end = np.cumsum(plan.per_day)  # row number where each day ends
    done = 0
    while done < n_contacts:
        k = min(chunk_rows, n_contacts - done)
        day = np.searchsorted(day_end, np.arange(done, done + k), side="right")
        yield _chunk(rng, k, done, day, plan, tenants, queues, q_tenant, q_p, q_reasons,
                     reasons, prefixes, cust_prefix, agent_prefix, outbound_share,
                     max(n_contacts // 2, 1))
        done += k


def _chunk(rng: np.random.Generator, k: int, first: int, day: np.ndarray, plan: _Plan,
           tenants: tuple[FastTenant, ...], queues: tuple[FastQueue, ...],
           q_tenant: np.ndarray, q_p: np.ndarray, q_reasons: list[np.ndarray],
           reasons: list[str], prefixes: list[str], cust_prefix: list[str],
           agent_prefix: list[str], outbound_share: float, customers: int) -> pa.Table:
    q = _choice(rng, q_p, k)
    tenant = q_tenant[q]
    outbound = rng.random(k) < outbound_share
    slot = np.empty(k, dtype=np.int64)
    for ti in range(len(tenants)):
        sel = tenant == ti
        slot[sel] = _choice(rng, plan.slot_p[ti], int(sel.sum()))
    arrived = plan.slot_us[tenant, day, slot] + _below(rng, 1_800_000_000, k)

    talk_mean = np.array([x.talk_s for x in queues])[q]
    acw_mean = np.array([x.acw_s for x in queues])[q]
    fast = np.array([x.answer_fast for x in queues])[q]
    wait_mean = np.array([x.wait_s for x in queues])[q]
    patience = rng.exponential(np.array([x.patience_s for x in queues])[q])
    written = np.array([x.channel in ("email", "ticket") for x in queues])[q]
    ring = np.where(written, 0.0, rng.uniform(2.0, 8.0, k))
    would_wait = np.where(rng.random(k) < fast, ring, ring + rng.exponential(wait_mean))
    timeout = ~written & (would_wait > 1200.0) & (patience > 1200.0)
    abandoned = ~timeout & (patience < would_wait)
    wait = np.where(timeout, 1200.0, np.where(abandoned, patience, would_wait))
    answered = ~abandoned & ~timeout
    talk = rng.lognormal(np.log(talk_mean) - 0.32 / 2, np.sqrt(0.32), k)  # cv about 0.6
    has_hold = (rng.random(k) < 0.2) & ~written
    hold = np.where(has_hold, rng.lognormal(np.log(50.0), 0.8, k), 0.0)
    acw = rng.lognormal(np.log(acw_mean) - 0.18, 0.6, k)

    # outbound dial attempts replace some rows: no queue, campaign outcome and disposition
    out_outcome = _choice(rng, _OUTBOUND_P, k)
    out_answered = outbound & (out_outcome == 0)
    disposition_out = _choice(rng, _DISPOSITION_P, k)
    inbound_answered = answered & ~outbound
    answered_any = inbound_answered | out_answered
    ring_out = rng.uniform(5.0, 25.0, k)
    wait_us = np.round(wait * 1e6).astype(np.int64)
    talk_us = np.round(talk * 1e6).astype(np.int64)
    hold_us = np.round(np.where(outbound, 0.0, hold) * 1e6).astype(np.int64)
    answered_at = np.where(outbound, arrived + np.round(ring_out * 1e6).astype(np.int64),
                           arrived + wait_us)
    ended_at = np.where(answered_any, answered_at + talk_us + hold_us,
                        np.where(outbound, arrived + 30_000_000, arrived + wait_us))

    outcome_names = ["answered", "abandoned", "timeout"] + list(_OUTBOUND_OUTCOMES[1:])
    outcome = np.where(outbound, np.where(out_outcome == 0, 0, out_outcome + 2),
                       np.where(answered, 0, np.where(abandoned, 1, 2)))
    resolved = rng.random(k) < 0.78
    transferred = inbound_answered & (rng.random(k) < 0.03)
    disp_names = ["resolved", "follow_up", "transferred", *_DISPOSITIONS,
                  *_OUTBOUND_OUTCOMES[1:]]
    disposition = np.where(outbound, np.where(out_answered, 3 + disposition_out,
                                              3 + len(_DISPOSITIONS) + out_outcome - 1),
                           np.where(transferred, 2, np.where(resolved, 0, 1)))
    reason = np.empty(k, dtype=np.int64)
    for qi, rs in enumerate(q_reasons):
        sel = q == qi
        reason[sel] = rs[_below(rng, len(rs), int(sel.sum()))]
    reason[outbound] = reasons.index("campaign")
    channel_names = sorted({x.channel for x in queues} | {"voice"})
    channel = np.array([channel_names.index(x.channel) for x in queues])[q]
    channel[outbound] = channel_names.index("voice")
    customer = _below(rng, customers, k)  # about two contacts per customer: repeats
    agent = _below(rng, 400, k)
    revenue = np.where(out_answered & (disposition_out == 0), rng.lognormal(5.2, 0.6, k), np.nan)

    def ts(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        return pa.array(values, type=pa.timestamp("us", tz="UTC"),
                        mask=None if valid is None else ~valid)

    def num(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        return pa.array(values, type=pa.float64(), mask=None if valid is None else ~valid)

    def integer(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        return pa.array(values.astype(np.int64), type=pa.int64(),
                        mask=None if valid is None else ~valid)

    nulls = {name: pa.nulls(k, type=CONTACTS_SCHEMA.field(name).type) for name in (
        "script", "segment", "parent_contact_id", "resolved_at", "status", "reopens",
        "first_response_at")}
    columns = {
        "tenant": _codes([t.name for t in tenants], tenant),
        "contact_id": id_bytes(prefixes, tenant, np.arange(first, first + k), 10),
        "channel": _codes(channel_names, channel),
        "direction": _codes(["inbound", "outbound"], outbound.astype(np.int64)),
        "queue": _codes([x.name for x in queues], q, ~outbound),
        "campaign": _codes(["winback"], np.zeros(k, dtype=np.int64), outbound),
        "reason": _codes(reasons, reason),
        "customer_id": id_bytes(cust_prefix, np.zeros(k, dtype=np.int64), customer, 8),
        "agent_id": pc.if_else(pa.array(answered_any), id_bytes(agent_prefix, tenant, agent, 4),
                               pa.scalar(None, type=pa.string())),
        "arrived_at": ts(arrived),
        "answered_at": ts(answered_at, answered_any),
        "ended_at": ts(ended_at),
        "wait_s": num(wait_us / 1e6, ~outbound),
        "talk_s": num(talk_us / 1e6, answered_any),
        "hold_s": num(hold_us / 1e6, answered_any),
        "acw_s": num(acw, answered_any),
        "ring_s": num(np.where(outbound, ring_out, ring), answered_any | outbound),
        "outcome": _codes(outcome_names, outcome),
        "disposition": _codes(disp_names, disposition, answered_any | outbound),
        "holds": integer(has_hold & ~outbound, answered_any),
        "transfers": integer(transferred),
        "attempt": integer(1 + rng.exponential(0.8, k), outbound),
        "queue_position": integer(np.ones(k), inbound_answered),
        "entry_position": integer(1 + rng.exponential(np.where(fast > 0.5, 0.7, 2.0)),
                                  ~outbound),
        "revenue": num(np.nan_to_num(revenue), ~np.isnan(revenue)),
    }
    columns.update(nulls)
    return pa.table([columns[f.name] for f in CONTACTS_SCHEMA], schema=CONTACTS_SCHEMA)


def fast_contacts(n_contacts: int, **kwargs: object) -> pd.DataFrame:
    """All rows as one pandas frame with the simulator's canonical dtypes (small sizes)."""
    tables = list(fast_contact_batches(n_contacts, **kwargs))  # type: ignore[arg-type]
    table = pa.concat_tables(tables) if tables else CONTACTS_SCHEMA.empty_table()
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for f in CONTACTS_SCHEMA:
        if pa.types.is_timestamp(f.type):
            frame[f.name] = frame[f.name].astype("datetime64[us, UTC]")
        elif pa.types.is_string(f.type) or pa.types.is_dictionary(f.type):
            col = frame[f.name].astype(object)
            frame[f.name] = col.where(col.notna(), None)
    return frame


def write_fast_contacts(path: str | Path, n_contacts: int, **kwargs: object) -> int:
    """Stream ``n_contacts`` generated rows into one Parquet file; returns the rows written."""
    rows = 0
    with pq.ParquetWriter(str(path), CONTACTS_SCHEMA, compression="zstd") as writer:
        for table in fast_contact_batches(n_contacts, **kwargs):  # type: ignore[arg-type]
            writer.write_table(table)
            rows += table.num_rows
    return rows
