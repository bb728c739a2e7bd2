"""What every source produces: batches of canonical rows plus rejects.

A source reads one file and yields ``Batch``es. Each batch holds, per canonical table, a frame
of canonical columns (raw strings or typed values) with a ``_line`` column naming the source
line of every row, and the rejects the source itself found (lines it could not parse). The
store then conforms every frame to the model (one set of declared checks for all sources:
``model.validate`` for frames, the same checks in SQL for ``SqlRows``) and
loads the batches of one file atomically.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pandas as pd

from contactkpi.config import Tenant
from contactkpi.errors import MappingError, SourceError
from contactkpi.model.validate import LINE, empty_rejects
from contactkpi.model.validate_sql import SqlRows

__all__ = ["LINE", "Batch", "Problem", "ReadContext", "Source", "SourceFile", "SqlRows",
           "file_digest", "read_options", "read_source_bytes", "record_rejects"]


@dataclass(frozen=True)
class SourceFile:
    """An input file as the load log records it."""

    path: Path
    kind: str
    sha256: str
    size: int

    @classmethod
    def of(cls, path: Path, kind: str) -> SourceFile:
        return cls(path=path, kind=kind, sha256=file_digest(path), size=path.stat().st_size)


def read_source_bytes(path: Path) -> bytes:
    """The bytes of a source file; a SourceError naming it when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}", where=str(path),
                          hint="check the path and its permissions") from None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Batch:
    """Canonical rows read from one part of a source file, and what could not be read."""

    #: Per table a frame, or :class:`SqlRows` naming typed rows a ``derive`` step left in
    #: a temp table of the load's connection (checked there, in SQL).
    tables: dict[str, pd.DataFrame | SqlRows] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=empty_rejects)
    lines: int = 0  # source records consumed by this batch (each is loaded, duplicate or rejected)
    #: A stateful source's step run by the loader *inside* the load's transaction, with the
    #: warehouse's DuckDB connection; it returns the batch of rows it derived (it may read
    #: and write its own bookkeeping tables, which then commit or roll back with the load).
    derive: Callable[[Any], Batch] | None = None
    #: A reading step run before ``derive`` with the same connection. For the first batch
    #: of a file the loader runs it *before* the load's transaction begins (DuckDB reads
    #: and writes tables made inside a transaction at a fraction of the speed), so it may
    #: read the file and the warehouse but write only temp tables of its own; if another
    #: load commits meanwhile, the loader runs it again inside the transaction, so what it
    #: read of the warehouse is what ``derive`` would read.
    prepare: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class ReadContext:
    """What a source needs besides the file: tenant, mapping, chunking, progress."""

    tenant: Tenant
    mapping: Path | None = None
    chunk_rows: int = 200_000
    progress: Callable[[int], None] | None = None  # called with bytes consumed so far

    def report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done)


class Source(Protocol):
    """A reader of one input format."""

    kind: ClassVar[str]
    description: ClassVar[str]
    needs_mapping: ClassVar[bool]

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """Yield batches of canonical rows; raise SourceError if the file cannot be read."""
        ...


def read_options(path: Path, section: str, allowed: frozenset[str], example: str
                 ) -> dict[str, Any]:
    """The ``[section]`` table of a source's mapping TOML file (empty when absent).

    Raises:
        MappingError: the file is missing or not TOML, the section is not a table, or it has
            a key outside ``allowed``; ``example`` is shown as the hint.
    """
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} not found", where="--mapping",
                           hint="pass the path of an existing TOML file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file is not valid TOML: {exc}", where=str(path),
                           hint="fix the TOML syntax") from None
    table = doc.get(section, {})
    if not isinstance(table, dict):
        raise MappingError(f"[{section}] must be a table", where=str(path), hint=example)
    unknown = set(table) - allowed
    if unknown:
        raise MappingError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}",
                           where=str(path), hint=f"[{section}] takes "
                           + ", ".join(sorted(allowed)) + f"; e.g. {example}")
    return table


#: (field, value, reason code, sentence): one problem a source found with a record.
Problem = tuple[str | None, Any, str, str]


def record_rejects(items: list[tuple[int, Problem]]) -> pd.DataFrame:
    """Reject rows for problems found on records, each with the line where its record starts."""
    if not items:
        return empty_rejects()
    return pd.DataFrame({
        "line": pd.Series([line for line, _ in items], dtype="int64"),
        "table_name": [None] * len(items),
        "field": [p[0] for _, p in items],
        "value": [None if p[1] is None else str(p[1])[:200] for _, p in items],
        "reason_code": [p[2] for _, p in items],
        "reason": [p[3] for _, p in items],
    })
