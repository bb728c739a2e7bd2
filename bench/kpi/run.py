"""Benchmark: the full inbound KPI set by queue x 30-minute interval, three ways.

Computes offered, answered, service level (20 s, net of short abandons), ASA, AWT, AHT,
abandon rate (short abandons excluded) and longest wait per queue and local 30-minute
interval (Europe/London, DST-correct) over generated contacts:

1. through contactkpi (``contactkpi.metrics.run`` on the DuckDB warehouse file);
2. through one hand-written DuckDB SQL query on the same file (the baseline);
3. through idiomatic pandas on the same rows read from Parquet.

Each runs in its own process (so its peak memory can be measured), ``--repeat`` times; the
best time counts. The three results must agree (counts exactly, ratios and means to 1e-9).

Usage::

    .venv/bin/python bench/kpi/run.py                 # 10M contacts
    .venv/bin/python bench/kpi/run.py --rows 50000000 # 50M (needs ~15 GB of disk and time)

Data is generated once with ``contactkpi.simulate.fast_contact_batches`` (one tenant,
eight queues, 28 days from 2026-03-16, so the spring DST change is inside) into
``bench/kpi/data/`` (not committed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZONE = "Europe/London"
START, END = "2026-03-16", "2026-04-13"  # local days, end excluded
METRICS = ("offered", "answered", "service_level", "asa_s", "awt_s", "aht_s", "abandon_rate",
           "longest_wait_s")
TENANT = "brightpower"

SQL = f"""
SELECT
  queue,
  time_bucket(INTERVAL '30 minutes', arrived_at AT TIME ZONE '{ZONE}') AS local_start,
  CAST(epoch(arrived_at AT TIME ZONE '{ZONE}') - epoch(arrived_at) AS BIGINT) AS utc_offset_s,
  count(*) AS offered,
  count(*) FILTER (WHERE outcome = 'answered') AS answered,
  count(*) FILTER (WHERE outcome = 'answered' AND wait_s <= 20)
    / NULLIF(count(*) FILTER (WHERE NOT (outcome IS NOT NULL AND outcome = 'abandoned'
                                         AND wait_s IS NOT NULL AND wait_s < 5)
                                AND NOT (outcome IS NOT NULL AND outcome = 'answered'
                                         AND wait_s IS NULL)), 0) AS service_level,
  avg(wait_s) FILTER (WHERE outcome = 'answered') AS asa_s,
  avg(wait_s) AS awt_s,
  avg(talk_s + hold_s + acw_s) FILTER (WHERE outcome = 'answered') AS aht_s,
  count(*) FILTER (WHERE outcome = 'abandoned' AND NOT (wait_s IS NOT NULL AND wait_s < 5))
    / NULLIF(count(*) FILTER (WHERE NOT (outcome IS NOT NULL AND outcome = 'abandoned'
                                         AND wait_s IS NOT NULL AND wait_s < 5)), 0)
    AS abandon_rate,
  max(wait_s) AS longest_wait_s
FROM contacts
WHERE tenant = '{TENANT}' AND direction = 'inbound' AND queue IS NOT NULL
  AND arrived_at >= TIMESTAMPTZ '{START} 00:00:00 {ZONE}'
  AND arrived_at < TIMESTAMPTZ '{END} 00:00:00 {ZONE}'
