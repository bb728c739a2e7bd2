"""Simulator benchmarks: the event-driven center at 1M contacts, and the fast generator.

    .venv/bin/python bench/simulate/run.py [--part simulate|fast|all] [--contacts 1000000]
                                           [--fast-rows 10000000] [--chunk-rows 1000000]

1. ``simulate``: the default center (two tenants, 4 weeks) scaled so that about
   ``--contacts`` contacts come out; times the arrivals + agents + event loop
   (``center.prepare``) and the whole ``simulate()`` with every canonical table.
   Baseline in the same process: a minimal textbook M/M/N event loop (``heapq``, one queue,
   the same number of calls, no logging, no tables) - the least any Python DES must do.
2. ``fast``: ``write_fast_contacts`` streaming ``--fast-rows`` rows into Parquet, and the
   generation alone. Baseline in the same process: writing an already generated chunk the
   same number of times (Parquet writing alone).

Prints markdown tables with times, rows/s, peak memory and ratios. Not a test: timings vary
with the machine and its load.
"""

from __future__ import annotations

import argparse
import heapq
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from contactkpi.simulate import default_config, simulate
from contactkpi.simulate.center import prepare
from contactkpi.simulate.fast import CONTACTS_SCHEMA, fast_contact_batches, write_fast_contacts


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline_mmn(calls: int, agents: int = 110, aht_s: float = 60.0, seed: int = 1) -> float:
    """Seconds for a bare heapq M/M/N loop over ``calls`` calls (FCFS, infinite patience)."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(aht_s / agents / 0.9, calls)).tolist()
    services = rng.exponential(aht_s, calls).tolist()
    started = time.perf_counter()
    free = agents
    queue: list[int] = []
    head = 0
    done: list[tuple[float, int]] = []
    waits = 0.0
    for i, t in enumerate(arrivals):
        while done and done[0][0] <= t:
            t_end, _ = heapq.heappop(done)
            if head < len(queue):
                j = queue[head]
                head += 1
                waits += t_end - arrivals[j]
                heapq.heappush(done, (t_end + services[j], j))
            else:
                free += 1
        if free:
            free -= 1
            heapq.heappush(done, (t + services[i], i))
        else:
            queue.append(i)
    return time.perf_counter() - started


def bench_simulate(target: int) -> None:
    cfg = default_config()
    probe = prepare(cfg.with_overrides(volume_scale=1.0))
    inbound_per_scale = len(probe.book) + len(probe.blocked["arr"])
    outbound = sum(len(r.rows["arr"]) for _, _, r in probe.campaigns)
    scale = max((target - outbound) / inbound_per_scale, 0.01)
    base = baseline_mmn(target)
    t0 = time.perf_counter()
    data = prepare(cfg.with_overrides(volume_scale=scale))
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = simulate(cfg, volume_scale=scale)
    full_s = time.perf_counter() - t0
    n = len(sim["contacts"])
    rows = sum(len(f) for f in sim.tables.values())
    print(f"\n## simulate(): default center, 28 days, volume_scale {scale:.2f}\n")
    print(f"{n:,} contacts ({len(data.book):,} through the event loop), "
          f"{len(sim['agent_states']):,} agent states, {rows:,} rows in all tables; "
          f"{len(data.engine_agents):,} inbound agents; peak memory {_peak_mb():,.0f} MB\n")
    print("| step | time | contacts/s | ratio to baseline |")
    print("|---|---:|---:|---:|")
    print(f"| baseline: bare heapq M/M/N loop, {target:,} calls | {base:.1f} s | "
          f"{target / base:,.0f} | 1x |")
    print(f"| arrivals + agents + event loop (`prepare`) | {loop_s:.1f} s | "
          f"{len(data.book) / loop_s:,.0f} | {loop_s / base:.1f}x |")
    print(f"| `simulate()` with every canonical table | {full_s:.1f} s | {n / full_s:,.0f} | "
          f"{full_s / base:.1f}x |")


def bench_fast(rows: int, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.parquet"
        chunk = next(fast_contact_batches(min(chunk_rows, rows), seed=1,
                                          chunk_rows=chunk_rows))
        t0 = time.perf_counter()
        with pq.ParquetWriter(str(Path(tmp) / "base.parquet"), CONTACTS_SCHEMA,
                              compression="zstd") as writer:
            written = 0
            while written < rows:
                part = chunk.slice(0, min(chunk.num_rows, rows - written))
                writer.write_table(part)
                written += part.num_rows
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        generated = sum(t.num_rows for t in fast_contact_batches(rows, seed=2,
                                                                  chunk_rows=chunk_rows))
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = write_fast_contacts(path, rows, seed=2, chunk_rows=chunk_rows)
        full_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 2**20
    assert n == generated == rows
    print(f"\n## fast generator: {rows:,} contacts in chunks of {chunk_rows:,}\n")
    print(f"Parquet (zstd) {size_mb:,.0f} MB; peak memory {_peak_mb():,.0f} MB\n")
    print("| step | time | rows/s | ratio to baseline |")
    print("|---|---:|---:|---:|")
    print(f"| baseline: write an in-memory chunk repeatedly | {base:.1f} s | "
          f"{rows / base:,.0f} | 1x |")
    print(f"| generate only (`fast_contact_batches`) | {gen_s:.1f} s | {rows / gen_s:,.0f} | "
          f"{gen_s / base:.2f}x |")
    print(f"| generate + write (`write_fast_contacts`) | {full_s:.1f} s | "
          f"{rows / full_s:,.0f} | {full_s / base:.2f}x |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("simulate", "fast", "all"), default="all")
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--fast-rows", type=int, default=10_000_000)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    if args.part in ("simulate", "all"):
        bench_simulate(args.contacts)
    if args.part in ("fast", "all"):
        bench_fast(args.fast_rows, args.chunk_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
