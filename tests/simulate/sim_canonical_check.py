"""Check a frame against its canonical table: the helper every simulator test uses."""

from __future__ import annotations

import pandas as pd

from contactkpi.model import TABLES, Kind
from contactkpi.model.validate import conform

_DTYPES = {
    Kind.INT: "Int64",
    Kind.FLOAT: "float64",
    Kind.DURATION: "float64",
    Kind.MONEY: "float64",
    Kind.BOOL: "boolean",
    Kind.TIMESTAMP: "datetime64[us, UTC]",
}


def problems(name: str, frame: pd.DataFrame) -> list[str]:
    """Every way ``frame`` breaks canonical table ``name`` (empty list: it conforms)."""
    table = TABLES[name]
    out: list[str] = []
    if tuple(frame.columns) != table.column_names:
        out.append(f"{name}: columns {list(frame.columns)} != {list(table.column_names)}")
        return out
    for col in table.columns:
        s = frame[col.name]
        want = _DTYPES.get(col.kind)
        if want is not None and str(s.dtype) != want:
            out.append(f"{name}.{col.name}: dtype {s.dtype}, want {want}")
        if col.kind in (Kind.STRING, Kind.CODE) and s.dtype != object:
            out.append(f"{name}.{col.name}: dtype {s.dtype}, want object strings")
        present = s.notna()
        if col.required and not present.all():
            out.append(f"{name}.{col.name}: {int((~present).sum())} missing required values")
        if col.kind in (Kind.STRING, Kind.CODE):
            kinds = {type(v).__name__ for v in s[present].tolist()}
            if kinds - {"str"}:
                out.append(f"{name}.{col.name}: non-string values {kinds}")
        if col.kind is Kind.DATE:
            kinds = {type(v).__name__ for v in s[present].tolist()}
            if kinds - {"date"}:
                out.append(f"{name}.{col.name}: non-date values {kinds}")
        if col.allowed is not None:
            bad = set(s[present]) - col.allowed
            if bad:
                out.append(f"{name}.{col.name}: codes outside the model {sorted(bad)}")
        if col.min is not None and (s[present].astype(float) < col.min).any():
            out.append(f"{name}.{col.name}: values below {col.min}")
        if col.max is not None and (s[present].astype(float) > col.max).any():
            out.append(f"{name}.{col.name}: values above {col.max}")
    for rule in table.rules:
        ok = rule.check(frame)
        if not ok.fillna(True).astype(bool).all():
            out.append(f"{name}: rule {rule.name} fails on {int((~ok).sum())} rows")
    dup = frame.duplicated(list(table.primary_key), keep=False)
    if dup.any():
        out.append(f"{name}: {int(dup.sum())} rows share a primary key "
                   f"{table.primary_key}: {frame[dup].head(4).to_dict('records')}")
    rejects = conform(table, frame).rejects
    if len(rejects):
        out.append(f"{name}: model.validate.conform rejects {len(rejects)} rows: "
                   f"{rejects.head(3).to_dict('records')}")
    return out


def assert_canonical(tables: dict[str, pd.DataFrame]) -> None:
    """Fail with every problem found in every table."""
    found = [p for name, frame in tables.items() for p in problems(name, frame)]
    assert not found, "\n".join(found)
