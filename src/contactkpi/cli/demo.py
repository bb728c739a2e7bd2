"""``contactkpi demo``: simulate a demo outsourcer, load it, and show what contactkpi reports.

One command on a fresh clone (``make demo`` runs it):

1. simulates four weeks of the shipped demo center (``contactkpi.simulate.default_config``:
   two client tenants in their own time zones and opening hours, three inbound phone queues,
   an e-mail helpdesk and an outbound campaign);
2. writes ``DIR/contactkpi.toml`` (tenants with time zones, opening hours, holidays, targets)
   and a fresh ``DIR/contactkpi.duckdb``; an older *demo* warehouse there is removed first
   (anything else is left alone: the command stops with an error instead);
3. loads every simulated table through ``contactkpi.store.load_frames``, the validated load
   path every source uses;
4. prints the report of :mod:`contactkpi.reports.terminal` (or its JSON form), ending with the
   commands to drill down and query the warehouse it leaves behind.

Progress goes to stderr; the report to stdout.
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from contactkpi.cli.output import stderr
from contactkpi.config import load_settings
from contactkpi.errors import ConfigError, WarehouseError

CONFIG_NAME = "contactkpi.toml"
WAREHOUSE_NAME = "contactkpi.duckdb"
#: First line of the config the demo writes; a config without it is never overwritten.
DEMO_MARK = "# contactkpi demo configuration"
#: Loads of the demo are labelled ``<demo:TABLE>`` in the load ledger.
LABEL = "demo:"

#: Targets for every tenant, written to the demo's contactkpi.toml.
DEMO_TARGETS: dict[str, dict[str, Any]] = {
    "service_level": {"value": 0.80, "near": 0.05, "params": {"threshold_s": 20}},
    "asa_s": {"value": 30, "near": 10},
    "abandon_rate": {"value": 0.05, "near": 0.02},
    "aht_s": {"value": 360, "near": 30},
    "fcr": {"value": 0.75, "near": 0.05},
    "csat": {"value": 4.0, "near": 0.2},
    "nps": {"value": 15, "near": 10},
    "occupancy": {"value": 0.80, "near": 0.10},
    "first_response_time_s": {"value": 14400, "near": 3600},
    "reopen_rate": {"value": 0.08, "near": 0.02},
    "contact_rate": {"value": 0.30, "near": 0.03},
    "conversion_rate": {"value": 0.12, "near": 0.02},
}

#: A tenant's own targets (override DEMO_TARGETS): the bank promises 90% in 30 s.
TENANT_TARGETS: dict[str, dict[str, dict[str, Any]]] = {
    "kestrel_bank": {
        "service_level": {"value": 0.90, "near": 0.05, "params": {"threshold_s": 30}},
        "asa_s": {"value": 20, "near": 10},
    },
}


class DemoFormat(StrEnum):
    table = "table"
    json = "json"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _target_lines(table: str, spec: dict[str, Any]) -> list[str]:
    return [f"[{table}]", *(f"{k} = {_toml_value(v)}" for k, v in spec.items()), ""]


def config_text(tenants_toml: str, tenant_names: list[str]) -> str:
    """The demo's contactkpi.toml: warehouse beside it, the simulated tenants, targets."""
    lines = [
        f"{DEMO_MARK}: written by `contactkpi demo`, rewritten on every run.",
        "# The simulated outsourcer's clients, with their time zones, opening hours, holidays",
        "# and service targets. Use it with: contactkpi --config THIS_FILE kpi ...",
        f"default_tenant = {_toml_value(tenant_names[0])}",
        "",
        "[warehouse]",
        f'url = "{WAREHOUSE_NAME}"   # next to this file',
        "",
        tenants_toml.rstrip(),
        "",
        "# Targets for every tenant: value, and the band within which the status is 'near'.",
    ]
    for metric, spec in DEMO_TARGETS.items():
        lines += _target_lines(f"targets.{metric}", spec)
    for tenant, targets in TENANT_TARGETS.items():
        if tenant not in tenant_names:
            continue
        lines.append(f"# {tenant}'s own targets")
        for metric, spec in targets.items():
            lines += _target_lines(f"tenants.{tenant}.targets.{metric}", spec)
    return "\n".join(lines)


def _is_demo_warehouse(path: Path) -> bool:
    """Whether every load recorded in the warehouse at ``path`` came from the demo."""
    from contactkpi.store import LOAD_LOG, Warehouse

    wh = Warehouse.open(path, create=False, read_only=True)
    try:
        tables = set(wh.con.list_tables())
        if LOAD_LOG not in tables:
            return not tables
        files = wh.con.table(LOAD_LOG).select("source_file").distinct().to_pandas()
        return all(str(f).startswith(f"<{LABEL}") for f in files["source_file"])
    finally:
        wh.close()


