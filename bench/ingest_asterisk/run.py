"""Ingest a large Asterisk queue_log through contactkpi and compare with DuckDB's read_csv.

    .venv/bin/python bench/ingest_asterisk/run.py [--lines 10000000] [--file FILE] [--rounds 3]

1. Draws canonical contacts and agent states (vectorised numpy) and writes them as a
   queue_log with ``contactkpi.simulate.raw.asterisk`` (about 3 lines per call, plus
   ring-no-answer, membership and pause lines).
2. Baseline, in the same process: DuckDB's own ``read_csv`` of the same file, counted
   (``SELECT count(*)``) and materialised as text columns into a new DuckDB file
   (``CREATE TABLE AS``, all_varchar: its type sniffing fails on this file).
3. contactkpi: ``store.load`` of ``AsteriskQueueLogSource`` into a new DuckDB warehouse file
   (split, check, find the new events and derive contacts/agent states - before the load's
   transaction -, then store the events, check the derived rows and insert them - in it),
   with the time of each step.

Steps 2 and 3 run in ``--rounds`` rounds, one after the other within each round: the speed of
a shared machine drifts by up to a quarter from one minute to the next, so each round's
ingest is compared with the baseline measured just before it, and the median of those
ratios is the figure (the best times and every round are printed too). Not a test: timings
vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from contactkpi.config import Tenant
from contactkpi.simulate.raw.asterisk import format_lines, queue_log_events
from contactkpi.sources.asterisk import AsteriskQueueLogSource
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.store import Warehouse, load

LINES_PER_CALL = 2.95  # a little under the ~2.96 of the frames below; cut to the target


def draw_frames(calls: int, agents: int = 400, days: int = 30,
                seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical contacts and agent states of ``calls`` inbound calls (vectorised)."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2026-03-02T00:00:00", "s").astype("int64")
    arrive = np.sort(t0 + rng.integers(0, days * 86_400, calls))
    u = rng.random(calls)
    outcome = np.select([u < 0.75, u < 0.95, u < 0.98], ["answered", "abandoned", "timeout"],
                        "overflowed").astype(object)
    wait = rng.exponential(25, calls).astype(np.int64)
    talk = rng.gamma(2.0, 110, calls).astype(np.int64) + 5
    answered = outcome == "answered"
    agent_no = rng.integers(0, agents, calls)
    agent = np.char.add("PJSIP/", (1000 + agent_no).astype(str)).astype(object)
    queues = np.array(["billing", "support", "sales", "moving", "outage"], dtype=object)
    to_ts = lambda s: pd.to_datetime(s, unit="s", utc=True)  # noqa: E731
    answered_at = np.where(answered, arrive + wait, -1)
    ended = np.where(answered, arrive + wait + talk, arrive + wait)
    ids = np.char.add(arrive.astype(str), np.char.add(".", np.arange(calls).astype(str)))
    contacts = pd.DataFrame({
        "contact_id": ids.astype(object), "channel": "voice", "direction": "inbound",
        "queue": queues[rng.integers(0, len(queues), calls)],
        "customer_id": (rng.integers(10**9, 10**10, calls)).astype(str).astype(object),
        "agent_id": np.where(answered, agent, None),
        "arrived_at": to_ts(arrive),
        "answered_at": to_ts(np.where(answered, answered_at, 0)).where(answered),
        "ended_at": to_ts(ended),
        "ring_s": np.where(answered, rng.integers(1, 15, calls), np.nan),
        "outcome": outcome,
        "transfers": (answered & (rng.random(calls) < 0.04)).astype(np.int64),
        "entry_position": rng.integers(1, 9, calls),
        "queue_position": rng.integers(1, 5, calls),
    })
    rna = np.flatnonzero(rng.random(calls) < 0.25)
    ring_ms = rng.integers(0, 20_000, len(rna))
    ring_end = arrive[rna] + np.minimum(wait[rna], 20)
    ring_agent = np.char.add("PJSIP/", (1000 + rng.integers(0, agents, len(rna))).astype(str))
    ringing = pd.DataFrame({
        "agent_id": ring_agent.astype(object), "state": "ringing",
        "reason": np.where(rng.random(len(rna)) < 0.9, "no_answer", "canceled"),
        "queue": contacts["queue"].to_numpy()[rna], "contact_id": ids[rna].astype(object),
        "started_at": to_ts(ring_end) - pd.to_timedelta(ring_ms, unit="ms"),
        "ended_at": to_ts(ring_end),
    })
    day = np.repeat(np.arange(days), agents)
    who = np.tile(np.arange(agents), days)
    login = t0 + day * 86_400 + 7 * 3600 + rng.integers(0, 3600, len(day))
    logout = login + 8 * 3600
    member = np.char.add("PJSIP/", (1000 + who).astype(str)).astype(object)
    sessions = pd.DataFrame({"agent_id": member, "state": "logged_in", "reason": None,
                             "queue": "support", "contact_id": None,
                             "started_at": to_ts(login), "ended_at": to_ts(logout)})
    pause_at = login + rng.integers(3600, 6 * 3600, len(day))
    pauses = pd.DataFrame({"agent_id": member, "state": "paused",
                           "reason": np.where(rng.random(len(day)) < 0.5, "lunch", "break"),
                           "queue": "support", "contact_id": None,
                           "started_at": to_ts(pause_at),
                           "ended_at": to_ts(pause_at + rng.integers(300, 3600, len(day)))})
    return contacts, pd.concat([ringing, sessions, pauses], ignore_index=True)


def write_log(path: Path, target_lines: int) -> int:
    calls = max(1, int(target_lines / LINES_PER_CALL))
    contacts, states = draw_frames(calls)
    events = queue_log_events(contacts, states, member_queue="support")
    events = events.iloc[:target_lines]
    with path.open("w", encoding="utf-8") as f:
        step = 1_000_000
        for i in range(0, len(events), step):
            f.write("\n".join(format_lines(events.iloc[i:i + step]).tolist()))
            f.write("\n")
    return len(events)


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))


def _remove(db: Path) -> None:
    """A new DuckDB file each time: no file or write-ahead log left from the last round."""
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)


def baseline(path: Path, workdir: Path, repeat: int = 1) -> dict[str, float]:
    """DuckDB's read_csv of the file: best of ``repeat`` runs of each form."""
    src = str(path).replace("'", "''")
    csv = (f"read_csv('{src}', delim='|', header=false, null_padding=true, "
           "all_varchar=true)")
    out: dict[str, float] = {}
    for name, target, sql in (
            ("read_csv count(*)", ":memory:", f"SELECT count(*) FROM {csv}"),
            ("read_csv CREATE TABLE, in memory", ":memory:",
             f"CREATE OR REPLACE TABLE q AS SELECT * FROM {csv}"),
            ("read_csv CREATE TABLE, DuckDB file", "file",
             f"CREATE OR REPLACE TABLE q AS SELECT * FROM {csv}")):
        best = float("inf")
        for i in range(repeat):
            db = str(workdir / f"baseline{i}.duckdb") if target == "file" else ":memory:"
            if target == "file":
                _remove(Path(db))
            con = duckdb.connect(db)
            t = time.perf_counter()
            con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - t)
            con.close()
        out[name] = best
    return out


