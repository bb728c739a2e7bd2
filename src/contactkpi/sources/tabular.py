"""CSV, Parquet and XLSX files read through a declarative mapping (docs/mappings.md).

The three sources share one path: ``load_mapping`` checks the TOML file, a reader in
``readers`` yields raw chunks (``ReadContext.chunk_rows`` records each) with line numbers, and
``transform.apply_mapping`` turns each chunk into one ``Batch`` of canonical frames and
rejects. The store conforms and loads the batches.

The format read is the mapping's ``[source] format`` if set, else the file extension
(``.csv``/``.tsv``/``.txt``, ``.parquet``/``.pq``, ``.xlsx``/``.xlsm``), else the source kind
the command named. The tenant of the rows is the mapping's ``tenant`` column when it maps one,
else ``ReadContext.tenant``; naive local times are read in the mapping's ``timezone``, else
the tenant's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from contactkpi.errors import MappingError, SourceError
from contactkpi.sources.base import Batch, ReadContext
from contactkpi.sources.mapping import TabularMapping, load_mapping
from contactkpi.sources.readers import READERS
from contactkpi.sources.transform import Defaults, apply_mapping

__all__ = [
    "CsvSource",
    "ParquetSource",
    "TabularSource",
    "XlsxSource",
    "file_format",
    "read_with_mapping",
]

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}


def file_format(path: Path, mapping: TabularMapping, fallback: str) -> str:
    """The format to read ``path`` as: mapping, else extension, else ``fallback``."""
    if mapping.source.format is not None:
        return mapping.source.format
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SourceError("old .xls workbooks are not supported", where=str(path),
                          hint="save it as .xlsx (or CSV) and load that")
    return _EXTENSIONS.get(suffix, fallback)


def read_with_mapping(path: Path, mapping: TabularMapping, ctx: ReadContext,
                      fallback_format: str = "csv") -> Iterator[Batch]:
    """Yield one ``Batch`` per chunk of ``path`` read through ``mapping``.

    Raises:
        SourceError: the file is missing, empty (0 bytes), unreadable in its format, or lacks
            a column the mapping names (checked on the header, before any row is read).
    """
    if not path.is_file():
        raise SourceError(f"file {path} not found", where=str(path))
    if ctx.chunk_rows < 1:
        raise SourceError("chunk_rows must be at least 1", where="--chunk-rows")
    reader = READERS[file_format(path, mapping, fallback_format)]
    defaults = Defaults(tenant=ctx.tenant.name, timezone=ctx.tenant.timezone)
    for chunk in reader(path, mapping.source, mapping.source_columns(), ctx.chunk_rows):
        batch = apply_mapping(mapping, chunk, defaults)
        ctx.report(chunk.bytes_done)
        yield batch


class TabularSource:
    """Shared reader of the csv, parquet and xlsx kinds."""

    kind: ClassVar[str] = "csv"
    description: ClassVar[str] = ""
    needs_mapping: ClassVar[bool] = True

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """Yield batches of canonical rows; the mapping file is ``ctx.mapping``."""
        if ctx.mapping is None:
            raise MappingError(f"{self.kind} files need a mapping", where="--mapping",
                               hint="pass --mapping FILE.toml (examples in examples/mappings/)")
        mapping = load_mapping(ctx.mapping)
        yield from read_with_mapping(path, mapping, ctx, self.kind)


class CsvSource(TabularSource):
    kind: ClassVar[str] = "csv"
    description: ClassVar[str] = "Delimited text (CSV, TSV) through a mapping file."


class ParquetSource(TabularSource):
    kind: ClassVar[str] = "parquet"
    description: ClassVar[str] = "Parquet files through a mapping file."


class XlsxSource(TabularSource):
    kind: ClassVar[str] = "xlsx"
    description: ClassVar[str] = "Excel workbooks (.xlsx, one sheet) through a mapping file."
