"""``contactkpi simulate``: write a simulated center's canonical tables to files.

It never opens a warehouse: load the files with ``contactkpi ingest`` (or the Python API).
"""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer

from contactkpi.cli.output import Format, show_frame, stderr
from contactkpi.errors import ConfigError


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


def simulate(
    config: Path | None = typer.Option(
        None, "--config", "-c",
        help="Simulator TOML (tenants, queues, agents, campaigns). Default: the built-in demo "
        "center with two clients."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed; the same seed gives "
                                    "the same data. Default: the config's seed."),
    days: int | None = typer.Option(None, "--days", min=1, help="Days to simulate."),
    start: str | None = typer.Option(None, "--start", help="First local day, YYYY-MM-DD."),
    volume_scale: float | None = typer.Option(
        None, "--volume-scale", min=0.0, help="Multiply every queue's volume (staffing "
        "follows)."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for one file per table."),
    fmt: FileFormat = typer.Option(FileFormat.parquet, "--format", "-f",
                                   help="File format of the tables."),
    events: bool = typer.Option(False, "--events", help="Also write the raw queue events "
                                "(enterqueue, connect, abandon, ...) as events.<format>."),
) -> None:
    """Simulate a contact center and write its canonical tables (contacts, agent_states,
    surveys, qa_evaluations, roster, absences, trainings, costs, schedules, forecasts)."""
    from contactkpi.simulate import load_config, write_tables
    from contactkpi.simulate import simulate as run

    first_day = None
    if start is not None:
        try:
            first_day = date.fromisoformat(start)
        except ValueError:
            raise ConfigError(f"not a date: {start!r}", where="--start",
                              hint="write the first day as YYYY-MM-DD") from None
    cfg = load_config(config)
    began = time.perf_counter()
    sim = run(cfg, seed=seed, days=days, start=first_day, volume_scale=volume_scale)
    tables = dict(sim.tables)
    if events:
        tables["events"] = sim.events
    paths = write_tables(tables, out, fmt=fmt.value)
    summary = pd.DataFrame({
        "table": list(tables),
        "rows": [len(f) for f in tables.values()],
        "file": [str(p) for p in paths],
    })
    stderr.print(f"simulated {sim.config.days} days from {sim.config.start} "
                 f"(seed {sim.config.seed}, tenants "
                 f"{', '.join(t.name for t in sim.config.tenants)}) in "
                 f"{time.perf_counter() - began:.1f} s")
    show_frame(summary, Format.table, title="written")
    (Path(out) / "tenants.toml").write_text(
        "# Tenants of the simulated data, for contactkpi.toml\n" + sim.config.settings_toml(),
        encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