def prepare_dir(directory: Path) -> bool:
    """Check DIR holds nothing but an older demo; remove its warehouse. True if one was removed.

    Raises:
        ConfigError: DIR/contactkpi.toml exists and was not written by the demo.
        WarehouseError: DIR/contactkpi.duckdb holds loads that did not come from the demo.
    """
    config = directory / CONFIG_NAME
    warehouse = directory / WAREHOUSE_NAME
    if directory.exists() and not directory.is_dir():
        raise ConfigError(
            f"{directory} is a file",
            where="--dir",
            hint="pass a folder for the demo, e.g. --dir demo",
        )
    if config.exists():
        head = config.read_text(encoding="utf-8", errors="replace")[: len(DEMO_MARK)]
        if head != DEMO_MARK:
            raise ConfigError(
                f"{config} was not written by the demo; not overwriting it",
                where="--dir",
                hint="pass a new folder, e.g. --dir demo (the default)",
            )
    if not warehouse.exists():
        return False
    if not _is_demo_warehouse(warehouse):
        raise WarehouseError(
            f"{warehouse} holds loads that did not come from the demo; not removing it",
            where="--dir",
            hint="pass a new folder, e.g. --dir demo (the default)",
        )
    warehouse.unlink()
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        wal.unlink()
    return True


def demo(
    directory: Path = typer.Option(
        Path("demo"), "--dir", help="Folder for contactkpi.toml and contactkpi.duckdb."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed (same seed, same data). Default: the simulator's."
    ),
    days: int = typer.Option(28, "--days", min=1, max=366, help="Days to simulate."),
    fmt: DemoFormat = typer.Option(
        DemoFormat.table, "--format", help="table (the report) or json (the same numbers)."
    ),
) -> None:
    """Simulate a demo outsourcer (two clients), load it into DIR/contactkpi.duckdb and
    print its KPIs against targets, trend, worst intervals, heatmap and top agents."""
    from rich.console import Console

    from contactkpi.reports import DemoTenant, build_demo_report
    from contactkpi.reports.terminal import render
    from contactkpi.simulate import TABLE_NAMES, default_config, simulate
    from contactkpi.store import Warehouse, load_frames

    began = time.perf_counter()
    seconds: dict[str, float] = {}
    replaced = prepare_dir(directory)
    config_path = directory / CONFIG_NAME
    warehouse_path = directory / WAREHOUSE_NAME
    if replaced:
        stderr.print(f"removed the previous demo warehouse {warehouse_path}")

    cfg = default_config()
    stderr.print(
        f"simulating {days} days of {len(cfg.tenants)} client tenants "
        f"({', '.join(t.name for t in cfg.tenants)}) ..."
    )
    t0 = time.perf_counter()
    sim = simulate(cfg, seed=seed, days=days)
    seconds["simulate"] = time.perf_counter() - t0

    directory.mkdir(parents=True, exist_ok=True)
    names = [t.name for t in sim.config.tenants]
    config_path.write_text(config_text(sim.config.settings_toml(), names), encoding="utf-8")
    settings = load_settings(config=config_path, env={})
    stderr.print(f"wrote {config_path}")

    t0 = time.perf_counter()
    rows: dict[str, int] = {}
    rejected = 0
    wh = Warehouse.open(warehouse_path, create=True)
    try:
        for name in TABLE_NAMES:
            result = load_frames(wh, {name: sim.tables[name]}, label=f"{LABEL}{name}")
            rows[name] = result.rows_loaded
            rejected += result.rows_rejected
        seconds["load"] = time.perf_counter() - t0
        stderr.print(
            f"loaded {sum(rows.values()):,} rows into {warehouse_path} "
            f"in {seconds['load']:.1f} s"
            + (
                f" ([red]{rejected} rejected[/]: contactkpi --config {config_path} rejects)"
                if rejected
                else ""
            )
        )

        t0 = time.perf_counter()
        tenants = [
            DemoTenant(
                t.name, has_tickets=any(q.written for q in t.queues), has_outbound=bool(t.campaigns)
            )
            for t in sim.config.tenants
        ]
        meta: dict[str, Any] = {
            "dir": str(directory),
            "config": str(config_path),
            "warehouse": str(warehouse_path),
            "replaced": replaced,
            "seed": sim.config.seed,
            "days": sim.config.days,
            "start": sim.config.start.isoformat(),
            "tenants": names,
            "contacts": len(sim.tables["contacts"]),
            "agent_states": len(sim.tables["agent_states"]),
            "rows_loaded": sum(rows.values()),
            "rows_by_table": rows,
            "rows_rejected": rejected,
            "seconds": seconds,
        }
        report = build_demo_report(
            wh, settings, tenants, config=str(config_path), warehouse=str(warehouse_path), meta=meta
        )
        seconds["report"] = time.perf_counter() - t0
    finally:
        wh.close()
    seconds["total"] = time.perf_counter() - began
    stderr.print(
        f"done in {seconds['total']:.1f} s (simulate {seconds['simulate']:.1f}, "
        f"load {seconds['load']:.1f}, report {seconds['report']:.1f})"
    )

    if fmt is DemoFormat.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=130)
    render(report, console)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
