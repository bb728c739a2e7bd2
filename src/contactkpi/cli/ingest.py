"""``contactkpi ingest KIND PATH...``: read files, conform them, load each atomically."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import pandas as pd
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from contactkpi.cli.context import STATE, open_warehouse
from contactkpi.cli.output import Format, show_frame, stderr
from contactkpi.errors import SourceError
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.registry import get_source, kinds
from contactkpi.store import LoadResult, load

#: Files larger than this get a progress bar on stderr.
PROGRESS_BYTES = 2 << 20


def _summary_rows(results: list[LoadResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        for name, c in sorted(r.tables.items()) or [("-", None)]:
            rows.append({
                "file": str(r.source.path),
                "table": name,
                "read": r.rows_read,
                "loaded": c.loaded if c else 0,
                "replaced": c.replaced if c else 0,
                "duplicates": c.duplicate if c else 0,
                "rejected": r.rows_rejected,
            })
    return pd.DataFrame(rows)


def ingest(
    kind: str = typer.Argument(..., help="Source kind: csv, parquet, xlsx, asterisk, connect, "
                               "tickets (see `contactkpi ingest --help`)."),
    paths: list[Path] = typer.Argument(..., help="Files to load; each is one atomic load."),
    mapping: Path | None = typer.Option(None, "--mapping", "-m",
                                        help="Mapping TOML (required for csv/parquet/xlsx)."),
    tenant: str | None = typer.Option(None, "--tenant", "-t",
                                      help="Tenant the rows belong to (default from config)."),
    follow: bool = typer.Option(False, "--follow",
                                help="Keep reading a live file (asterisk only)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    chunk_rows: int = typer.Option(200_000, "--chunk-rows", hidden=True),
) -> None:
    """Load source files into the warehouse; bad rows go to `contactkpi rejects`.

    Every file is loaded in one transaction: if anything fails, nothing of that file is
    stored. Loading a file again stores nothing twice (rows are matched by primary key; a
    changed row replaces the stored one).
    """
    source = get_source(kind)
    if getattr(source, "needs_mapping", False) and mapping is None:
        raise SourceError(f"{kind} files need a mapping", where="--mapping",
                          hint="pass --mapping FILE.toml (examples in examples/mappings/)")
    if mapping is not None and not mapping.is_file():
        raise SourceError(f"mapping file {mapping} not found", where="--mapping")
    for p in paths:
        if not p.is_file():
            raise SourceError(f"file {p} not found", where=str(p),
                              hint="check the path; globs are expanded by your shell")
    ten = STATE.settings.tenant(tenant)
    wh = open_warehouse(create=False)
    if follow:
        from contactkpi.sources.follow import follow_cli

        follow_cli(source, paths, wh, ten, mapping, load=load)
        return
    results: list[LoadResult] = []
    for path in paths:
        size = path.stat().st_size
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=stderr, transient=True,
                      disable=size < PROGRESS_BYTES or not stderr.is_terminal) as bar:
            task = bar.add_task(f"loading {path.name}", total=size)
            ctx = ReadContext(tenant=ten, mapping=mapping, chunk_rows=chunk_rows,
                              progress=lambda done, t=task: bar.update(t, completed=done))
            result = load(wh, SourceFile.of(path, source.kind), source.read(path, ctx),
                          tenant=ten.name)
        results.append(result)
        if fmt is Format.table:
            stderr.print(f"{path}: read {result.rows_read:,}, loaded {result.rows_loaded:,}"
                         f" ({result.rows_replaced:,} replaced), duplicates "
                         f"{result.rows_duplicate:,}, rejected {result.rows_rejected:,} "
                         f"in {result.seconds:.2f}s")
    frame = _summary_rows(results)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"loads": [
            {"file": str(r.source.path), "sha256": r.source.sha256, "tenant": r.tenant,
             "read": r.rows_read, "loaded": r.rows_loaded, "replaced": r.rows_replaced,
             "duplicates": r.rows_duplicate, "rejected": r.rows_rejected,
             "tables": {n: vars(c) for n, c in r.tables.items()}} for r in results]},
            indent=2) + "\n")
    else:
        show_frame(frame, fmt, title="ingest summary")
    if any(r.rows_rejected for r in results) and fmt is Format.table:
        stderr.print("[yellow]some rows were rejected:[/] see `contactkpi rejects`")


def register(app: typer.Typer) -> None:
    doc = inspect.cleandoc(ingest.__doc__ or "")
    app.command("ingest", help=f"{doc}\n\nKinds: {', '.join(kinds())}.")(ingest)
