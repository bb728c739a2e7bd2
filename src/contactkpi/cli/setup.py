"""``contactkpi init``, ``config show``, ``loads``, ``rejects`` and ``sql``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from contactkpi.cli.context import STATE, open_warehouse
from contactkpi.cli.output import Format, show_frame, show_pairs, stderr
from contactkpi.config import CONFIG_FILE, DEFAULT_WAREHOUSE, config_template, load_settings
from contactkpi.errors import ConfigError, QueryError
from contactkpi.store import LOAD_LOG, REJECTS, Warehouse


def init(
    tenant: str = typer.Option("default", "--tenant", "-t", help="Name of the first tenant."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone of that tenant."),
    country: str = typer.Option("", "--country", help="ISO country code (public holidays)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config file."),
) -> None:
    """Create contactkpi.toml (tenants, time zones, opening hours, targets) and the warehouse."""
    path = STATE.config or Path(CONFIG_FILE)
    if path.exists() and not force:
        stderr.print(f"[yellow]{path} exists; keeping it[/] (use --force to overwrite)")
    else:
        wh_target = STATE.warehouse or DEFAULT_WAREHOUSE
        path.write_text(config_template(tenant=tenant, timezone=timezone, country=country,
                                        warehouse=wh_target), encoding="utf-8")
        stderr.print(f"wrote {path}")
    STATE.config = path
    STATE._settings = load_settings(config=path, warehouse=STATE.warehouse)
    wh = Warehouse.open(STATE.settings.warehouse, create=True)
    wh.close()
    stderr.print(f"warehouse ready: {STATE.settings.warehouse}")
    stderr.print("next: contactkpi ingest csv FILE --mapping MAPPING.toml")


config_app = typer.Typer(help="Show the settings in force.", no_args_is_help=True)


@config_app.command("show")
def config_show() -> None:
    """Print each setting and where its value came from (flag, env, file, default)."""
    s = STATE.settings
    pairs: list[tuple[str, object]] = [
        ("config file", s.config_path or "(none)"),
        ("warehouse", f"{s.warehouse}  [{s.origins.get('warehouse', 'default')}]"),
        ("default tenant", s.default_tenant or "(none)"),
    ]
    for name, t in s.tenants.items():
        hours = "; ".join(
            f"{['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][d]} "
            + (",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in r) or "closed")
            for d, r in sorted(t.opening_hours.by_weekday.items()))
        pairs.append((f"tenant {name}", f"{t.timezone}, {t.currency}, holidays "
                      f"{len(t.holidays)}; {hours}"))
    for metric, target in s.targets.items():
        pairs.append((f"target {metric}", f"{target.value} (near +/-{target.near}) "
                      f"{dict(target.params) or ''}"))
    show_pairs(pairs, title="contactkpi settings")


def loads(
    limit: int = typer.Option(50, "--limit", "-n", help="Most recent loads to show."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """The load log: file, hash, rows read, loaded, replaced, duplicates, rejected, when."""
    wh = open_warehouse(read_only=True)
    t = wh.table(LOAD_LOG)
    frame = t.order_by(t.loaded_at.desc()).limit(limit).execute()
    frame["source_sha256"] = frame["source_sha256"].str.slice(0, 12)
    show_frame(frame.drop(columns=["load_id"]), fmt, title="loads", json_key="loads")


def rejects(
    file: str | None = typer.Option(None, "--file", help="Only rejects of this source file."),
    reason: str | None = typer.Option(None, "--reason", help="Only this reason code."),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    limit: int = typer.Option(100, "--limit", "-n", help="Rows to show (0 = all)."),
    summary: bool = typer.Option(False, "--summary", help="Count by file, field and reason."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Rows that were not loaded, with file, line, field, value and the reason."""
    wh = open_warehouse(read_only=True)
    t = wh.table(REJECTS, tenant=tenant)
    if file:
        t = t.filter((t.source_file == file) | t.source_file.endswith("/" + Path(file).name))
    if reason:
        t = t.filter(t.reason_code == reason)
    if summary:
        expr = t.group_by(["source_file", "table_name", "field", "reason_code"]).aggregate(
            rows=t.count()).order_by(["source_file", "table_name", "field"])
        show_frame(expr.execute(), fmt, title="rejects by reason", json_key="rejects")
        return
    expr = t.select("source_file", "line", "table_name", "field", "value", "reason_code",
                    "reason").order_by(["source_file", "line", "field"])
    if limit:
        expr = expr.limit(limit)
    show_frame(expr.execute(), fmt, title="rejects", json_key="rejects")


def sql(
    query: str = typer.Argument(..., help="One read-only SQL query (DuckDB dialect)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    limit: int = typer.Option(1000, "--limit", "-n", help="At most this many rows (0 = all)."),
) -> None:
    """Run a read-only SQL query on the warehouse (for power users)."""
    wh = open_warehouse(read_only=True)
    if not wh.is_duckdb:
        raise ConfigError("`sql` needs a DuckDB warehouse", where="--warehouse")
    db = wh.raw_duckdb()
    try:
        rel = db.sql(query)
        frame: pd.DataFrame = (rel.limit(limit) if (limit and rel is not None) else rel).df() \
            if rel is not None else pd.DataFrame()
    except Exception as exc:  # duckdb's error classes: parser, catalog, binder, read-only
        message = str(exc).splitlines()[0]
        raise QueryError(message, where="sql",
                         hint="the warehouse is opened read-only; tables: "
                         + ", ".join(sorted(wh.con.list_tables()))) from None
    show_frame(frame, fmt, title=None)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(config_app, name="config")
    app.command("loads")(loads)
    app.command("rejects")(rejects)
    app.command("sql")(sql)
