"""Generate the metric reference (``docs/metrics.md``) from the catalog.

``python -m contactkpi.metrics.docs docs/metrics.md`` (or ``contactkpi metrics docs --out
docs/metrics.md``) rewrites it; a test fails when the file differs from the catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

from contactkpi.metrics import params as params_mod
from contactkpi.metrics.dimensions import DIMENSIONS, metric_dimensions
from contactkpi.metrics.grains import GRAINS
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.spec import Catalog, Direction, Metric

FAMILY_ORDER = ("inbound", "resolution", "agents", "helpdesk", "outbound", "workforce",
                "trends")


def _metric(m: Metric, catalog: Catalog) -> list[str]:
    lines = [f"### `{m.name}` - {m.label}", ""]
    lines.append(f"*{m.type.value}, unit {m.unit.value}, {m.direction.value.replace('_', ' ')}"
                 + (f", time dimension `{m.time_dimension}`" if m.time_dimension else "")
                 + "*")
    lines += ["", m.definition, ""]
    if m.formula:
        lines += [f"Formula: `{m.formula}`", ""]
    lines += [f"Missing values: {m.missing}", ""]
    if m.params:
        lines.append("| parameter | type | default | description |")
        lines.append("|---|---|---|---|")
        for p in m.params.values():
            bounds = ""
            if p.min is not None or p.max is not None:
                lo = params_mod.show(p, p.min) if p.min is not None else ""
                hi = params_mod.show(p, p.max) if p.max is not None else ""
                bounds = f" ({lo}..{hi})"
            if p.allowed:
                bounds += " (" + ", ".join(p.allowed) + ")"
            lines.append(f"| `{p.name}` | {p.type.value}{bounds} | "
                         f"`{params_mod.show(p, p.default)}` | {p.description} |")
        lines.append("")
    if m.variants:
        lines.append("Variants" + (f" (default `{m.default_variant}`)" if m.default_variant
                                   else "") + ":")
        lines.append("")
        for v in m.variants.values():
            lines.append(f"- `{m.name}@{v.name}`: {v.description}")
        lines.append("")
    if m.inputs:
        parts = []
        for alias, ref in m.inputs.items():
            measure = catalog.measures[ref.measure]
            parts.append(f"`{alias}` = {measure.agg.value} over `{measure.table}`"
                         + (f" where `{measure.filter}`" if measure.filter else "")
                         + (f" and `{ref.filter}`" if ref.filter else ""))
        lines += ["Inputs: " + "; ".join(parts) + ".", ""]
    tables = [catalog.measures[r.measure].table for r in m.inputs.values()]
    if m.repeat:
        tables.append(m.repeat.table)
    if tables:
        dims = m.dimensions or tuple(metric_dimensions(tables))
        lines += ["Dimensions: " + ", ".join(f"`{d}`" for d in dims) + ".", ""]
    if m.target:
        lines += [f"Default target: {m.target.value:g}"
                  + (f" (near within {m.target.near:g})" if m.target.near else "")
                  + f". Status: {status_rule(m.direction)}", ""]
    for s in m.sources:
        quote = f': "{s.quote}"' if s.quote else ""
        link = f" <{s.url}>" if s.url else ""
        lines.append(f"> {s.title}{link}{quote}")
    lines.append("")
    return lines


def status_rule(direction: Direction) -> str:
    """How a value is judged against its target (see compile._status), in words."""
    if direction is Direction.HIGHER:
        return "met at or above the target, near within `near` below it, else missed."
    if direction is Direction.LOWER:
        return "met at or below the target, near within `near` above it, else missed."
    return ("met within `near` of the target either way, near within twice `near`, "
            "else missed (a target range, not a side).")


def render_markdown(catalog: Catalog | None = None) -> str:
    """The whole reference as Markdown (deterministic: same catalog, same text)."""
    catalog = catalog or default_catalog()
    lines = [
        "# KPI reference",
        "",
        "Generated from `src/contactkpi/metrics/catalog/*.yaml` by "
        "`contactkpi metrics docs --out docs/metrics.md`; do not edit by hand.",
        "",
        "Ratios are 0..1 in data (shown as percent), durations are seconds. Ask for a KPI as "
        "`NAME[@VARIANT][:PARAM=VALUE...]`; the result column carries exactly that name.",
        "",
        "Grains: " + ", ".join(f"`{g}`" for g in GRAINS) + ". Dimensions: "
        + ", ".join(f"`{d}`" for d in DIMENSIONS) + ".",
        "",
    ]
    families = sorted(catalog.families,
                      key=lambda f: (FAMILY_ORDER.index(f.name) if f.name in FAMILY_ORDER
                                     else len(FAMILY_ORDER), f.name))
    lines.append("| family | KPIs |")
    lines.append("|---|---|")
    for f in families:
        names = [m.name for m in catalog.metrics.values() if m.family == f.name]
        lines.append(f"| {f.title} | " + ", ".join(f"`{n}`" for n in names) + " |")
    lines.append("")
    for f in families:
        lines += [f"## {f.title}", "", f.description, ""]
        for m in catalog.metrics.values():
            if m.family == f.name:
                lines += _metric(m, catalog)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the reference to the path given (default docs/metrics.md)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/metrics.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()