def ingest(path: Path, workdir: Path) -> tuple[float, dict[str, float], object]:
    _remove(workdir / "bench.duckdb")
    wh = Warehouse.open(workdir / "bench.duckdb")
    source = AsteriskQueueLogSource()
    ctx = ReadContext(tenant=Tenant("bench"))
    t = time.perf_counter()
    result = load(wh, SourceFile.of(path, source.kind), source.read(path, ctx),
                  tenant="bench")
    total = time.perf_counter() - t
    steps = dict(source.timings.steps)
    steps["conform + stage + merge (store)"] = total - sum(steps.values())
    steps["(fast DuckDB split)"] = float(source.timings.fast_path)
    wh.close()
    return total, steps, result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--file", type=Path,
                    help="queue_log to use: written there (and kept) if it does not exist")
    ap.add_argument("--rounds", type=int, default=3,
                    help="baseline + ingest rounds (the median ratio is reported)")
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench_asterisk_"))
    try:
        path = args.file or workdir / "queue_log"
        if not path.exists():
            t = time.perf_counter()
            write_log(path, args.lines)
            print(f"wrote {path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        lines = count_lines(path)
        size = path.stat().st_size
        load_before = os.getloadavg()[0]
        rounds = []
        for _ in range(max(1, args.rounds)):
            base = baseline(path, workdir)
            rounds.append((base, *ingest(path, workdir)))
        load_after = os.getloadavg()[0]
        ref = "read_csv CREATE TABLE, DuckDB file"
        ratios = sorted(total / base[ref] for base, total, _, _ in rounds)
        median = ratios[len(ratios) // 2] if len(ratios) % 2 else (
            (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2)
        best = {name: min(base[name] for base, *_ in rounds) for name in rounds[0][0]}
        best["contactkpi ingest (total)"] = min(total for _, total, _, _ in rounds)
        print(f"\n{lines:,} queue_log lines, {size / 1e6:,.0f} MB; load average "
              f"{load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores; "
              f"{len(rounds)} rounds\n")
        print(f"{'best of the rounds':<38}{'seconds':>9}{'lines/s':>13}{'x count(*)':>12}"
              f"{'x CTAS file':>13}")
        for name, secs in best.items():
            print(f"{name:<38}{secs:>9.2f}{lines / secs:>13,.0f}"
                  f"{secs / best['read_csv count(*)']:>12.1f}{secs / best[ref]:>13.2f}")
        print(f"\n{'round':<8}{'CTAS file':>11}{'contactkpi':>12}{'ratio':>8}")
        for i, (base, total, _, _) in enumerate(rounds, start=1):
            print(f"{i:<8}{base[ref]:>11.2f}{total:>12.2f}{total / base[ref]:>8.2f}")
        print(f"\nmedian ratio (contactkpi ingest / read_csv CREATE TABLE into a file): "
              f"{median:.2f}")
        base, total, steps, result = sorted(rounds, key=lambda r: r[1] / r[0][ref])[
            len(rounds) // 2]
        print("\ncontactkpi steps of the median round (seconds):")
        for name, secs in steps.items():
            print(f"  {name:<36}{secs:>9.2f}")
        counts = {k: (v.loaded, v.duplicate) for k, v in result.tables.items()}
        print(f"\nloaded (new, duplicate): {counts}; rejected lines: {result.rows_rejected}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