GROUP BY ALL
"""


def paths(rows: int, data_dir: Path) -> tuple[Path, Path]:
    return data_dir / f"contacts_{rows}.duckdb", data_dir / f"contacts_{rows}.parquet"


def generate(rows: int, data_dir: Path) -> None:
    """Write the warehouse file and the Parquet copy (once per size)."""
    import duckdb
    import pyarrow.parquet as pq

    from contactkpi.simulate.fast import (
        CONTACTS_SCHEMA,
        DEFAULT_QUEUES,
        DEFAULT_TENANTS,
        fast_contact_batches,
    )
    from contactkpi.store import Warehouse

    db, parquet = paths(rows, data_dir)
    if db.exists() and parquet.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    for p in (db, parquet):
        p.unlink(missing_ok=True)
    tenant = dataclasses.replace(DEFAULT_TENANTS[0], weight=1.0)
    queues = tuple(dataclasses.replace(q, tenant=0) for q in DEFAULT_QUEUES)
    Warehouse.open(db).close()  # canonical tables
    con = duckdb.connect(str(db))
    started = time.perf_counter()
    with pq.ParquetWriter(str(parquet), CONTACTS_SCHEMA, compression="zstd") as writer:
        for i, chunk in enumerate(fast_contact_batches(
                rows, seed=11, start=date.fromisoformat(START), days=28, chunk_rows=2_000_000,
                tenants=(tenant,), queues=queues)):
            writer.write_table(chunk)
            con.register("chunk", chunk)
            con.execute("INSERT INTO contacts SELECT * FROM chunk")
            con.unregister("chunk")
            print(f"  generated {(i + 1) * 2_000_000:,} rows "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    con.execute("CHECKPOINT")
    con.close()


# ---------------------------------------------------------------- the three implementations


def run_contactkpi(db: Path) -> object:
    from contactkpi.config import Settings, Tenant
    from contactkpi.metrics import MetricQuery, run
    from contactkpi.store import Warehouse

    settings = Settings(default_tenant=TENANT, tenants={TENANT: Tenant(TENANT, ZONE)})
    wh = Warehouse.open(db, create=False, read_only=True)
    query = MetricQuery(metrics=METRICS, by=("queue",), grain="interval_30m", start=START,
                        end=END, tenant=TENANT, targets=False)
    frame = run(wh, query, settings=settings).frame
    wh.close()
    frame = frame[frame["offered"] > 0]  # groups of queue-less or outbound rows only
    frame["period_start"] = [p.isoformat() for p in frame["period_start"]]
    return frame


def _iso_from_local(frame: object) -> object:
    import pandas as pd

    utc = pd.to_datetime(frame["local_start"]) - pd.to_timedelta(frame["utc_offset_s"], "s")
    frame["period_start"] = [t.isoformat() for t in
                             utc.dt.tz_localize("UTC").dt.tz_convert(ZONE)]
    return frame.drop(columns=["local_start", "utc_offset_s"])


def run_sql(db: Path) -> object:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    frame = con.execute(SQL).df()
    con.close()
    return _iso_from_local(frame)


def run_pandas(parquet: Path) -> object:
    import numpy as np
    import pandas as pd

    cols = ["tenant", "direction", "queue", "arrived_at", "outcome", "wait_s", "talk_s",
            "hold_s", "acw_s"]
    df = pd.read_parquet(parquet, columns=cols)
    lo = pd.Timestamp(START, tz=ZONE)
    hi = pd.Timestamp(END, tz=ZONE)
    df = df[(df["tenant"] == TENANT) & (df["direction"] == "inbound") & df["queue"].notna()
            & (df["arrived_at"] >= lo) & (df["arrived_at"] < hi)]
    local = df["arrived_at"].dt.tz_convert(ZONE).dt.tz_localize(None)
    utc = df["arrived_at"].dt.tz_localize(None)
    wait = df["wait_s"]
    answered = df["outcome"] == "answered"
    abandoned = df["outcome"] == "abandoned"
    short = abandoned & wait.notna() & (wait < 5)
    frame = pd.DataFrame({
        "queue": df["queue"].astype(str),
        "local_start": local.dt.floor("30min"),
        "utc_offset_s": (local - utc).dt.total_seconds().astype("int64"),
        "answered": answered,
        "met": answered & (wait <= 20),
        "sl_base": ~short & ~(answered & wait.isna()),
        "wait_answered": wait.where(answered),
        "wait": wait,
        "handle": (df["talk_s"] + df["hold_s"] + df["acw_s"]).where(answered),
        "abandoned_long": abandoned & ~short,
        "not_short": ~short,
    })
    g = frame.groupby(["queue", "local_start", "utc_offset_s"], observed=True, sort=False)
    out = g.agg(offered=("answered", "size"), answered=("answered", "sum"),
                met=("met", "sum"), sl_base=("sl_base", "sum"),
                asa_s=("wait_answered", "mean"), awt_s=("wait", "mean"),
                aht_s=("handle", "mean"), abandoned_long=("abandoned_long", "sum"),
                not_short=("not_short", "sum"), longest_wait_s=("wait", "max")).reset_index()
    out["service_level"] = out["met"] / out["sl_base"].replace(0, np.nan)
    out["abandon_rate"] = out["abandoned_long"] / out["not_short"].replace(0, np.nan)
    out = out.drop(columns=["met", "sl_base", "abandoned_long", "not_short"])
    return _iso_from_local(out)


IMPLS = {"contactkpi": "db", "sql": "db", "pandas": "parquet"}


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(impl: str, rows: int, data_dir: Path, repeat: int, out: Path) -> None:
    """Run one implementation ``repeat`` times; print its best time and peak memory."""
    db, parquet = paths(rows, data_dir)
    fn = {"contactkpi": run_contactkpi, "sql": run_sql, "pandas": run_pandas}[impl]
    arg = db if IMPLS[impl] == "db" else parquet
    times = []
    frame = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        frame = fn(arg)
        times.append(time.perf_counter() - t0)
    frame.to_parquet(out, index=False)  # type: ignore[attr-defined]
    peak_mb = _peak_mb()
    print(json.dumps({"impl": impl, "seconds": min(times), "all": times, "peak_mb": peak_mb,
                      "rows": len(frame)}))  # type: ignore[arg-type]


def compare(results: dict[str, Path]) -> list[str]:
    """Differences between the three results (empty when they agree)."""
    import numpy as np
    import pandas as pd

    frames = {k: pd.read_parquet(p).set_index(["queue", "period_start"]).sort_index()
              for k, p in results.items()}
    base = frames["sql"]
    problems = []
    for name, f in frames.items():
        if list(f.index) != list(base.index):
            problems.append(f"{name}: {len(f)} cells vs {len(base)} in SQL")
            continue
        for m in METRICS:
            a, b = f[m].to_numpy(dtype=float), base[m].to_numpy(dtype=float)
            same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-9 * np.maximum(1, np.abs(b)))
            if not same.all():
                problems.append(f"{name}.{m}: {int((~same).sum())} cells differ")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--impl", choices=list(IMPLS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", action="append", choices=list(IMPLS))
    args = parser.parse_args()
    sizes = args.rows or [10_000_000]
    if args.impl:
        child(args.impl, sizes[0], args.data_dir, args.repeat, args.out)
        return
    for rows in sizes:
        print(f"== {rows:,} contacts", file=sys.stderr)
        generate(rows, args.data_dir)
        stats, outputs = {}, {}
        for impl in args.only or list(IMPLS):
            out = args.data_dir / f"result_{impl}_{rows}.parquet"
            proc = subprocess.run(
                [sys.executable, __file__, "--impl", impl, "--rows", str(rows), "--repeat",
                 str(args.repeat), "--data-dir", str(args.data_dir), "--out", str(out)],
                capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f"{impl} failed")
            stats[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
            outputs[impl] = out
            s = stats[impl]
            print(f"  {impl:<10} {s['seconds']:8.2f} s  peak {s['peak_mb']:8.0f} MB  "
                  f"{s['rows']} cells  (runs: {', '.join(f'{t:.2f}' for t in s['all'])})")
        if "sql" in outputs and len(outputs) > 1:
            problems = compare(outputs)
            print("  agree: " + ("yes" if not problems else "NO: " + "; ".join(problems)))
        if "sql" in stats and "contactkpi" in stats:
            print(f"  contactkpi / SQL    = "
                  f"{stats['contactkpi']['seconds'] / stats['sql']['seconds']:.2f}x "
                  "(goal <= 1.25)")
        if "pandas" in stats and "contactkpi" in stats:
            print(f"  pandas / contactkpi = "
                  f"{stats['pandas']['seconds'] / stats['contactkpi']['seconds']:.1f}x "
                  "(goal >= 8)")


if __name__ == "__main__":
    main()
