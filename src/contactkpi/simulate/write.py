"""Write simulated tables to files: one Parquet or CSV file per canonical table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from contactkpi.errors import ConfigError

FORMATS = ("parquet", "csv")


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | Path,
                 fmt: str = "parquet") -> list[Path]:
    """Write each frame as ``out_dir/<table>.<fmt>``; returns the paths written.

    CSV timestamps are ISO-8601 with the UTC offset; Parquet keeps the exact types.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", where="--format",
                          hint="use parquet or csv")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory", where="--out",
                          hint="pass a directory path (it is created if missing)")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
        paths.append(path)
    return paths
