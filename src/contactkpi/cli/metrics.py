"""``contactkpi metrics list|explain|validate|docs`` and ``contactkpi kpi``.

``kpi`` computes KPIs from the warehouse (opened read-only); ``metrics`` shows the catalog.
Data goes to stdout, messages to stderr; a bad option, filter, parameter or definition is a
user error (exit 2) naming the option and what to do.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from contactkpi.cli.context import STATE, open_warehouse
from contactkpi.cli.output import Format as TextFormat
from contactkpi.cli.output import print_error, show_frame
from contactkpi.errors import QueryError
from contactkpi.metrics import MetricQuery, drill, explain, run
from contactkpi.metrics.docs import render_markdown
from contactkpi.metrics.loader import default_catalog, load_catalog
from contactkpi.metrics.query import records
from contactkpi.metrics.spec import Catalog, Format, Metric

metrics_app = typer.Typer(help="The KPI catalog: list, explain, validate, document.",
                          no_args_is_help=True)


class KpiFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


def _catalog(path: Path | None = None) -> Catalog:
    return load_catalog(path) if path is not None else default_catalog()


def _variants(m: Metric) -> str:
    return ", ".join(v + ("*" if v == m.default_variant else "") for v in m.variants)


@metrics_app.command("list")
def list_metrics(
    family: str | None = typer.Option(None, "--family", help="Only this family."),
    fmt: TextFormat = typer.Option(TextFormat.table, "--format", help="table, json or csv."),
) -> None:
    """List every KPI of the catalog (name, family, type, unit, variants)."""
    catalog = _catalog()
    rows = [{
        "name": m.name, "family": m.family, "label": m.label, "type": m.type.value,
        "unit": m.unit.value, "direction": m.direction.value, "variants": _variants(m),
        "params": ", ".join(m.params),
    } for m in catalog.metrics.values() if family is None or m.family == family]
    if not rows:
        raise QueryError(f"no KPIs in family {family!r}", where="--family",
                         hint="families: " + ", ".join(f.name for f in catalog.families))
    show_frame(pd.DataFrame(rows), fmt, title="KPI catalog", json_key="metrics")


def _pairs(items: list[str] | None, option: str, sep: str = "=") -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        key, ok, value = item.partition(sep)
        if not ok or not key.strip() or not value.strip():
            raise QueryError(f"bad {option} {item!r}", where=option,
                             hint=f"write {option} NAME{sep}VALUE")
        out.append((key.strip(), value.strip()))
    return out


@metrics_app.command("explain")
def explain_metric(
    name: str = typer.Argument(..., help="KPI name, optionally NAME@VARIANT:PARAM=VALUE."),
    param: list[str] = typer.Option(None, "--param", "-p", help="PARAM=VALUE (repeatable)."),
    variant: str | None = typer.Option(None, "--variant", help="Variant to explain."),
    sql: bool = typer.Option(False, "--sql", help="Also print the DuckDB SQL (not executed)."),
    by: str | None = typer.Option(None, "--by", help="Dimensions for the SQL, DIM[,DIM]."),
    grain: str = typer.Option("all", "--grain", help="Grain for the SQL."),
    fmt: TextFormat = typer.Option(TextFormat.table, "--format", help="table (text) or json."),
) -> None:
    """Definition, quoted source, effective params, missing-value treatment (and SQL)."""
    settings = STATE.settings
    query = MetricQuery(metrics=(name,), by=tuple(_split(by)), grain=grain)
    exp = explain(name, params=dict(_pairs(param, "--param")), variant=variant, sql=sql,
                  query=query, settings=settings)
    if fmt is TextFormat.json:
        sys.stdout.write(json.dumps(exp.to_dict(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(exp.render() + "\n")


@metrics_app.command("validate")
def validate(
    path: Path | None = typer.Argument(None, help="A catalog folder or YAML file "
                                       "(default: the packaged catalog)."),
) -> None:
    """Load and check a catalog; problems name file, line and field."""
    catalog = _catalog(path)
    print(f"ok: {len(catalog.metrics)} KPIs, {len(catalog.measures)} measures in "
          f"{len(catalog.families)} families", file=sys.stderr)


@metrics_app.command("docs")
def docs(
    out: Path | None = typer.Option(None, "--out", help="Write here (default: stdout)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 if --out is not up to date."),
) -> None:
    """Generate the metric reference (docs/metrics.md) from the catalog."""
    text = render_markdown(_catalog())
    if out is None:
        sys.stdout.write(text)
        return
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print_error(f"{out} is not up to date", hint="run `contactkpi metrics docs --out "
                        f"{out}`")
            raise typer.Exit(1)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _params(items: list[str] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in _pairs(items, "--param"):
        metric, dot, name = key.partition(".")
        if not dot or not metric or not name:
            raise QueryError(f"bad --param {key}={value}", where="--param",
                             hint="write --param METRIC.PARAM=VALUE, e.g. "
                             "--param service_level.threshold_s=30")
        out.setdefault(metric, {})[name] = value
    return out


def _shown(value: Any, fmt: Format) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if fmt is Format.PERCENT:
        return f"{float(value) * 100:.2f}%"
    if fmt is Format.INTEGER:
        return f"{int(value)}"
    if fmt is Format.DURATION:
        return f"{float(value):.1f}"
    if fmt is Format.POINTS:
        return f"{float(value):+.1f}"
    return f"{float(value):.4g}" if isinstance(value, float) else str(value)


def _table_frame(frame: pd.DataFrame, info: list[dict[str, Any]]) -> pd.DataFrame:
    shown = frame.copy()
    if "period_start" in shown.columns and shown["period_start"].isna().all():
        shown = shown.drop(columns=["period_start"])
    formats = {m["name"]: Format(m["format"]) for m in info}
    for col in shown.columns:
        base = col.rsplit(".", 1)[0] if col.endswith((".target", ".status")) else col
        if base in formats and not col.endswith(".status"):
            shown[col] = [_shown(v, formats[base]) for v in shown[col]]
        elif col == "period_start":
            shown[col] = [v.isoformat() if not pd.isna(v) else "" for v in shown[col]]
    return shown


def _emit(frame: pd.DataFrame, payload: dict[str, Any], info: list[dict[str, Any]],
          fmt: KpiFormat, out: Path | None, title: str) -> None:
    if fmt is KpiFormat.parquet:
        if out is None:
            raise QueryError("parquet output needs --out FILE", where="--format",
                             hint="add --out result.parquet")
        frame.to_parquet(out, index=False)
        print(f"wrote {len(frame)} rows to {out}", file=sys.stderr)
        return
    if fmt is KpiFormat.json:
        text = json.dumps(payload, indent=2, default=str) + "\n"
    elif fmt is KpiFormat.csv:
        text = pd.DataFrame(payload["rows"], columns=list(frame.columns)).to_csv(index=False)
    else:
        if out is None:
            show_frame(_table_frame(frame, info), TextFormat.table, title=title)
            return
        text = _table_frame(frame, info).to_string(index=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {len(frame)} rows to {out}", file=sys.stderr)


def _cell(text: str) -> dict[str, str | None]:
    cell: dict[str, str | None] = {}
    for key, value in _pairs(_split(text), "--drill"):
        cell[key] = None if value.lower() in ("null", "none") else value
    return cell


def kpi(
    metrics: list[str] = typer.Argument(None, help="KPIs: NAME[@VARIANT][:PARAM=VALUE...]."),
    by: list[str] = typer.Option(None, "--by", help="Dimensions DIM[,DIM] (queue, agent, team, "
                                 "channel, campaign, script, segment, weekday, ...)."),
    grain: str = typer.Option("all", "--grain", help="interval_15m, interval_30m, hour, day, "
                              "week, month, quarter, year, all, hour_of_day, weekday."),
    start: str | None = typer.Option(None, "--from", help="First local day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Last local day, included."),
    where: str | None = typer.Option(None, "--where", help="Filter, e.g. \"queue=sales AND "
                                     "channel='voice'\" (a safe SQL-predicate subset)."),
    param: list[str] = typer.Option(None, "--param", "-p",
                                    help="METRIC.PARAM=VALUE, e.g. service_level.threshold_s=30."),
    variant: list[str] = typer.Option(None, "--variant",
                                      help="METRIC=VARIANT, e.g. service_level=of_offered."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (default from config); "
                                      "'*' for every tenant (cut --by tenant)."),
    as_of: str | None = typer.Option(None, "--as-of", help="End of the known data (pending "
                                     "FCR, backlog); default: the latest contact."),
    targets: bool = typer.Option(True, "--targets/--no-targets",
                                 help="Add each KPI's target and met/near/missed status."),
    drill_cell: str | None = typer.Option(None, "--drill", help="Show the rows behind one cell: "
                                          "DIM=VALUE,...,period_start=ISO (one KPI)."),
    limit: int = typer.Option(1000, "--limit", help="Most rows shown by --drill."),
    fmt: KpiFormat = typer.Option(KpiFormat.table, "--format",
                                  help="table, json, csv or parquet (needs --out)."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file."),
) -> None:
    """Compute KPIs by dimension and period from the warehouse."""
    if not metrics:
        raise QueryError("name at least one KPI", where="METRIC",
                         hint="e.g. contactkpi kpi offered service_level --by queue; "
                         "see contactkpi metrics list")
    dims = [d for item in (by or []) for d in _split(item)]
    end_excl = None
    if end:
        end_excl = end
        if "T" not in end and " " not in end:
            try:
                end_excl = (pd.Timestamp(end) + pd.Timedelta(days=1)).date().isoformat()
            except ValueError:
                raise QueryError(f"bad --to {end!r}", where="--to",
                                 hint="write a date YYYY-MM-DD") from None
    query = MetricQuery(metrics=tuple(metrics), by=tuple(dims), grain=grain, start=start,
                        end=end_excl, where=where, params=_params(param),
                        variants=dict(_pairs(variant, "--variant")), tenant=tenant,
                        targets=targets, as_of=as_of)
    settings = STATE.settings
    wh = open_warehouse(create=False, read_only=True)
    try:
        if drill_cell is not None:
            if len(metrics) != 1:
                raise QueryError("--drill shows the rows of one KPI", where="--drill",
                                 hint="name exactly one KPI")
            rows = drill(wh, query, metrics[0], _cell(drill_cell), settings=settings,
                         limit=limit)
            _emit(rows, {"metric": metrics[0], "rows": records(rows)}, [], fmt, out,
                  title=f"rows behind {metrics[0]}")
            return
        result = run(wh, query, settings=settings)
        _emit(result.frame, result.to_dict(), result.metrics, fmt, out,
              title=", ".join(metrics))
    finally:
        wh.close()


def register(app: typer.Typer) -> None:
    """Add ``metrics`` (list, explain, query, validate, docs) and ``kpi`` to the CLI."""
    metrics_app.command("query", help="Same as `contactkpi kpi`.")(kpi)
    app.add_typer(metrics_app, name="metrics")
    app.command("kpi")(kpi)
